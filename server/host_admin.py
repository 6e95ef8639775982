"""The running host's side of ``host.py admin`` and of deleting accounts.

While a host runs, ``host.py admin`` (``server.admin``) leaves its commands
in ``admin_queue`` and touches the file ``world.db.admin`` beside the
database.  ``AdminQueue`` here looks at that file's time every
``config.admin_poll_s`` (no database work while nothing is queued, so the
database stays idle and its WAL is truncated as usual) and, when it changed,
performs each queued command through ``Moderation`` as the console: the
change, its audit line, and the live side (ends connections, tells players,
broadcasts).  Asked for the online list (``list``), it writes the list into
the setting ``ONLINE_KEY`` under the request's id.  The command line knows a
host is running from the database lock (``startup.host_running``).  On
PostgreSQL there is no file beside the database: the host asks the database
whether a command waits (one small read every ``config.admin_poll_s``), and
the command line knows a host is running from the hosts' connections
(``postgres.host_running``).

Registration rules (``--invite-only``, retired names) and an account
deleting itself (``POST /api/account/delete``) live here too.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

from sqlite_utils import Database

from game.core import protocol as P

from . import storage as store
from .accounts import AuthError
from .context import HostContext, log
from .moderation import CONSOLE, Actor
from .startup import admin_signal_path

# Where the running host answers ``host.py admin list`` (a settings row).
ONLINE_KEY = "host_online"


# -- registration and deletion ---------------------------------------------------------
def admit(ctx: HostContext, name: str) -> None:
    """Raise AuthError when the host does not take a new account of this name:
    not on the invite list of an --invite-only host (the --owner's own name
    always is), or a deleted account's name still cooling off."""
    config = ctx.config
    owner = config.owner is not None and config.owner.lower() == name.lower()
    now = time.time()

    def read(db: Database) -> tuple[bool, float | None]:
        return store.invited(db, name), store.name_retired(db, name, now)
    invited, retired_until = ctx.storage.call(read)
    if config.registration == P.REGISTRATION_INVITE_ONLY and not invited and not owner:
        raise AuthError(P.E_NOT_INVITED, "this host takes new accounts by invitation only, and "
                        "that name is not invited; ask the host's owner", 403)
    if retired_until is not None:
        error = AuthError(P.E_NAME_RETIRED, "that name belonged to a deleted account and is "
                          "free again on " + time.strftime("%Y-%m-%d", time.gmtime(retired_until)),
                          409)
        error.extra = {"until": round(retired_until * 1000.0)}
        raise error


def delete_account(ctx: HostContext, user_id: int, name: str) -> None:
    """An account deleting itself (``POST /api/account/delete``): through
    ``Moderation.delete_account``, which ends its sessions and its live
    connection and retires its name for ``config.retired_name_s``."""
    actor = Actor(name, user_id, ctx.moderation.role(user_id))
    ctx.moderation.delete_account(actor, name)


# -- who is online, for the command line -----------------------------------------------
def read_online(db: Database, request: str) -> list[dict] | None:
    """The online list the running host wrote for ``request``; None until
    it has."""
    raw = store.get_setting(db, ONLINE_KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("request") != request:
        return None
    return list(data.get("players") or [])


# -- the queue poller ------------------------------------------------------------------
class AdminQueue:
    """Applies what ``host.py admin`` queued, through ``Moderation`` as the
    console."""

    def __init__(self, ctx: HostContext):
        self.ctx = ctx
        self.running = False
        self.applied = 0
        self.signal_path = (admin_signal_path(ctx.config.db_path)
                            if ctx.config.db_path is not None else None)

    def start(self) -> None:
        self.running = True
        self.ctx.sio.start_background_task(self._run)

    def stop(self) -> None:
        self.running = False

    def _signalled_at(self) -> Any:
        if self.signal_path is None:  # PostgreSQL: whether a command waits
            try:
                return self.ctx.storage.call(store.admin_queued) or None
            except Exception:
                return None  # unreachable: the storage log says so
        try:
            return os.stat(self.signal_path).st_mtime_ns
        except OSError:
            return None

    def _run(self) -> None:
        ctx = self.ctx
        seen: Any = object()  # the first look takes what was queued while no host ran
        while self.running:
            stamp = self._signalled_at()
            if stamp != seen or (self.signal_path is None and stamp):
                seen = stamp
                try:
                    for _id, action, args in ctx.storage.call(store.take_admin_queue):
                        self.apply(action, args)
                except store.StorageFull:
                    log.warning("admin queue: the disk is full; queued commands wait")
                    seen = object()  # look again next time
                except Exception:
                    log.exception("admin queue: could not read the queue")
            ctx.sio.sleep(ctx.config.admin_poll_s)

    def _write_online(self, request: str) -> None:
        text = json.dumps({"request": request, "at": time.time(),
                           "players": self.ctx.moderation.list(CONSOLE)})
        self.ctx.storage.call(lambda db: store.set_setting(db, ONLINE_KEY, text))

    def _end_sessions_after_reset(self, name: str) -> None:
        """The password changed on disk (``host.py admin`` wrote it, with its
        sessions revoked): end the account's live connections too."""
        uid = self.ctx.accounts.user_id(name)
        if uid is not None:  # here and on every other process of the world
            self.ctx.moderation.end_sessions(uid, P.END_PASSWORD_RESET,
                                     "your password was reset; log in again")

    def apply(self, action: str, args: dict) -> None:
        """Do one queued command as the console; a refusal (the player left
        meanwhile, say) is logged, not raised."""
        mod = self.ctx.moderation
        name = args.get("name", "")
        calls = {
            "kick": lambda: mod.kick(CONSOLE, name, args.get("reason", "")),
            "mute": lambda: mod.mute(CONSOLE, name, args["minutes"], args.get("reason", "")),
            "unmute": lambda: mod.unmute(CONSOLE, name),
            "ban": lambda: mod.ban(CONSOLE, name, args.get("minutes"), args.get("reason", "")),
            "unban": lambda: mod.unban(CONSOLE, name),
            "announce": lambda: mod.announce(CONSOLE, args["text"]),
            "promote": lambda: mod.promote(CONSOLE, name),
            "demote": lambda: mod.demote(CONSOLE, name),
            "delete_account": lambda: mod.delete_account(CONSOLE, name),
            "password_reset": lambda: self._end_sessions_after_reset(name),
            "settings": lambda: mod.settings(CONSOLE, args.get("changes") or {}),
            "list": lambda: self._write_online(str(args.get("request", ""))),
        }
        call = calls.get(action)
        self.applied += 1
        if call is None:
            log.warning("admin queue: unknown command %r", action)
            return
        try:
            call()
            log.info("console: %s %s", action, name)
        except P.ProtocolError as exc:
            log.warning("console: %s %s refused: %s", action, name, exc.message)
        except KeyError as exc:
            log.warning("console: %s %s: missing %s", action, name, exc)
