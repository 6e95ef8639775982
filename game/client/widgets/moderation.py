"""The owner's and moderators' tools in the world, and what every player is
shown of them.

``ModTools`` keeps who has which role (from the welcome, ``players_joined``
and ``role_changed``), what this player may do (``welcome.can``), and whether
they are muted.  It builds the right-click menu on another player (Message
for everyone; other parts add theirs through ``providers``; kick, mute, ban,
unban, promote and demote by what ``can`` allows), asks for a reason, sends
the ``mod_*`` request and shows the host's answer as a toast.  It also shows
announcements as a banner, the "Who is on" panel and the announce box.

Like the chat panel it never waits for the host: it asks with
``request(event, payload, tag)`` and takes its answers in ``on_net``.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame

from game.client import net
from game.core import protocol as P

from .. import theme
from .announce import Banner, WhoIsOn, clock_time, from_ms
from .context_menu import ContextMenu, MenuItem, TextDialog

# The wire names (docs/protocol.md, "Keeping order").
OWNER, MODERATOR, PLAYER = P.ROLE_OWNER, P.ROLE_MODERATOR, P.ROLE_PLAYER
ROLE_CHANGED, ANNOUNCEMENT, MUTED, UNMUTED = P.ROLE_CHANGED, P.ANNOUNCEMENT, P.MUTED, P.UNMUTED
MOD_KICK, MOD_MUTE, MOD_UNMUTE, MOD_BAN, MOD_UNBAN = (P.MOD_KICK, P.MOD_MUTE, P.MOD_UNMUTE,
                                                      P.MOD_BAN, P.MOD_UNBAN)
MOD_ANNOUNCE, MOD_LIST, MOD_PROMOTE, MOD_DEMOTE = (P.MOD_ANNOUNCE, P.MOD_LIST, P.MOD_PROMOTE,
                                                   P.MOD_DEMOTE)
REQUESTS = (MOD_KICK, MOD_MUTE, MOD_UNMUTE, MOD_BAN, MOD_UNBAN, MOD_ANNOUNCE, MOD_LIST,
            MOD_PROMOTE, MOD_DEMOTE)

MUTE_CHOICES = (("10 min", 10), ("1 hour", 60), ("1 day", 24 * 60))
BAN_CHOICES = (("1 day", 24 * 60), ("1 week", 7 * 24 * 60), ("for good", None))
DANGER = (255, 150, 150)
BANNER_TOP = 58  # below the connection status and the chat button

# (label, action) items another part adds to the menu on a player (Block / Unblock).
Provider = Callable[[str], list[tuple[str, Callable[[], None]]]]


def ended_text(reason: str, data: dict) -> str:
    """What the login screen says after a kick or a ban."""
    why = str(data.get("message") or "").strip()
    if reason == P.END_KICKED:
        return f"You were kicked from this world: {why}" if why else \
            "You were kicked from this world."
    until = from_ms(data.get("until"))
    when = f"Banned until {clock_time(until)}" if until is not None else "Banned for good"
    return f"{when}: {why}" if why else f"{when}."


class ModTools:
    def __init__(self, request: Callable[[str, object, object], None],
                 toast: Callable[[str, tuple], None], message: Callable[[str], None],
                 me: str = ""):
        self.request = request
        self.toast = toast
        self.message = message  # open a conversation with a player
        self.me = me
        self.role = PLAYER
        self.can: set[str] = set()
        self.roles: dict[str, str] = {}  # name -> role, for everyone we have heard of
        self.muted_until: float | None = None
        self.mute_reason = ""
        self.providers: list[Provider] = []
        self.menu = ContextMenu()
        self.dialog: TextDialog | None = None
        self.who: WhoIsOn | None = None
        self.banner = Banner()
        self.announcements: list[dict] = []  # every one seen, for a log

    # -- what this player is -----------------------------------------------------------
    @property
    def moderating(self) -> bool:
        return bool(self.can & {"kick", "mute", "ban", "announce", "list"})

    @property
    def muted(self) -> bool:
        return self.muted_until is not None and self.muted_until > time.time()

    def muted_text(self) -> str:
        return f"Muted until {clock_time(self.muted_until)}" if self.muted else ""

    @property
    def busy(self) -> bool:
        """A menu, dialog or panel of ours has the input."""
        return self.menu.is_open or self.dialog is not None or self.who is not None

    # -- the network --------------------------------------------------------------------
    def on_net(self, kind: str, data) -> bool:
        """Returns True for the events and answers that are ours alone."""
        if kind == net.ANSWER and isinstance(data, dict) and data.get("event") in REQUESTS:
            self.on_answer(data["event"], data.get("tag"), data.get("reply"))
            return True
        if kind == P.ERROR and isinstance(data, dict) and data.get("event") in REQUESTS:
            return True  # the answer carries it too
        data = data if isinstance(data, dict) else {}
        if kind == P.WELCOME:
            you = data.get("you") or {}
            self.role = str(you.get("role") or PLAYER)
            if isinstance(you.get("name"), str):
                self.me = you["name"]
            self.roles[self.me] = self.role
            self.can = {str(c) for c in data.get("can") or [] if isinstance(c, str)}
            for p in data.get("players") or []:
                self._note_role(p)
            mute = data.get("muted")
            if isinstance(mute, dict):
                self.on_muted(mute)
        elif kind == P.PLAYERS_JOINED:
            for p in data.get("players") or []:
                self._note_role(p)
        elif kind == ROLE_CHANGED:
            self.on_role_changed(data)
            return True
        elif kind == ANNOUNCEMENT:
            self.on_announcement(data)
            return True
        elif kind == MUTED:
            self.on_muted(data)
            return True
        elif kind == UNMUTED:
            if self.muted_until is not None:
                self.toast("You can write again.", theme.GOOD)
            self.muted_until, self.mute_reason = None, ""
            return True
        return False

    def note_refusal(self, kind: str, data) -> None:
        """A message the host refused with ``muted`` (the chat shows the refusal;
        this keeps the text box saying until when, also after a reconnect)."""
        if kind == net.ANSWER and isinstance(data, dict):
            data = data.get("reply")
        elif kind != P.ERROR:
            return
        if isinstance(data, dict) and data.get("error", data.get("code")) == P.E_MUTED and \
                from_ms(data.get("until")) is not None:
            self.muted_until = from_ms(data["until"])

    def _note_role(self, p) -> None:
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            self.roles[p["name"]] = str(p.get("role") or PLAYER)

    def on_role_changed(self, data: dict) -> None:
        name, role = data.get("name"), str(data.get("role") or PLAYER)
        if not isinstance(name, str):
            return
        self.roles[name] = role
        if name == self.me:
            self.role = role
            if isinstance(data.get("can"), list):
                self.can = {str(c) for c in data["can"] if isinstance(c, str)}
            self.toast("You are a moderator now." if role == MODERATOR else
                       "You are no longer a moderator." if role == PLAYER else
                       f"You are the {role} now.", theme.ACCENT)

    def on_announcement(self, data: dict) -> None:
        text = str(data.get("text") or "").strip()
        if text:
            self.announcements.append(data)
            self.banner.add(text, str(data.get("from") or "the host"))

    def on_muted(self, data: dict) -> None:
        until = from_ms(data.get("until"))
        if until is None:
            return
        self.muted_until, self.mute_reason = until, str(data.get("reason") or "")
        why = f": {self.mute_reason}" if self.mute_reason else ""
        self.toast(f"You are muted until {clock_time(self.muted_until)}{why}", theme.WARN)

    def on_answer(self, event: str, tag, reply) -> None:
        reply = reply if isinstance(reply, dict) else {}
        if not reply.get("ok"):
            self.toast(str(reply.get("message") or reply.get("error") or
                           "The host did not answer."), theme.BAD)
            return
        if event == MOD_LIST:
            self.who = WhoIsOn(reply.get("players") or [])
            return
        if isinstance(tag, str) and tag:
            self.toast(tag, theme.GOOD)

    # -- the menu on a player -----------------------------------------------------------
    def items_for(self, name: str, online: bool = True) -> list[MenuItem]:
        """What this player may do to ``name``, in the menu's order."""
        items = [MenuItem("Message", lambda: self.message(name))]
        for provider in self.providers:
            items += [MenuItem(label, action) for label, action in provider(name)]
        if name == self.me:
            return items
        target = self.roles.get(name, PLAYER)
        if target == OWNER or (target == MODERATOR and self.role != OWNER):
            return items  # nobody acts on the owner; moderators not on each other
        can = self.can
        if "kick" in can and online:
            items.append(MenuItem("Kick…", lambda: self.ask_reason(
                name, "Kick", f"Kick {name}?", MOD_KICK, {}, f"{name} was kicked.")))
        if "mute" in can:
            for label, minutes in MUTE_CHOICES:
                items.append(MenuItem(f"Mute {label}…", self._mute_action(name, label, minutes)))
        if "unmute" in can:
            items.append(MenuItem("Unmute", lambda: self.send(
                MOD_UNMUTE, {"name": name}, f"{name} can write again.")))
        if "ban" in can:
            for label, minutes in BAN_CHOICES:
                items.append(MenuItem(f"Ban {label}…", self._ban_action(name, label, minutes),
                                      DANGER))
        if "unban" in can and not online:
            items.append(MenuItem("Unban", lambda: self.send(
                MOD_UNBAN, {"name": name}, f"{name} may come back.")))
        if "promote" in can and target == PLAYER:
            items.append(MenuItem("Make moderator", lambda: self.send(
                MOD_PROMOTE, {"name": name}, f"{name} is a moderator now.")))
        if "demote" in can and target == MODERATOR:
            items.append(MenuItem("Remove moderator", lambda: self.send(
                MOD_DEMOTE, {"name": name}, f"{name} is no longer a moderator.")))
        return items

    def _mute_action(self, name: str, label: str, minutes: int):
        return lambda: self.ask_reason(name, "Mute", f"Mute {name} for {label}?", MOD_MUTE,
                                       {"minutes": minutes}, f"{name} is muted for {label}.")

    def _ban_action(self, name: str, label: str, minutes: int | None):
        done = f"{name} is banned for good." if minutes is None else \
            f"{name} is banned for {label}."
        return lambda: self.ask_reason(name, "Ban", f"Ban {name} {label}?" if minutes is None
                                       else f"Ban {name} for {label}?", MOD_BAN,
                                       {"minutes": minutes}, done)

    def open_for(self, name: str, pos: tuple[int, int], bounds: pygame.Rect,
                 online: bool = True) -> None:
        """Right-click on ``name`` (their avatar, their row in the list)."""
        # Just beside the pointer, so the name clicked stays in sight.
        self.menu.open((pos[0] + 4, pos[1] + 6), name, self.items_for(name, online), bounds)

    def ask_reason(self, name: str, verb: str, title: str, event: str, payload: dict,
                   done: str) -> None:
        def confirm(reason: str) -> None:
            self.send(event, {"name": name, **payload, "reason": reason}, done)

        self.dialog = TextDialog(title, "The reason is shown to them (you may leave it empty).",
                                 verb, confirm, limit=P.MOD_REASON_MAX,
                                 placeholder="Reason (optional)",
                                 danger=verb in ("Kick", "Ban"))

    def send(self, event: str, payload: dict, done: str) -> None:
        self.request(event, payload, done)

    # -- the owner's and moderators' other tools --------------------------------------
    def open_announce(self) -> None:
        if "announce" in self.can:
            self.dialog = TextDialog("Announce", "Every player online sees it at the top "
                                     "of their screen.", "Announce",
                                     lambda text: self.send(MOD_ANNOUNCE, {"text": text},
                                                            "Announced."),
                                     limit=P.ANNOUNCEMENT_TEXT_MAX,
                                     placeholder="What everyone should know",
                                     required=True)

    def open_who(self) -> None:
        if "list" in self.can:
            self.request(MOD_LIST, {}, None)

    def menu_entries(self) -> list[tuple[str, str]]:
        """(key, label) rows for the Escape menu."""
        rows = []
        if "announce" in self.can:
            rows.append(("announce", "Announce…"))
        if "list" in self.can:
            rows.append(("who", "Who is on…"))
        return rows

    # -- input, time, drawing -----------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        if self.dialog is not None:
            used = self.dialog.handle_event(event)
            if not self.dialog.is_open:
                self.dialog = None
            return used
        if self.who is not None:
            used = self.who.handle_event(event)
            if not self.who.is_open:
                self.who = None
            return used
        return self.menu.handle_event(event)

    def update(self, dt: float) -> None:
        self.banner.update(dt)
        if self.muted_until is not None and not self.muted:
            self.muted_until, self.mute_reason = None, ""
            self.toast("You can write again.", theme.GOOD)

    def draw_banner(self, surface: pygame.Surface, view: pygame.Rect) -> pygame.Rect | None:
        """The announcement across the top of ``view``, below the status line."""
        return self.banner.draw(surface, view, BANNER_TOP)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        """The menu, the panel and the dialog, over everything else."""
        self.menu.draw(surface)
        if self.who is not None:
            self.who.draw(surface)
        if self.dialog is not None:
            self.dialog.draw(surface, now)

    def draw_muted(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        """Over the chat's text box while muted: until when."""
        if not self.muted:
            return
        theme.rounded_rect(surface, (52, 40, 24), rect, 6)
        theme.rounded_rect(surface, theme.WARN, rect, 6, 1)
        theme.draw_text(surface, self.muted_text(), (rect.x + 12, rect.centery), 14, theme.WARN,
                        bold=True, anchor="midleft")
