"""Messages between the host processes of one world: everything between a
player and the host that is not movement.

Nothing here keeps a roster of who is where.  An event about a player goes
to every other process as one bus message and the process that has the
player acts on it, with what only it knows (whether the player has a
conversation open, whom they block, whether they are part-way through
joining).  Two things are kept in Redis, each under a key per account:

* ``pc:acct:<id>``: the process holding the account's connection (set on
  every connection, refreshed every ``ACCOUNT_REFRESH_S``, gone
  ``ACCOUNT_TTL_S`` after its process died).  A new connection elsewhere
  takes the account over from it (one connection per account in the
  world), and a question about a player (``dm_open``'s ``peer_present``)
  goes to it alone.
* ``pc:pos:<id>``: where the player stands, written for every player who
  moved at most every ``POSITION_INTERVAL_S`` (one pipelined write), and
  by the process that lets go of a player taken over.  A join prefers it to
  the database's position when it is newer, so a process killed with
  ``kill -9`` costs its players at most that long of walking.

While Redis is down every process serves its own players alone, as a host
without ``--redis`` does; DMs are stored in the shared database all the
same and reach a player on another process as missed or unread messages.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from game.core import protocol as P

from ..live import conversation_room, user_room
from .bus import PREFIX, Bus, node_channel

log = logging.getLogger("server.cluster")

ACCOUNT_TTL_S = 60
ACCOUNT_REFRESH_S = 15.0
POSITION_TTL_S = 600
POSITION_INTERVAL_S = 0.25
# How long a new connection waits for the process it takes the account over
# from to let go (and say where the player stood), and how long a question
# to the process of a player waits for its answer.
TAKEOVER_WAIT_S = 1.5
ASK_WAIT_S = 0.5

# Deletes an account's key only while it still names this process.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Renews an account's key unless another process took the account meanwhile.
_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""


def account_key(user_id: int) -> str:
    return f"{PREFIX}acct:{user_id}"


def position_key(user_id: int) -> str:
    return f"{PREFIX}pos:{user_id}"


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Messages:
    """This process's side of the messages between processes."""

    def __init__(self, ctx: Any, bus: Bus):
        self.ctx = ctx
        self.bus = bus
        self.node = bus.node
        self._waiting: dict[str, list] = {}  # request id -> [semaphore, answer]
        self._written: dict[int, tuple] = {}  # id -> the position last written
        self._seen: dict[int, Any] = {}  # id -> the LivePlayer seen at the last pass
        # Players with a conversation open since the last pass, so one who
        # leaves before the next is not missed (see _player_left).
        self._watched: dict[int, Any] = {}
        # Players taken over by another process: it writes their positions now.
        self._given_up: set[int] = set()
        # Accounts whose last connection before this one was on another process.
        self._elsewhere: set[int] = set()
        self._accounts: set[int] = set()  # accounts whose key names this process
        self._refreshed = 0.0
        self._running = False
        handlers = {
            "takeover": self._on_takeover, "answer": self._on_answer,
            "dm": self._on_dm, "dm_open": self._on_dm_open,
            "dm_presence": self._on_dm_presence, "typing": self._on_typing,
            "account": self._on_account, "mod": self._on_mod,
        }
        for kind, handler in handlers.items():
            bus.on(kind, handler)
        bus.on_up(self._after_connecting)

    # -- the loop: positions and account keys --------------------------------
    def start(self) -> None:
        self._running = True
        self.ctx.sio.start_background_task(self._run)

    def stop(self) -> None:
        self._running = False

    def _run(self) -> None:
        while self._running:
            self.ctx.sio.sleep(POSITION_INTERVAL_S)
            try:
                self.write_positions()
            except Exception:
                log.exception("writing positions to redis")

    def _after_connecting(self) -> None:
        # Redis may have restarted empty: write everything again.
        self._written.clear()
        self._refreshed = 0.0

    def write_positions(self) -> None:
        """One pipelined write: the players who moved, the players who left
        (where they stood last), the account keys (refreshed, or released
        for accounts no longer connected here).  Players who left are told
        to their conversations' peers on other processes."""
        ctx = self.ctx
        now = time.time()
        current = dict(ctx.world.by_uid)
        moved = []
        for uid, player in current.items():
            where = (player.x, player.y, player.map)
            if self._written.get(uid) != where:
                moved.append((uid, where))
        watched, self._watched = self._watched, {}
        given_up, self._given_up = self._given_up, set()
        earlier = {id(p): p for p in list(self._seen.values()) + list(watched.values())}
        for player in earlier.values():
            uid = player.user_id
            if current.get(uid) is player:
                continue
            self._player_left(player)
            where = (player.x, player.y, player.map)
            if uid not in current and uid not in given_up and self._written.get(uid) != where:
                moved.append((uid, where))
            if uid not in current:
                self._written.pop(uid, None)
        self._seen = current
        connected = {who.user_id for who in list(ctx.connections.values())}
        released = self._accounts - connected
        refresh = now - self._refreshed >= ACCOUNT_REFRESH_S
        if not moved and not released and not refresh:
            return

        def write(r: Any) -> bool:
            pipe = r.pipeline(transaction=False)
            for uid, (x, y, on) in moved:
                pipe.set(position_key(uid), json.dumps({"x": x, "y": y, "map": on, "t": now}),
                         ex=POSITION_TTL_S)
            for uid in released:
                pipe.eval(_RELEASE, 1, account_key(uid), self.node)
            if refresh:
                for uid in connected:
                    pipe.eval(_RENEW, 1, account_key(uid), self.node, ACCOUNT_TTL_S)
            pipe.execute()
            return True
        if self.bus.command(write, False):
            for uid, where in moved:
                if uid in current:
                    self._written[uid] = where
            self._accounts = connected if refresh else self._accounts - released
            if refresh:
                self._refreshed = now

    def _player_left(self, player: Any) -> None:
        """``dm_presence`` "left" for the leaver's open conversations whose
        peer is on another process (the local ones heard it on leaving)."""
        peers = [uid for uid in player.open_peers if uid not in self.ctx.world.by_uid]
        if peers:
            self.bus.send("dm_presence", {"from": player.user_id, "name": player.name,
                                          "to": peers, "state": "left"})

    def watch(self, player: Any) -> None:
        """``player`` opened a conversation: its peers hear when it leaves,
        however soon."""
        self._watched[player.user_id] = player

    def place_for_join(self, user_id: int, stored: Any) -> Any:
        """``stored`` (the database's JoinData) with the position kept in
        Redis when that is newer than the database's."""
        from dataclasses import replace
        left = self._seen.get(user_id)
        if left is not None and self.ctx.world.by_uid.get(user_id) is not left \
                and user_id not in self._elsewhere:
            # Left this process since the last pass and back before any
            # other held it: where it stood is known here exactly.
            return replace(stored, place=(left.map, left.x, left.y))
        raw = self.bus.command(lambda r: r.get(position_key(user_id)))
        if not raw:
            return stored
        try:
            kept = json.loads(raw)
            x, y, on, at = float(kept["x"]), float(kept["y"]), kept["map"], float(kept["t"])
        except (ValueError, KeyError, TypeError):
            return stored
        if on not in self.ctx.world.maps:
            return stored
        row = self.ctx.storage.call(lambda db: db.execute(
            "SELECT updated_at FROM positions WHERE user_id = ?", [user_id]).fetchone())
        if row is not None and row[0] is not None and row[0] > at:
            return stored
        return replace(stored, place=(on, x, y))

    # -- asking one process and waiting for its answer ------------------------
    def node_of(self, user_id: int) -> str | None:
        """The process holding the account's connection (None: none that is
        alive, or Redis is down)."""
        node = _text(self.bus.command(lambda r: r.get(account_key(user_id))))
        if node is None or node == self.node:
            return node
        return node if self._alive(node) else None

    def _alive(self, node: str) -> bool:
        counts = self.bus.command(lambda r: r.pubsub_numsub(node_channel(node)), [])
        return any(n for _, n in counts)

    def _ask(self, kind: str, payload: dict, to: str, timeout: float) -> dict | None:
        rid = secrets.token_hex(8)
        slot = [self.ctx.runtime.semaphore(0), None]
        self._waiting[rid] = slot
        try:
            if not self.bus.send(kind, {**payload, "rid": rid}, to=to):
                return None
            slot[0].acquire(timeout=timeout)
            return slot[1]
        finally:
            self._waiting.pop(rid, None)

    def _answer(self, rid: Any, node: str, **answer: Any) -> None:
        if isinstance(rid, str):
            self.bus.send("answer", {"rid": rid, **answer}, to=node)

    def _on_answer(self, payload: dict, node: str) -> None:
        slot = self._waiting.get(payload.get("rid"))
        if slot is not None:
            slot[1] = payload
            slot[0].release()

    # -- takeover ----------------------------------------------------------------
    def take_over(self, user_id: int) -> None:
        """A connection of ``user_id`` was accepted here: end its session on
        every other process, and wait (at most TAKEOVER_WAIT_S) for the
        process that held it to let go and keep where the player stood."""
        old = _text(self.bus.command(lambda r: r.set(account_key(user_id), self.node,
                                                     ex=ACCOUNT_TTL_S, get=True)))
        if not self.bus.up:
            return  # alone until Redis is back
        self._accounts.add(user_id)
        if old is not None and old != self.node:
            self._elsewhere.add(user_id)
        else:
            self._elsewhere.discard(user_id)
        if old is None:
            # No process named (its key was lost with a Redis restart): any
            # that has the account lets go of it.
            self.bus.send("takeover", {"uid": user_id})
        elif old != self.node and self._alive(old):
            started = time.monotonic()
            answer = self._ask("takeover", {"uid": user_id}, old, TAKEOVER_WAIT_S)
            log.info("took account %d over from %s in %.0f ms%s", user_id, old,
                     (time.monotonic() - started) * 1000.0, "" if answer else " (no answer)")

    def _on_takeover(self, payload: dict, node: str) -> None:
        from ..events.session import _leave
        ctx = self.ctx
        uid = payload.get("uid")
        player = ctx.world.by_uid.get(uid)
        for sid, who in list(ctx.connections.items()):
            if who.user_id == uid:
                ctx.end_session(sid, P.END_REPLACED, "this account logged in from somewhere else")
        if player is not None and player.sid in ctx.world.by_sid:
            _leave(ctx, player.sid)
        if player is not None:
            where = {"x": player.x, "y": player.y, "map": player.map, "t": time.time()}
            self.bus.command(lambda r: r.set(position_key(uid), json.dumps(where),
                                             ex=POSITION_TTL_S))
        self._accounts.discard(uid)
        self._given_up.add(uid)
        self._answer(payload.get("rid"), node, place=player is not None)

    def connected_elsewhere(self, user_id: int) -> bool:
        node = self.node_of(user_id)
        return node is not None and node != self.node

    # -- direct messages -----------------------------------------------------------
    def dm_sent(self, stored: dict, message: dict, notice: dict) -> None:
        """A DM stored here: the other processes deliver it to their sockets
        in the conversation, and the one with the recipient marks it read or
        tells the recipient (see events.chat._notify)."""
        self.bus.send("dm", {"stored": stored, "message": message, "notice": notice})

    def _on_dm(self, payload: dict, node: str) -> None:
        from ..events.chat import _notify
        ctx = self.ctx
        stored, message = payload["stored"], payload["message"]
        sender, recipient = stored["sender_id"], stored["recipient_id"]
        ctx.sio.emit(P.DM_MESSAGE, message, to=conversation_room(sender, recipient))
        peer = ctx.world.by_uid.get(recipient)
        if peer is not None and sender in peer.open_peers:
            ctx.sio.start_background_task(ctx.storage.mark_read, recipient, sender, stored["id"])
        elif peer is not None or recipient in ctx.joining:
            _notify(ctx, recipient, stored, payload["notice"])

    def peer_state(self, player: Any, peer_id: int, newly_open: bool,
                   hidden: bool) -> tuple[bool, bool]:
        """(peer online, peer present) for a peer not on this process; tells
        the peer's process that the conversation opened."""
        node = self.node_of(peer_id)
        if node is None or node == self.node:
            return False, False
        answer = self._ask("dm_open", {"from": player.user_id, "name": player.name,
                                       "to": peer_id, "newly": newly_open, "hidden": hidden},
                           node, ASK_WAIT_S)
        if answer is None:
            return False, False
        return bool(answer.get("online")), bool(answer.get("present"))

    def _on_dm_open(self, payload: dict, node: str) -> None:
        ctx = self.ctx
        opener, peer = payload["from"], ctx.world.by_uid.get(payload["to"])
        if peer is None:
            self._answer(payload.get("rid"), node, online=False, present=False)
            return
        apart = bool(payload.get("hidden")) or opener in peer.blocked
        if payload.get("newly") and not apart:
            ctx.sio.emit(P.DM_PRESENCE, {"peer": payload["name"], "state": "entered"},
                         to=user_room(peer.user_id))
        self._answer(payload.get("rid"), node, online=True,
                     present=not apart and opener in peer.open_peers)

    def dm_presence(self, player: Any, peer_id: int, state: str) -> None:
        self.bus.send("dm_presence", {"from": player.user_id, "name": player.name,
                                      "to": [peer_id], "state": state})

    def _on_dm_presence(self, payload: dict, node: str) -> None:
        ctx = self.ctx
        for uid in payload.get("to") or ():
            peer = ctx.world.by_uid.get(uid)
            if peer is not None and payload["from"] not in peer.blocked:
                ctx.sio.emit(P.DM_PRESENCE, {"peer": payload["name"], "state": payload["state"]},
                             to=user_room(uid))

    def typing(self, player: Any, peer_id: int, typing: bool) -> None:
        self.bus.send("typing", {"from": player.user_id, "name": player.name, "to": peer_id,
                                 "typing": typing})

    def _on_typing(self, payload: dict, node: str) -> None:
        ctx = self.ctx
        peer = ctx.world.by_uid.get(payload["to"])
        if peer is None or payload["from"] in peer.blocked:
            return
        ctx.transport.emit(P.TYPING, {"from": payload["from"], "name": payload["name"],
                                      "typing": bool(payload["typing"])},
                           conversation_room(payload["from"], payload["to"]))

    # -- accounts and keeping order ------------------------------------------------
    def account_created(self, user_id: int, name: str, role: str | None) -> None:
        self.bus.send("account", {"uid": user_id, "name": name, "role": role})

    def _on_account(self, payload: dict, node: str) -> None:
        accounts = self.ctx.accounts
        accounts.remember(int(payload["uid"]), payload["name"])
        role = payload.get("role")
        if role and role != P.ROLE_PLAYER:
            accounts.roles[int(payload["uid"])] = role

    def moderation(self, op: str, **payload: Any) -> None:
        """A moderator action taken here, for every other process to apply
        to its own players and caches (``Moderation.apply``)."""
        self.bus.send("mod", {"op": op, **payload})

    def _on_mod(self, payload: dict, node: str) -> None:
        op = payload.pop("op", None)
        self.ctx.moderation.apply(op, payload)


def install(cluster: Any) -> Messages:
    messages = Messages(cluster.ctx, cluster.bus)
    cluster.ctx.accounts.shared = True
    cluster.ctx.accounts.on_created = messages.account_created
    return messages
