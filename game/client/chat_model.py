"""What the chat knows, without pixels: the players list, unread counts, the
open conversation and the messages still on their way.

A message the player wrote is never dropped.  ``compose`` puts it in the
outbox, where it stays (and is shown) until the host has stored it:

* pending: waiting for the connection (or for its turn; one send at a time,
  so messages arrive in the order they were written);
* sending: asked, no answer yet.  If the connection drops now, nobody knows
  whether the host stored it, so after the reconnect the newest messages of
  that conversation are read back first and it is only sent again if it is
  not among them;
* waiting: over the host's limit of ``P.DMS_PER_WINDOW`` messages in
  ``P.DM_WINDOW_S``; it goes out by itself at ``retry_at``.  The outbox counts
  its own sends, so it normally holds a message back before the host has to
  refuse it;
* failed: the host refused it for another reason, given in ``reason``;
  ``retry`` queues it again (the player clicks it).

Pure Python: times are passed in (``now``, seconds on any steady clock), and
requests come out of ``next_requests`` as ``(event, payload, tag)`` for
whoever owns the connection.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from game.core import protocol as P

PENDING, SENDING, WAITING, FAILED = "pending", "sending", "waiting", "failed"
# Added to our own count of the host's message window: the host counts when a
# message arrived, a little after we sent it.
RATE_SLACK_S = 0.3
# After a refusal that names no time, try again after this long.
RETRY_AFTER_REFUSAL_S = 1.0
# How many of a conversation's newest messages are read back to find out
# whether a message whose answer was lost got stored.
CHECK_PAGE = 50
CHECK = "check"  # tag of those reads: (CHECK, peer)


@dataclass
class Outgoing:
    """A message the player wrote that the host has not stored yet (as far as we know)."""

    local_id: int
    to: str
    text: str
    state: str = PENDING
    reason: str = ""       # why it is waiting or failed, in words
    retry_at: float = 0.0  # waiting: when it goes out by itself
    uncertain: bool = False  # the connection dropped before the host answered
    newest_id: int = 0     # the newest message id known when it was sent
    not_delivered: bool = False  # refused: the recipient blocks us (the host says no more)


class ChatModel:
    def __init__(self, me: str):
        self.me = me
        self.players: list[dict] = []  # {"name", "online"}: everyone the host listed
        # The map each online player stands on, and ours (worlds of several maps).
        self.maps: dict[str, str] = {}
        self.my_map: str | None = None
        self.talked: set[str] = set()  # people with messages to or from us
        self.unread: dict[str, int] = {}
        # The players we block: left out of the list (a search finds them, to
        # unblock), their messages never counted or shown.
        self.blocked: set[str] = set()
        # The online players who are away from the keyboard (a dimmed dot).
        self.away: set[str] = set()
        self.connected = False  # joined: requests can go out
        # The open conversation.
        self.peer: str | None = None
        self.items: list[dict] = []  # stored messages (with "id") and notices ("system"), oldest first
        self.ids: set[int] = set()
        self.has_more = False
        self.loading_older = False
        self.opening = False
        self.peer_here = False
        self.peer_online = False
        # Messages on their way, oldest first, for every conversation.
        self.outbox: list[Outgoing] = []
        self.in_flight: Outgoing | None = None
        self.checking: set[str] = set()
        self.sent_times: deque[float] = deque()
        self.newest_id = 0
        self._next_local = 1

    # -- players ----------------------------------------------------------------------
    def set_directory(self, players: list) -> None:
        self.players = [{"name": p["name"], "online": bool(p.get("online"))}
                        for p in players if isinstance(p, dict) and isinstance(p.get("name"), str)
                        and p["name"] != self.me]
        self.blocked = {p["name"] for p in players if isinstance(p, dict)
                        and isinstance(p.get("name"), str) and p.get("blocked") is True}
        self.maps = {p["name"]: p["map"] for p in players if isinstance(p, dict)
                     and p.get("online") and isinstance(p.get("name"), str)
                     and isinstance(p.get("map"), str)}
        self._sort()

    def _sort(self) -> None:
        self.players.sort(key=lambda p: (not p["online"], p["name"].lower()))

    def set_map(self, name: str, map_name) -> None:
        """Where an online player is now (our own name: where we are)."""
        if not isinstance(map_name, str):
            return
        if name == self.me:
            self.my_map = map_name
        else:
            self.maps[name] = map_name

    def where(self, name: str) -> str | None:
        """The map an online player is on, when it is not ours."""
        found = self.maps.get(name)
        return found if found is not None and found != self.my_map and self.is_online(name) \
            else None

    def set_away(self, name: str, away: bool) -> None:
        if away:
            self.away.add(name)
        else:
            self.away.discard(name)

    def is_online(self, name: str) -> bool:
        return any(p["name"] == name and p["online"] for p in self.players)

    def set_online(self, name: str, online: bool) -> None:
        self.set_online_many([name], online)

    def set_online_many(self, names: list[str], online: bool) -> None:
        """Several players came online or went offline (a players_joined or
        players_left batch): one pass over the list, one sort."""
        rows = {p["name"]: p for p in self.players}
        for name in names:
            if name == self.me:
                continue
            row = rows.get(name)
            if row is not None:
                row["online"] = online
            else:
                rows[name] = {"name": name, "online": online}
                self.players.append(rows[name])
            if name == self.peer:
                self.peer_online = online
                if not online:
                    self.peer_here = False
        self._sort()

    def _know(self, name: str, online: bool | None = None) -> None:
        if name == self.me or not isinstance(name, str):
            return
        self.talked.add(name)
        if not any(p["name"] == name for p in self.players):
            self.players.append({"name": name, "online": bool(online)})
            self._sort()

    def listed(self, query: str = "") -> list[dict]:
        """The players list as shown: with no search, who is online and then the
        people we have talked to; with a search, everyone whose name contains it."""
        query = query.strip().lower()
        if query:
            return [p for p in self.players if query in p["name"].lower()]
        shown = [p for p in self.players if p["name"] not in self.blocked or p["name"] == self.peer]
        online = [p for p in shown if p["online"]]
        talked = [p for p in shown if not p["online"] and
                  (p["name"] in self.talked or p["name"] == self.peer or p["name"] in self.unread)]
        return online + talked

    def is_blocked(self, name: str | None) -> bool:
        return name in self.blocked

    def set_blocked(self, names, blocked: bool | None = None) -> None:
        """The names we block (the welcome's list), or one name blocked or not."""
        if blocked is None:
            self.blocked = {n for n in names or [] if isinstance(n, str)}
            changed = self.blocked
        else:
            changed = {names}
            if blocked:
                self.blocked.add(names)
            else:
                self.blocked.discard(names)
        for name in changed & self.blocked:
            self.unread.pop(name, None)

    def hidden_count(self, query: str = "") -> int:
        """Players left out of the list (found with the search box)."""
        return len(self.players) - len(self.listed(query)) if not query.strip() else 0

    # -- unread counts and incoming messages ---------------------------------------------
    def total_unread(self) -> int:
        return sum(self.unread.values())

    def set_unread_counts(self, counts: dict) -> None:
        self.unread = {name: int(n) for name, n in counts.items()
                       if isinstance(n, int) and n > 0 and name != self.peer
                       and name not in self.blocked}
        for name in self.unread:
            self._know(name)

    def on_unread(self, peer: str, count: int, showing: bool) -> bool:
        """A message in a closed conversation; False when that conversation is on screen."""
        if peer in self.blocked:
            return False
        self._know(peer, online=True)
        if peer == self.peer and showing:
            return False
        self.unread[peer] = count
        return True

    def on_message(self, message: dict) -> None:
        """A message in a conversation we have open (ours or theirs)."""
        peer = message.get("from") if message.get("from") != self.me else message.get("to")
        if not isinstance(peer, str) or message.get("from") in self.blocked:
            return
        self._know(peer)
        if peer != self.peer:
            if message.get("from") != self.me:
                self.unread[peer] = self.unread.get(peer, 0) + 1
            return
        self._append(message)

    def on_missed(self, message: dict) -> None:
        """A message sent while we were away (already counted in the unread counts)."""
        other = message.get("from") if message.get("from") != self.me else message.get("to")
        if isinstance(other, str):
            self._know(other)
        if self.peer is not None and self.peer in (message.get("from"), message.get("to")):
            self._append(message)

    def _append(self, message: dict) -> None:
        mid = message.get("id")
        if not isinstance(mid, int) or mid in self.ids:
            return
        self.ids.add(mid)
        self.newest_id = max(self.newest_id, mid)
        # Normally the newest; keep id order if answers cross.
        index = len(self.items)
        while index > 0 and self.items[index - 1].get("id", 0) > mid:
            index -= 1
        self.items.insert(index, message)

    def on_presence(self, peer: str, state: str, at: float) -> None:
        """The other player came into or left the conversation.  Comings and goings
        in a row share one line, which tells the latest."""
        if peer != self.peer or peer in self.blocked:
            return
        self.peer_here = state == "entered"
        if state == "entered":
            self.peer_online = True
        verb = "entered" if state == "entered" else "left"
        line = {"system": f"{peer} {verb} the conversation", "presence": peer, "at": at}
        if self.items and self.items[-1].get("presence") == peer:
            self.items[-1] = line
        else:
            self.items.append(line)

    # -- the open conversation -------------------------------------------------------------
    def open(self, name: str) -> None:
        self.peer = name
        self.items, self.ids = [], set()
        self.has_more = self.loading_older = False
        self.opening = True
        self.peer_here = False
        self.peer_online = self.is_online(name)
        self.unread.pop(name, None)

    def leave(self) -> None:
        """No conversation open any more (the panel shows the Nearby one)."""
        self.peer = None
        self.items, self.ids = [], set()
        self.has_more = self.loading_older = self.opening = False
        self.peer_here = self.peer_online = False

    def on_open_answer(self, reply: dict) -> str | None:
        """The host's answer to opening the conversation; returns a problem in words."""
        self.opening = False
        if not reply.get("ok"):
            return str(reply.get("message", "could not open the conversation"))
        for message in reply.get("messages") or []:
            self._append(message)
        self.has_more = bool(reply.get("has_more"))
        self.peer_here = bool(reply.get("peer_present"))
        self.peer_online = bool(reply.get("peer_online"))
        self.unread.pop(self.peer, None)
        if self.items:
            self.talked.add(self.peer)
        return None

    def on_answer(self, event: str, tag, reply, now: float) -> str | None:
        """The host's answer to one of the chat's requests (``tag`` as given
        with it); returns a problem with the open conversation, in words."""
        if event == P.DM_SEND:
            self.on_send_answer(reply, now)
            return None
        if event == P.DM_HISTORY and isinstance(tag, tuple) and tag[:1] == (CHECK,):
            self.on_check_answer(tag[1], reply)
            return None
        if not isinstance(reply, dict):
            return None
        if event == P.DIRECTORY and reply.get("ok"):
            self.set_directory(reply.get("players") or [])
        elif event == P.DM_OPEN and tag == self.peer:
            return self.on_open_answer(reply)
        elif event == P.DM_HISTORY and tag == self.peer:
            self.on_history_answer(reply)
        return None

    def on_history_answer(self, reply: dict) -> None:
        self.loading_older = False
        if reply.get("ok"):
            for message in reply.get("messages") or []:
                self._append(message)
            self.has_more = bool(reply.get("has_more"))

    def older_request(self) -> dict | None:
        """The page before the oldest message shown, if there is one to ask for."""
        if self.peer is None or not self.has_more or self.loading_older or self.opening:
            return None
        oldest = next((m["id"] for m in self.items if "id" in m), None)
        if oldest is None:
            return None
        self.loading_older = True
        return {"peer": self.peer, "before_id": oldest, "limit": P.HISTORY_PAGE_DEFAULT}

    # -- sending ------------------------------------------------------------------------------
    def compose(self, to: str, text: str) -> Outgoing:
        """Queue a message; raises ProtocolError when the text cannot be sent at all."""
        item = Outgoing(self._next_local, to, P.clean_dm_text(text))
        self._next_local += 1
        self.outbox.append(item)
        self.talked.add(to)
        return item

    def outgoing(self, peer: str | None = None) -> list[Outgoing]:
        peer = self.peer if peer is None else peer
        return [o for o in self.outbox if o.to == peer]

    def allowed_at(self, now: float) -> float:
        """When the host's message window lets the next message through."""
        while self.sent_times and self.sent_times[0] <= now - P.DM_WINDOW_S - RATE_SLACK_S:
            self.sent_times.popleft()
        if len(self.sent_times) < P.DMS_PER_WINDOW:
            return now
        return self.sent_times[-P.DMS_PER_WINDOW] + P.DM_WINDOW_S + RATE_SLACK_S

    def set_connected(self, connected: bool) -> None:
        """Joined (True) or lost the connection (False).  A message whose answer
        was lost with the connection is checked against the host before it is
        sent again."""
        self.connected = connected
        if not connected:
            self.checking.clear()
            self.loading_older = False
            if self.in_flight is not None:
                self.in_flight.state = PENDING
                self.in_flight.uncertain = True
                self.in_flight = None

    def retry(self, local_id: int) -> bool:
        for item in self.outbox:
            if item.local_id == local_id and item.state == FAILED:
                item.state, item.reason, item.retry_at = PENDING, "", 0.0
                item.not_delivered = False
                return True
        return False

    def discard(self, local_id: int) -> None:
        self.outbox = [o for o in self.outbox if o.local_id != local_id or o is self.in_flight]

    def next_requests(self, now: float) -> list[tuple[str, dict, object]]:
        """What to ask the host now: checks of lost answers, then the next message."""
        if not self.connected:
            return []
        out: list[tuple[str, dict, object]] = []
        for peer in dict.fromkeys(o.to for o in self.outbox if o.uncertain):
            if peer not in self.checking:
                self.checking.add(peer)
                out.append((P.DM_HISTORY, {"peer": peer, "limit": CHECK_PAGE}, (CHECK, peer)))
        if self.in_flight is not None:
            return out
        held = {o.to for o in self.outbox if o.uncertain}
        for item in self.outbox:
            if item.state == FAILED or item.to in held:
                continue
            allowed = self.allowed_at(now)
            if item.state == WAITING:
                allowed = max(allowed, item.retry_at)
            if allowed > now:  # this one waits, and so do those after it (keeping the order)
                for later in self.outbox[self.outbox.index(item):]:
                    if later.state in (PENDING, WAITING) and later.to not in held:
                        if later.state == PENDING or later.retry_at < allowed:
                            later.reason = (f"at most {P.DMS_PER_WINDOW} messages in "
                                            f"{P.DM_WINDOW_S:g} s")
                        later.state, later.retry_at = WAITING, max(later.retry_at, allowed)
                break
            item.state, item.reason, item.newest_id = SENDING, "", self.newest_id
            self.in_flight = item
            self.sent_times.append(now)
            out.append((P.DM_SEND, {"to": item.to, "text": item.text}, item.to))
            break
        return out

    def on_send_answer(self, reply, now: float) -> None:
        item, self.in_flight = self.in_flight, None
        if item is None:
            return
        if isinstance(reply, dict) and reply.get("ok") and isinstance(reply.get("message"), dict):
            self.outbox.remove(item)
            self.on_message(reply["message"])
            return
        reply = reply if isinstance(reply, dict) else {}
        error = reply.get("error")
        if error == P.E_RATE_LIMITED:
            item.state = WAITING
            item.retry_at = max(now + RETRY_AFTER_REFUSAL_S, self.allowed_at(now))
            item.reason = str(reply.get("message") or "the host is limiting messages")
        elif error == P.E_NOT_JOINED:
            item.state = PENDING  # goes out once the join is through
        elif error == P.E_NOT_DELIVERED:
            item.state = FAILED
            item.not_delivered = True
            item.reason = "not delivered"
        else:
            item.state = FAILED
            item.reason = str(reply.get("message") or error or "the host did not take it")

    def on_check_answer(self, peer: str, reply) -> None:
        """The newest messages of a conversation, read back after a lost answer:
        those found were stored; the rest go out again."""
        self.checking.discard(peer)
        # A failed read sends them again: a message twice is better than none.
        stored = reply.get("messages") if isinstance(reply, dict) and reply.get("ok") else None
        claimed: set[int] = set()
        for item in [o for o in self.outbox if o.to == peer and o.uncertain]:
            match = next((m for m in stored or [] if isinstance(m, dict)
                          and m.get("from") == self.me and m.get("text") == item.text
                          and isinstance(m.get("id"), int) and m["id"] > item.newest_id
                          and m["id"] not in claimed), None)
            if match is not None:
                claimed.add(match["id"])
                self.outbox.remove(item)
                self.on_message(match)
            else:
                item.uncertain = False
