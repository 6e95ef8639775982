"""Keeping order: the one place that performs every moderator action.

The socket handlers (``server.events.moderation``) and the running host's
admin-queue poller call ``Moderation``; it checks the actor may do it, writes
the change and its audit row in one transaction, and applies it to the live
world (ends sessions, tells players).

Who may do what:

* the owner and moderators: kick, mute, unmute, ban, unban, announce, list;
* the owner alone: promote, demote, audit, settings
  (``moderators_see_addresses``);
* nobody acts on the owner, and a moderator cannot act on another moderator;
* the console (``host.py admin``, on the host's machine) may do everything,
  on anyone; its audit rows name the actor ``console``.

``list`` shows each player's address to the owner and the console, and to
moderators only while ``moderators_see_addresses`` is on.

Roles live in the ``users.role`` column, with a copy of every account that is
not a plain player in ``Accounts.roles``; bans in force are copied in
``Accounts.bans`` (login and tokens check them without the disk), mutes in
force in ``Moderation.mutes``.  A mute's end is noticed by ``run`` (every
``SWEEP_S``), which tells the player with ``unmuted``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from game.core import protocol as P

from . import storage as S
from .live import WORLD_ROOM, user_room
from .cluster.limits import account_window
from .ratelimit import SlidingWindow
from .storage import Sanction, transaction

log = logging.getLogger("server.moderation")

CONSOLE_NAME = "console"
SWEEP_S = 0.25                 # how often ended mutes and bans are looked for
RETIRED_NAME_DAYS = P.RETIRED_NAME_DAYS  # a deleted account's name is free again after this


@dataclass(frozen=True)
class Actor:
    """Who performs an action: an account (its id, name and role) or the console."""

    name: str
    user_id: int | None
    role: str

    @property
    def is_console(self) -> bool:
        return self.user_id is None


CONSOLE = Actor(CONSOLE_NAME, None, P.ROLE_OWNER)


def ms(t: float | None) -> int | None:
    """Seconds since the epoch as the wire's milliseconds (None stays None)."""
    return None if t is None else round(t * 1000.0)


def forbidden(action: str) -> P.ProtocolError:
    return P.ProtocolError(P.E_FORBIDDEN, f"your role may not use '{action}'")


class Moderation:
    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.storage = ctx.storage
        self.accounts = ctx.accounts
        self.mutes: dict[int, Sanction] = {}
        self._windows: dict[int, SlidingWindow] = {}
        self._running = False
        now = time.time()
        owner = getattr(ctx.config, "owner", None)
        if owner:
            self.storage.make_owner(owner)
        self.accounts.roles.update(self.storage.roles())
        self.accounts.bans.update(self.storage.call(lambda db: {
            row[0]: Sanction(*row) for row in db.execute(
                "SELECT user_id, reason, by_id, at, until FROM bans "
                "WHERE until IS NULL OR until > ?", [now]).fetchall()}))
        self.mutes.update(self.storage.call(lambda db: {
            row[0]: Sanction(*row) for row in db.execute(
                "SELECT user_id, reason, by_id, at, until FROM mutes WHERE until > ?",
                [now]).fetchall()}))
        self.accounts.owner_name = owner
        self._log_owner(owner)

    def _log_owner(self, configured: str | None) -> None:
        owners = [uid for uid, role in self.accounts.roles.items() if role == P.ROLE_OWNER]
        if owners:
            log.info("owner: %s", self.accounts.names.get(owners[0], "?"))
        elif configured:
            log.info("owner: %s (not registered yet: the account that registers that name "
                     "will be the owner)", configured)
        elif not self.accounts.names:
            log.info("owner: the first account to register on this new world")
        else:
            log.info("owner: none (start the host with --owner NAME to name one)")

    # -- who is who ---------------------------------------------------------------------
    def role(self, user_id: int) -> str:
        return self.accounts.roles.get(user_id, P.ROLE_PLAYER)

    def actor(self, who: Any) -> Actor:
        """The actor for an Identity or a LivePlayer."""
        return Actor(who.name, who.user_id, self.role(who.user_id))

    def muted(self, user_id: int, now: float | None = None) -> Sanction | None:
        """The mute in force on an account (None: may speak)."""
        found = self.mutes.get(user_id)
        if found is not None and found.until <= (time.time() if now is None else now):
            return None
        return found

    def _target(self, name: str) -> tuple[int, str]:
        uid = self.accounts.user_id(name)
        if uid is None:
            raise P.ProtocolError(P.E_UNKNOWN_PLAYER, f"no account named '{name}'")
        return uid, self.accounts.names[uid]

    def _check(self, actor: Actor, action: str, target_id: int | None = None) -> None:
        """Refuse an action the actor may not use, or on someone it may not touch."""
        if actor.is_console:
            return
        if action not in P.can(actor.role):
            raise forbidden(action)
        window = self._windows.setdefault(actor.user_id, SlidingWindow(
            P.MOD_ACTIONS_PER_WINDOW, P.MOD_WINDOW_S))
        if not account_window(self.ctx, "mod", actor.user_id, window).allow(time.monotonic()):
            raise P.ProtocolError(P.E_RATE_LIMITED,
                                  f"more than {P.MOD_ACTIONS_PER_WINDOW} moderator actions in "
                                  f"{P.MOD_WINDOW_S:g} s; wait a little")
        if target_id is None:
            return
        role = self.role(target_id)
        if role == P.ROLE_OWNER:
            raise P.ProtocolError(P.E_NOT_ON_OWNER, "nobody can act on the owner")
        if target_id == actor.user_id:
            raise P.ProtocolError(P.E_BAD_PAYLOAD, f"you cannot {action} yourself")
        if role == P.ROLE_MODERATOR and actor.role == P.ROLE_MODERATOR:
            raise P.ProtocolError(P.E_NOT_ON_MODERATOR,
                                  "a moderator cannot act on another moderator")

    def _write(self, fn: Any) -> Any:
        """Run ``fn(db)`` as one transaction on the writer thread."""
        def run(db):
            with transaction(db):
                return fn(db)
        try:
            return self.storage.call(run)
        except S.StorageFull as exc:
            raise P.ProtocolError(P.E_STORAGE_FULL,
                                  "the host's disk is full; nothing changed") from exc

    def _sids_of(self, user_id: int) -> list[str]:
        return [sid for sid, who in list(self.ctx.connections.items())
                if who.user_id == user_id]

    def end_sessions(self, user_id: int, reason: str, message: str, **extra: Any) -> int:
        """End the account's sessions here and on every other process."""
        self._tell("end", uid=user_id, reason=reason, message=message, extra=extra)
        return self._end_here(user_id, reason, message, **extra)

    def _end_here(self, user_id: int, reason: str, message: str, **extra: Any) -> int:
        sids = self._sids_of(user_id)
        for sid in sids:
            self.ctx.end_session(sid, reason, message, **extra)
        return len(sids)

    def _online(self, user_id: int) -> bool:
        """Connected here or on another process of the world."""
        cluster = self.ctx.cluster
        return bool(self._sids_of(user_id)) or (
            cluster is not None and cluster.messages.connected_elsewhere(user_id))

    # -- the other processes of the world (--redis) ----------------------------------------
    def _tell(self, op: str, **payload: Any) -> None:
        """Have every other process apply an action taken here (``apply``)."""
        if self.ctx.cluster is not None:
            self.ctx.cluster.messages.moderation(op, **payload)

    def apply(self, op: str | None, p: dict) -> None:
        """An action taken on another process: this process's caches and
        players follow."""
        uid = p.get("uid")
        if op == "end":
            self._end_here(uid, p["reason"], p["message"], **(p.get("extra") or {}))
        elif op == "mute":
            self.mutes[uid] = Sanction(uid, p["reason"], p["by"], p["at"], p["until"])
            self.ctx.sio.emit(P.MUTED, {"until": ms(p["until"]), "reason": p["reason"]},
                              to=user_room(uid))
        elif op == "unmute":
            was = self.mutes.pop(uid, None)
            if was is not None and was.until > time.time():
                self.ctx.sio.emit(P.UNMUTED, {}, to=user_room(uid))
        elif op == "ban":
            self.accounts.bans[uid] = Sanction(uid, p["reason"], p["by"], p["at"], p["until"])
            self._end_here(uid, P.END_BANNED, p["message"], until=ms(p["until"]))
        elif op == "unban":
            self.accounts.bans.pop(uid, None)
        elif op == "announce":
            self.ctx.sio.emit(P.ANNOUNCEMENT, p["payload"], room=WORLD_ROOM)
        elif op == "role":
            self._role_changed(uid, p["name"], p["role"], tell=False)
        elif op == "deleted":
            self._end_here(uid, P.END_ACCOUNT_DELETED, "this account was deleted")
            self.accounts.forget(uid)
            self.mutes.pop(uid, None)
        else:
            log.warning("unknown moderation message %r from another process", op)

    # -- actions ------------------------------------------------------------------------
    def kick(self, actor: Actor, name: str, reason: str = "") -> dict:
        uid, name = self._target(name)
        self._check(actor, "kick", uid)
        if not self._online(uid):
            raise P.ProtocolError(P.E_NOT_ONLINE, f"'{name}' is not online")
        self._write(lambda db: S.add_audit(db, actor.name, "kick", name, reason))
        self.end_sessions(uid, P.END_KICKED, reason or "you were kicked")
        log.info("%s kicked %s (%s)", actor.name, name, reason or "no reason given")
        return {"ok": True}

    def mute(self, actor: Actor, name: str, minutes: float, reason: str = "") -> dict:
        uid, name = self._target(name)
        self._check(actor, "mute", uid)
        now = time.time()
        until = now + minutes * 60.0
        by = actor.user_id

        def write(db):
            S.mute(db, uid, reason, by, now, until)
            S.add_audit(db, actor.name, "mute", name, reason, f"{minutes:g} min", now)
        self._write(write)
        self.mutes[uid] = Sanction(uid, reason, by, now, until)
        self._tell("mute", uid=uid, reason=reason, by=by, at=now, until=until)
        self.ctx.sio.emit(P.MUTED, {"until": ms(until), "reason": reason}, to=user_room(uid))
        log.info("%s muted %s for %g min (%s)", actor.name, name, minutes, reason or "-")
        return {"ok": True, "until": ms(until)}

    def unmute(self, actor: Actor, name: str) -> dict:
        uid, name = self._target(name)
        self._check(actor, "unmute", uid)

        def write(db):
            lifted = S.unmute(db, uid)
            if lifted:
                S.add_audit(db, actor.name, "unmute", name)
            return lifted
        lifted = self._write(write)
        self._tell("unmute", uid=uid)
        was = self.mutes.pop(uid, None)
        if was is not None and was.until > time.time():
            self.ctx.sio.emit(P.UNMUTED, {}, to=user_room(uid))
        return {"ok": True, "changed": bool(lifted)}

    def ban(self, actor: Actor, name: str, minutes: float | None, reason: str = "") -> dict:
        uid, name = self._target(name)
        self._check(actor, "ban", uid)
        now = time.time()
        until = None if minutes is None else now + minutes * 60.0
        by = actor.user_id

        def write(db):
            S.ban(db, uid, reason, by, now, until)
            S.add_audit(db, actor.name, "ban", name, reason,
                        "for good" if minutes is None else f"{minutes:g} min", now)
        self._write(write)
        self.accounts.bans[uid] = Sanction(uid, reason, by, now, until)
        self._tell("ban", uid=uid, reason=reason, by=by, at=now, until=until,
                   message=reason or "you were banned")
        self._end_here(uid, P.END_BANNED, reason or "you were banned", until=ms(until))
        log.info("%s banned %s %s (%s)", actor.name, name,
                 "for good" if minutes is None else f"for {minutes:g} min", reason or "-")
        return {"ok": True, "until": ms(until)}

    def unban(self, actor: Actor, name: str) -> dict:
        uid, name = self._target(name)
        self._check(actor, "unban", uid)

        def write(db):
            lifted = S.unban(db, uid)
            if lifted:
                S.add_audit(db, actor.name, "unban", name)
            return lifted
        lifted = self._write(write)
        self._tell("unban", uid=uid)
        self.accounts.bans.pop(uid, None)
        return {"ok": True, "changed": bool(lifted)}

    def announce(self, actor: Actor, text: str) -> dict:
        self._check(actor, "announce")
        now = time.time()
        self._write(lambda db: S.add_audit(db, actor.name, "announce", None, None, text, now))
        payload = {"text": text, "from": actor.name, "at": ms(now)}
        self._tell("announce", payload=payload)
        self.ctx.sio.emit(P.ANNOUNCEMENT, payload, room=WORLD_ROOM)
        return {"ok": True}

    def list(self, actor: Actor) -> list[dict]:
        """Everyone in the world: where, since when, and (if the actor may see
        them) from which address."""
        self._check(actor, "list")
        show = actor.is_console or actor.role == P.ROLE_OWNER or self.storage.get_setting(
            S.SETTING_MODERATORS_SEE_ADDRESSES) == "1"
        ctx, now_wall, now_mono = self.ctx, time.time(), time.monotonic()
        out = []
        for player in list(ctx.world.everyone.values()):  # in a cluster, every process's
            since = now_wall - (now_mono - ctx.connected_at.get(player.sid, now_mono))
            if player.node is not None:  # connected to another process since then
                since = player.since or since
            entry = {"id": player.user_id, "name": player.name,
                     "role": self.role(player.user_id), "map": player.map,
                     "x": round(player.x, 1), "y": round(player.y, 1), "since": ms(since)}
            if show:
                entry["address"] = self.address_of(player)
            out.append(entry)
        out.sort(key=lambda p: p["name"].lower())
        return out

    def address_of(self, player: Any) -> str:
        """The address a player connected from (a remote player's as its
        process told; "?" when the connection is gone)."""
        if player.node is not None:
            return player.address or "?"
        try:
            environ = self.ctx.sio.get_environ(player.sid) or {}
        except Exception:  # the connection is gone
            return "?"
        return self.ctx.config.client_address(environ)

    def promote(self, actor: Actor, name: str) -> dict:
        return self._set_role(actor, "promote", name, P.ROLE_MODERATOR)

    def demote(self, actor: Actor, name: str) -> dict:
        return self._set_role(actor, "demote", name, P.ROLE_PLAYER)

    def _set_role(self, actor: Actor, action: str, name: str, role: str) -> dict:
        uid, name = self._target(name)
        self._check(actor, action, uid)
        if self.role(uid) == role:
            return {"ok": True, "changed": False}

        def write(db):
            S.set_role(db, uid, role)
            S.add_audit(db, actor.name, action, name, None, role)
        self._write(write)
        self._role_changed(uid, name, role)
        log.info("%s made %s a %s", actor.name, name, role)
        return {"ok": True, "changed": True}

    def _role_changed(self, uid: int, name: str, role: str, tell: bool = True) -> None:
        if tell:
            self._tell("role", uid=uid, name=name, role=role)
        if role == P.ROLE_PLAYER:
            self.accounts.roles.pop(uid, None)
        else:
            self.accounts.roles[uid] = role
        # A player of another process too (LiveWorld.everyone): the welcomes
        # this process gives list them with their new role.
        player = self.ctx.world.everyone.get(uid)
        if player is not None:
            player.role = role
        change = {"id": uid, "name": name, "role": role}
        self.ctx.sio.emit(P.ROLE_CHANGED, {**change, "can": P.can(role)}, to=user_room(uid))
        for sid in list(self.ctx.world.by_sid):
            if self.ctx.world.by_sid.get(sid) is not None and \
                    self.ctx.world.by_sid[sid].user_id != uid:
                self.ctx.sio.emit(P.ROLE_CHANGED, change, to=sid)

    def audit(self, actor: Actor, before_id: int | None = None,
              limit: int = P.AUDIT_PAGE_DEFAULT) -> tuple[list[dict], bool]:
        self._check(actor, "audit")
        entries, more = self.storage.audit_log(limit, before_id)
        return [{**e, "at": ms(e["at"])} for e in entries], more

    def settings(self, actor: Actor, changes: dict[str, bool] | None = None) -> dict:
        """Change settings (owner only) and return them all."""
        self._check(actor, "settings")
        key = S.SETTING_MODERATORS_SEE_ADDRESSES
        if changes and key in changes:
            value = "1" if changes[key] else "0"

            def write(db):
                S.set_setting(db, key, value)
                S.add_audit(db, actor.name, "settings", None, None, f"{key}={value}")
            self._write(write)
        return {key: self.storage.get_setting(key) == "1"}

    def delete_account(self, actor: Actor, name: str) -> dict:
        """Delete an account (the console, the owner, or the account itself);
        its name cools off for RETIRED_NAME_DAYS."""
        uid, name = self._target(name)
        if actor.user_id != uid and not actor.is_console:
            self._check_owner_on(actor, uid)
        now = time.time()
        # RETIRED_NAME_DAYS, unless the host was started with another period.
        cooling_s = getattr(self.ctx.config, "retired_name_s", RETIRED_NAME_DAYS * 86400.0)

        def write(db):
            S.delete_account(db, uid)
            S.retire_name(db, name, now + cooling_s)
            S.add_audit(db, actor.name, "delete_account", name, None, None, now)
        self._write(write)
        self._tell("deleted", uid=uid)
        self._end_here(uid, P.END_ACCOUNT_DELETED, "this account was deleted")
        self.accounts.forget(uid)
        self.mutes.pop(uid, None)
        log.info("%s deleted the account %s", actor.name, name)
        return {"ok": True}

    def _check_owner_on(self, actor: Actor, uid: int) -> None:
        if actor.role != P.ROLE_OWNER:
            raise forbidden("delete")
        if self.role(uid) == P.ROLE_OWNER:
            raise P.ProtocolError(P.E_NOT_ON_OWNER, "nobody can act on the owner")

    def reset_password(self, actor: Actor, name: str, password: str) -> dict:
        """Give an account a new password (the console or the owner); its
        sessions end and its tokens are revoked."""
        uid, name = self._target(name)
        if not actor.is_console:
            self._check_owner_on(actor, uid)
        P.check_new_account(P.Credentials(name, password))
        pw_hash = self.accounts.hash_password(password)
        now = time.time()

        def write(db):
            db.execute("UPDATE users SET pw_hash = ? WHERE id = ?", [pw_hash, uid])
            db.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? "
                       "AND revoked_at IS NULL", [now, uid])
            S.add_audit(db, actor.name, "reset_password", name, None, None, now)
        self._write(write)
        self.end_sessions(uid, P.END_PASSWORD_RESET, "your password was reset; log in again")
        return {"ok": True}

    # -- the sweep ----------------------------------------------------------------------
    def sweep(self, now: float | None = None) -> list[int]:
        """Tell each player whose mute ended; forget bans that ended.  Returns
        the ids of the players unmuted."""
        now = time.time() if now is None else now
        ended = [uid for uid, m in list(self.mutes.items()) if m.until <= now]
        for uid in ended:
            self.mutes.pop(uid, None)
            self.ctx.sio.emit(P.UNMUTED, {}, to=user_room(uid))
        for uid, b in list(self.accounts.bans.items()):
            if b.until is not None and b.until <= now:
                self.accounts.bans.pop(uid, None)
        return ended

    def run(self, sleep: Any) -> None:
        """The sweep loop, beside the tick (stops with ``stop``)."""
        self._running = True
        while self._running:
            try:
                self.sweep()
            except Exception:
                log.exception("the moderation sweep failed")
            sleep(SWEEP_S)

    def stop(self) -> None:
        self._running = False
