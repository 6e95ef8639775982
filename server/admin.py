"""``python host.py admin ...``: keep order from the command line.

Every command works on the world's database directly, whether a host is
running on it or not.  It never takes the host's world lock and never
touches the host's port: SQLite's WAL lets it write beside a running host,
as does PostgreSQL (``--db postgresql://...``).

With no host running, a change (a ban, a mute, a new role, a deleted
account) is written with its audit line (actor ``console``) in one
transaction.  With a host running, the command is written to ``admin_queue``
instead: the host polls that queue and performs it within a second through
``server.moderation.Moderation`` as the console (the change, its audit line,
and the live side: ends the connection, tells the player, broadcasts), so the
host's own copies of roles, bans and mutes stay right.  The command waits a
moment for the host to take it and says whether it did.  A new password is
always written here (the queue never holds a password); the host then only
ends the account's connections.

Whether a host is running comes from the database's lock (a running host
holds it); who is online, from the running host itself: ``list`` queues a
request and the host writes its answer into the database
(``server.host_admin``).

    python host.py admin list
    python host.py admin kick alice --reason "spamming the square"
    python host.py admin ban bob --minutes 1440 --reason "griefing"
    python host.py admin invite carol
"""
from __future__ import annotations

import argparse
import getpass
import secrets
import sys
import time
from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from game.core import protocol as P

from . import host_admin
from . import storage as store
from . import postgres
from .config import is_postgres_url
from .postgres import database_name, masked
from .startup import admin_signal_path, first_line, host_running
from .storage import transaction

ACTOR = "console"
# How long a command waits for the running host to take its queue row.
APPLIED_WAIT_S = 3.0
BUSY_TIMEOUT_MS = 10_000


class AdminError(Exception):
    """A command that cannot be done; the message names the database or account."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    from .config import default_db_path

    parser = argparse.ArgumentParser(
        prog="host.py admin",
        description="Keep order in a Pixel Commons world from the command line. Works whether "
                    "the host is running or stopped: a running host applies each change "
                    "within a second. Actions are written to the audit log as 'console'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--db", default=str(default_db_path()), metavar="PATH|URL",
                        help="the world's database, as the host's --db: a SQLite file, or "
                             "postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text,
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)

    command("list", "who is online: role, map, position, since when, address")
    kick = command("kick", "disconnect a player (they may come back)")
    kick.add_argument("name")
    kick.add_argument("--reason", default="", help="shown to the player")
    mute = command("mute", "stop a player sending messages for a while")
    mute.add_argument("name")
    mute.add_argument("minutes", type=_minutes)
    mute.add_argument("--reason", default="", help="shown to the player")
    unmute = command("unmute", "lift a mute")
    unmute.add_argument("name")
    ban = command("ban", "refuse an account at login and connect (for good unless --minutes)")
    ban.add_argument("name")
    how_long = ban.add_mutually_exclusive_group()
    how_long.add_argument("--minutes", type=_minutes, default=None, help="ban for this long")
    how_long.add_argument("--forever", action="store_true", help="ban for good (the default)")
    ban.add_argument("--reason", default="", help="shown to the player")
    unban = command("unban", "lift a ban")
    unban.add_argument("name")
    announce = command("announce", "a message every online player sees")
    announce.add_argument("text")
    promote = command("promote", "make a player a moderator")
    promote.add_argument("name")
    demote = command("demote", "make a moderator a player again")
    demote.add_argument("name")
    delete = command("delete", "delete an account: its position, sessions and its side of "
                               f"its messages; the name is free again after "
                               f"{P.RETIRED_NAME_DAYS} days")
    delete.add_argument("name")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--retired-name-seconds", type=float, default=None,
                        help=argparse.SUPPRESS)
    reset = command("reset-password", "give an account a new password (asked twice) and "
                                      "log it out everywhere")
    reset.add_argument("name")
    reset.add_argument("--password-file", type=Path, default=None, metavar="PATH",
                       help="read the new password from the first line of this file")
    audit = command("audit", "the newest entries of the audit log")
    audit.add_argument("--limit", type=int, default=50, help="how many entries")
    invite = command("invite", "allow a name to register on an --invite-only host")
    invite.add_argument("name")
    uninvite = command("uninvite", "take a name off the invite list")
    uninvite.add_argument("name")
    command("invites", "the invite list")
    see = command("moderators-see-addresses",
                  "whether moderators see players' addresses in the list (the owner always does)")
    see.add_argument("value", choices=["on", "off"], nargs="?", default=None,
                     help="omit to show the current setting")
    return parser.parse_args(argv)


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of minutes: {text!r}") from None
    if not 0 < value <= 60 * 24 * 365 * 10:
        raise argparse.ArgumentTypeError(f"minutes must be above 0 and at most ten years: "
                                         f"{text!r}")
    return value


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    db_path = args.db if is_postgres_url(args.db) else Path(args.db)
    where = masked(args.db) if is_postgres_url(args.db) else db_path
    try:
        db = open_database(db_path)
    except AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return COMMANDS[args.command](Admin(db, db_path), args)
    except AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except store.DB_ERRORS as exc:
        print(f"error: database {where}: {first_line(exc)}", file=sys.stderr)
        return 1
    finally:
        db.conn.close()


def open_database(db_path: Path | str) -> Database:
    """The world's database, on a connection of our own (autocommit, WAL,
    waiting for the host's writes), upgraded to this version's schema.
    ``db_path`` may be a PostgreSQL URL."""
    from .startup import StartupError, check_database, check_postgres

    try:
        exists = (check_postgres(db_path) if is_postgres_url(db_path)
                  else check_database(db_path))
    except StartupError as exc:
        raise AdminError(str(exc)) from exc
    if not exists:
        where = masked(db_path) if is_postgres_url(db_path) else db_path
        raise AdminError(f"no world at {where}: start the host once with --db {where}, "
                         f"or point --db at the world's database")
    try:
        db = store.open_database(db_path, BUSY_TIMEOUT_MS)
        store.migrate(db)
    except store.DB_ERRORS as exc:
        where = masked(db_path) if is_postgres_url(db_path) else db_path
        raise AdminError(f"database {where} cannot be opened: {first_line(exc)}") from exc
    return db


class Admin:
    """The commands' shared steps on one database."""

    def __init__(self, db: Database, path: Path | str):
        self.db = db
        self.url = path if is_postgres_url(path) else None
        # What messages name: the file, or the URL with its password masked.
        self.path = masked(path) if self.url else Path(path)
        self.now = time.time()

    @property
    def world(self) -> str:
        return database_name(self.url) if self.url else self.path.name

    def account(self, name: str) -> tuple[int, str, str]:
        """(id, name, role) of the account, or AdminError naming it."""
        found = store.user_named(self.db, name)
        if found is None:
            raise AdminError(f"no account named {name} in {self.path}")
        return found

    def running(self) -> bool:
        """Whether a host is running on this database now."""
        if self.url:
            return postgres.host_running(self.db)
        return host_running(self.path)

    def queue(self, action: str, args: dict) -> int:
        """Leave a command for the running host and wake it; the row's id."""
        queued = store.queue_admin(self.db, action, args, now=self.now)
        self.wake_host()
        return queued

    def wake_host(self) -> None:
        if not self.url:  # a host on PostgreSQL polls the queue itself
            admin_signal_path(self.path).touch()  # a new time, made or not

    def online(self) -> list[dict] | None:
        """Who the running host says is online; None when no host runs or it
        did not answer within APPLIED_WAIT_S."""
        if not self.running():
            return None
        request = secrets.token_hex(8)
        self.queue("list", {"request": request})
        deadline = time.monotonic() + APPLIED_WAIT_S
        while time.monotonic() < deadline:
            players = host_admin.read_online(self.db, request)
            if players is not None:
                return players
            time.sleep(0.05)
        raise AdminError(f"the host running on {self.path} did not answer within "
                         f"{APPLIED_WAIT_S:g} s")

    def change(self, action: str, target: str | None, reason: str | None,
               write: Callable[[], None], queue: dict | None, detail: str | None = None
               ) -> int | None:
        """With a host running (and ``queue`` given): queue the command for it
        and return the row's id.  Otherwise write the change and its audit
        line in one transaction and return None."""
        if queue is not None and self.running():
            return self.queue(action, queue)
        with transaction(self.db):
            write()
            store.add_audit(self.db, ACTOR, action, target, reason or None, detail, now=self.now)
        return None

    def wait_applied(self, queued: int | None) -> bool:
        """Whether the running host took the queue row within APPLIED_WAIT_S."""
        if queued is None:
            return False
        deadline = time.monotonic() + APPLIED_WAIT_S
        while time.monotonic() < deadline:
            row = self.db.execute("SELECT done_at FROM admin_queue WHERE id = ?",
                                  [queued]).fetchone()
            if row is None or row[0] is not None:
                return True
            time.sleep(0.05)
        return False

    def report(self, done: str, queued: int | None) -> int:
        if queued is None:
            print(done)
        elif self.wait_applied(queued):
            print(f"{done} (applied by the running host)")
        else:
            print(f"{done}: queued, but the running host has not taken it within "
                  f"{APPLIED_WAIT_S:g} s; it will when it polls, or at its next start")
        return 0


def _until_text(until: float | None) -> str:
    if until is None:
        return "for good"
    return "until " + time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(until))


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "-"


# -- the commands ----------------------------------------------------------------------
def cmd_list(admin: Admin, args: argparse.Namespace) -> int:
    online = admin.online()
    if online is None:
        print(f"no host is running on {admin.path}; nobody is online")
        return 0
    if not online:
        print("nobody is online")
        return 0
    print(f"{len(online)} online:")
    print(f"{'NAME':<20} {'ROLE':<10} {'MAP':<14} {'POSITION':<12} {'SINCE':<20} ADDRESS")
    for p in online:
        where = f"{p['x']:.0f},{p['y']:.0f}"
        print(f"{p['name']:<20} {p['role']:<10} {p['map']:<14} {where:<12} "
              f"{_when((p.get('since') or 0) / 1000.0):<20} {p.get('address') or '-'}")
    return 0


def cmd_kick(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, role = admin.account(args.name)
    _not_owner(role, name, "kick")
    online = admin.online()
    if online is None:
        print(f"no host is running on {admin.path}: there is no one to kick")
        return 0
    if not any(p["id"] == uid for p in online):
        print(f"{name} is not online: there is no one to kick")
        return 0
    queued = admin.change("kick", name, args.reason, lambda: None,
                          {"name": name, "reason": _reason(args.reason)})
    return admin.report(f"kicked {name}", queued)


def cmd_mute(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, role = admin.account(args.name)
    _not_owner(role, name, "mute")
    if args.minutes > P.MUTE_MINUTES_MAX:
        raise AdminError(f"a mute lasts at most {P.MUTE_MINUTES_MAX:g} minutes")
    reason = _reason(args.reason)
    until = admin.now + args.minutes * 60.0
    queued = admin.change(
        "mute", name, reason,
        lambda: store.mute(admin.db, uid, reason, None, admin.now, until),
        {"name": name, "minutes": args.minutes, "reason": reason},
        detail=f"{args.minutes:g} min")
    return admin.report(f"muted {name} {_until_text(until)}", queued)


def cmd_unmute(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, _role = admin.account(args.name)
    if store.active_mute(admin.db, uid, admin.now) is None:
        raise AdminError(f"{name} is not muted")
    queued = admin.change("unmute", name, None, lambda: store.unmute(admin.db, uid),
                          {"name": name})
    return admin.report(f"unmuted {name}", queued)


def cmd_ban(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, role = admin.account(args.name)
    _not_owner(role, name, "ban")
    minutes = args.minutes if args.minutes is None or args.minutes <= P.BAN_MINUTES_MAX \
        else None  # longer than the longest ban: for good
    reason = _reason(args.reason)
    until = None if minutes is None else admin.now + minutes * 60.0
    queued = admin.change(
        "ban", name, reason,
        lambda: store.ban(admin.db, uid, reason, None, admin.now, until),
        {"name": name, "minutes": minutes, "reason": reason},
        detail="for good" if until is None else f"{minutes:g} min")
    return admin.report(f"banned {name} {_until_text(until)}", queued)


def cmd_unban(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, _role = admin.account(args.name)
    if store.active_ban(admin.db, uid, admin.now) is None:
        raise AdminError(f"{name} is not banned")
    queued = admin.change("unban", name, None, lambda: store.unban(admin.db, uid),
                          {"name": name})
    return admin.report(f"unbanned {name}", queued)


def cmd_announce(admin: Admin, args: argparse.Namespace) -> int:
    try:
        text = P.clean_mod_text(args.text, "text", P.ANNOUNCEMENT_TEXT_MAX, required=True)
    except P.ProtocolError as exc:
        raise AdminError(f"the announcement cannot be sent: {exc.message}") from exc
    if not admin.running():
        print(f"no host is running on {admin.path}: there is no one to announce to")
        return 0
    queued = admin.change("announce", None, None, lambda: None, {"text": text}, detail=text)
    return admin.report("announced", queued)


def cmd_promote(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, role = admin.account(args.name)
    if role != P.ROLE_PLAYER:
        raise AdminError(f"{name} is already the {role}" if role == P.ROLE_OWNER
                         else f"{name} is already a moderator")
    queued = admin.change("promote", name, None,
                          lambda: store.set_role(admin.db, uid, P.ROLE_MODERATOR),
                          {"name": name}, detail=P.ROLE_MODERATOR)
    return admin.report(f"{name} is a moderator now", queued)


def cmd_demote(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, role = admin.account(args.name)
    if role == P.ROLE_OWNER:
        raise AdminError(f"{name} is the owner; start the host with --owner NAME to name "
                         f"another owner")
    if role != P.ROLE_MODERATOR:
        raise AdminError(f"{name} is not a moderator")
    queued = admin.change("demote", name, None,
                          lambda: store.set_role(admin.db, uid, P.ROLE_PLAYER),
                          {"name": name}, detail=P.ROLE_PLAYER)
    return admin.report(f"{name} is a player now", queued)


def cmd_delete(admin: Admin, args: argparse.Namespace) -> int:
    uid, name, _role = admin.account(args.name)
    if not args.yes:
        if not sys.stdin.isatty():
            raise AdminError(f"deleting {name} cannot be undone: add --yes to confirm")
        answer = input(f"Delete the account {name} for good? Type its name to confirm: ")
        if answer.strip().lower() != name.lower():
            print("nothing deleted")
            return 1
    cooling = P.RETIRED_NAME_DAYS * 86400.0 if args.retired_name_seconds is None \
        else args.retired_name_seconds
    until = admin.now + cooling

    def write() -> None:
        store.delete_account(admin.db, uid)
        store.retire_name(admin.db, name, until)
    queued = admin.change("delete_account", name, None, write, {"name": name})
    if queued is not None:
        return admin.report(f"deleted {name}; the name cools off for the host's period "
                            f"({P.RETIRED_NAME_DAYS} days unless it was started otherwise)",
                            queued)
    return admin.report(f"deleted {name}; the name is free again {_until_text(until)}", None)


def cmd_reset_password(admin: Admin, args: argparse.Namespace) -> int:
    from .hashing import password_hasher

    uid, name, _role = admin.account(args.name)
    if args.password_file is not None:
        try:
            lines = args.password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AdminError(f"password file {args.password_file} cannot be read "
                             f"({exc.strerror})") from exc
        password = lines[0] if lines else ""
    else:
        password = getpass.getpass(f"New password for {name}: ")
        if getpass.getpass("Again: ") != password:
            raise AdminError("the two passwords differ; nothing changed")
    try:
        P.check_new_account(P.Credentials(name, password))
    except P.ProtocolError as exc:
        raise AdminError(exc.message) from exc
    pw_hash = password_hasher().hash(password)

    running = admin.running()
    with transaction(admin.db):
        admin.db.execute("UPDATE users SET pw_hash = ? WHERE id = ?", [pw_hash, uid])
        admin.db.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? "
                         "AND revoked_at IS NULL", [admin.now, uid])
        store.add_audit(admin.db, ACTOR, "reset_password", name, now=admin.now)
        # The running host ends the account's live connections.
        queued = store.queue_admin(admin.db, "password_reset", {"name": name},
                                   now=admin.now) if running else None
    if queued is not None:
        admin.wake_host()
    return admin.report(f"new password set for {name}; every session of it is logged out",
                        queued)


def cmd_audit(admin: Admin, args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        raise AdminError("--limit must be 1 to 10000")
    entries, more = store.audit_log(admin.db, args.limit)
    if not entries:
        print("the audit log is empty")
        return 0
    for e in entries:
        parts = [_when(e["at"]), e["actor"], e["action"]]
        parts += [e["target"]] if e["target"] else []
        line = " ".join(parts)
        if e["detail"]:
            line += f" ({e['detail']})"
        if e["reason"]:
            line += f": {e['reason']}"
        print(line)
    if more:
        print("(older entries not shown; use --limit)")
    return 0


def cmd_invite(admin: Admin, args: argparse.Namespace) -> int:
    if not P.is_valid_username(args.name):
        raise AdminError(f"{args.name!r} is not a valid account name")
    if store.user_named(admin.db, args.name) is not None:
        raise AdminError(f"{args.name} already has an account in {admin.path}")
    admin.change("invite", args.name, None,
                 lambda: store.invite(admin.db, args.name, ACTOR, admin.now), None)
    print(f"invited {args.name}: that name may register on an --invite-only host")
    return 0


def cmd_uninvite(admin: Admin, args: argparse.Namespace) -> int:
    if not store.invited(admin.db, args.name):
        raise AdminError(f"{args.name} is not on the invite list of {admin.path}")
    admin.change("uninvite", args.name, None, lambda: store.uninvite(admin.db, args.name), None)
    print(f"{args.name} is no longer invited")
    return 0


def cmd_invites(admin: Admin, args: argparse.Namespace) -> int:
    rows = store.invites(admin.db)
    if not rows:
        print("nobody is invited")
    for row in rows:
        print(f"{row['name']:<20} by {row['by']} on {_when(row['at'])}")
    return 0


def cmd_moderators_see_addresses(admin: Admin, args: argparse.Namespace) -> int:
    key = store.SETTING_MODERATORS_SEE_ADDRESSES
    if args.value is None:
        current = store.get_setting(admin.db, key) == "1"
        print(f"moderators see addresses: {'on' if current else 'off'}")
        return 0
    value = "1" if args.value == "on" else "0"
    queued = admin.change("settings", None, None, lambda: store.set_setting(admin.db, key, value),
                          {"changes": {key: value == "1"}}, detail=f"{key}={value}")
    return admin.report(f"moderators see addresses: {args.value}", queued)


def _reason(text: str) -> str:
    try:
        return P.clean_mod_text(text, "reason", P.MOD_REASON_MAX, required=False)
    except P.ProtocolError as exc:
        raise AdminError(exc.message) from exc


def _not_owner(role: str, name: str, action: str) -> None:
    if role == P.ROLE_OWNER:
        past = {"kick": "kicked", "mute": "muted", "ban": "banned"}[action]
        raise AdminError(f"{name} is the world's owner; the owner cannot be {past}")


COMMANDS: dict[str, Callable[[Admin, argparse.Namespace], int]] = {
    "list": cmd_list, "kick": cmd_kick, "mute": cmd_mute, "unmute": cmd_unmute,
    "ban": cmd_ban, "unban": cmd_unban, "announce": cmd_announce, "promote": cmd_promote,
    "demote": cmd_demote, "delete": cmd_delete, "reset-password": cmd_reset_password,
    "audit": cmd_audit, "invite": cmd_invite, "uninvite": cmd_uninvite,
    "invites": cmd_invites, "moderators-see-addresses": cmd_moderators_see_addresses,
}
