"""The one owner of the host's database: a SQLite file, or a PostgreSQL
server that several host processes share (``server.postgres``).

A single writer thread opens the connection and runs every query, so the
connection never crosses threads and the event loop never waits on disk.
Position saves are fire-and-forget and land in one transaction per batch;
calls that need an answer (log in, store a message, read history) wait for
it through ``Runtime.run_blocking`` so only the calling handler waits.

The connection is in autocommit mode, so nothing is a transaction unless it
says so: every write runs inside ``transaction(db)`` (``BEGIN IMMEDIATE`` ...
``COMMIT``, or ``ROLLBACK`` when it fails), and each schema migration commits
its changes and its ``user_version`` together or not at all.

The writer thread never takes a lock of the event loop's (under eventlet the
``logging`` module's locks are green): it logs through
``Runtime.log_from_thread``.  When the disk is full it says so once, keeps the
positions it could not write, tries again every ``FULL_RETRY_S`` and writes
them when there is room again; meanwhile ``Storage.full`` is true and the
host refuses new messages and accounts (``StorageFull``).  It keeps the WAL
small (truncating it after a batch that left it over ``WAL_TRUNCATE_BYTES``,
when idle and at shutdown) and prunes expired and revoked sessions at start-up
and every ``SESSION_PRUNE_INTERVAL_S``.  The database and its WAL and shared
memory files are readable by their owner only.

On PostgreSQL the same functions run with the same SQL (``?`` placeholders,
``ON CONFLICT``, ``RETURNING id``); ids come from the database, so accounts,
sessions, messages and bans made by one host process are everyone's.  When
the server restarts or cannot be reached, the writer thread says so once,
connects again by itself and runs the job again (its transaction was rolled
back), for up to ``busy_timeout_ms`` as SQLite waits on a locked file; the
other jobs wait behind it, positions in memory, and nothing acknowledged is
lost.  Past that, the job fails with ``StorageUnavailable``.
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlite_utils import Database

from game.core.protocol import ROLE_OWNER, ROLE_PLAYER, ROLES, conversation_key

from . import postgres
from .runtime import Runtime

log = logging.getLogger(__name__)

FULL_RETRY_S = 1.0                 # how often a full disk is tried again
IDLE_S = 1.0                       # this long with nothing to do counts as idle
WAL_TRUNCATE_BYTES = 1024 * 1024   # a WAL bigger than this after a write is truncated
SESSION_PRUNE_INTERVAL_S = 3600.0  # how often expired and revoked sessions are deleted
SHUTDOWN_WAIT_S = 5.0              # how long shutdown waits for the last writes
RECONNECT_S = 0.25                 # how often an unreachable PostgreSQL server is tried again
PRIVATE_FILE_MODE = 0o600
SQLITE_FULL = getattr(sqlite3, "SQLITE_FULL", 13)


class NameTaken(Exception):
    """The username (compared without case) belongs to another account."""


class StorageFull(Exception):
    """The disk holding the database has no room for the write."""


class StorageUnavailable(Exception):
    """The PostgreSQL server stayed unreachable for as long as a job may wait."""


# What a failed statement raises, on either engine.
DB_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, postgres.psycopg.Error)
INTEGRITY_ERRORS = (sqlite3.IntegrityError, postgres.psycopg.IntegrityError)


def is_disk_full(exc: BaseException) -> bool:
    if postgres.is_disk_full(exc):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF == SQLITE_FULL


def is_postgres(db: Any) -> bool:
    return isinstance(db, postgres.PgDatabase)


def open_database(target: str | Path, busy_timeout_ms: int = 60_000,
                  application_name: str = "pixel-commons admin") -> Any:
    """A connection of one's own to the world's database (a SQLite file, or a
    PostgreSQL URL), in autocommit mode: ``transaction(db)`` makes transactions.
    Not migrated: see ``migrate``."""
    if postgres.is_url(str(target)):
        return postgres.connect(str(target), application_name=application_name)
    conn = sqlite3.connect(str(target), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    db = Database(conn)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def executemany(db: Any, sql: str, rows: list) -> None:
    if is_postgres(db):
        db.executemany(sql, rows)
    else:
        db.conn.executemany(sql, rows)


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    pw_hash: str


@dataclass(frozen=True)
class SessionRow:
    id: str
    user_id: int
    expires_at: float
    revoked: bool


@dataclass(frozen=True)
class JoinData:
    """What ``Storage.load_join`` reads for a joining player."""
    place: tuple | None  # see load_place
    look: dict | None
    unread: dict[int, int]  # sender id -> unread messages
    missed: list[dict]  # messages after the client's last_dm_id
    newest_dm_id: int
    blocked: list[int]


# The ``messages.pair`` column: the conversation a message belongs to.
pair_key = conversation_key


@contextlib.contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """Run a block of writes as one transaction: all of it or none of it.

    ``BEGIN IMMEDIATE`` takes the write lock first (waiting up to the busy
    timeout for another program), so a block that reads before it writes never
    fails half-way on a lock.  Inside an open transaction it nests as a savepoint,
    as do sqlite-utils' own ``db.atomic()`` blocks (``table.create()`` and the like).
    On PostgreSQL: ``BEGIN`` and the database's write lock (``server.postgres``)."""
    if is_postgres(db):
        with postgres.transaction(db):
            yield db
        return
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:  # some errors (SQLITE_FULL) end it already
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# -- migrations: each upgrades the schema by one version, in order -------------------
def _m1_initial(db: Database) -> None:
    db["users"].create({"id": int, "name": str, "name_key": str, "pw_hash": str,
                        "created_at": float}, pk="id")
    db["users"].create_index(["name_key"], unique=True)
    db["positions"].create({"user_id": int, "x": float, "y": float, "updated_at": float},
                           pk="user_id", foreign_keys=[("user_id", "users", "id")])
    db["sessions"].create({"id": str, "user_id": int, "created_at": float,
                           "expires_at": float, "revoked_at": float}, pk="id",
                          foreign_keys=[("user_id", "users", "id")])
    db["sessions"].create_index(["user_id"])
    db["messages"].create({"id": int, "pair": str, "sender_id": int, "recipient_id": int,
                           "text": str, "sent_at": float}, pk="id",
                          foreign_keys=[("sender_id", "users", "id"),
                                        ("recipient_id", "users", "id")])
    db["messages"].create_index(["pair", "id"])
    db["messages"].create_index(["recipient_id", "id"])
    db["reads"].create({"user_id": int, "peer_id": int, "last_read_id": int},
                       pk=("user_id", "peer_id"))


def _m2_user_look(db: Database) -> None:
    """Each account's chosen look (JSON text; NULL: the look derived from the id)."""
    if "look" not in db["users"].columns_dict:
        db.execute("ALTER TABLE users ADD COLUMN look TEXT")


def _m3_position_map(db: Database) -> None:
    """The map each position is on (its name); NULL, as for every position
    written before worlds had several maps: the start map."""
    if "map" not in db["positions"].columns_dict:
        db.execute("ALTER TABLE positions ADD COLUMN map TEXT")


def _m4_keeping_order(db: Database) -> None:
    """Roles, bans, mutes, blocks, the audit log, the invite list, names of
    deleted accounts cooling off, the admin command queue and host settings."""
    if "role" not in db["users"].columns_dict:
        db.execute("ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'player'")
    db.execute("CREATE TABLE IF NOT EXISTS bans (user_id INTEGER PRIMARY KEY, reason TEXT, "
               "by_id INTEGER, at REAL, until REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS mutes (user_id INTEGER PRIMARY KEY, reason TEXT, "
               "by_id INTEGER, at REAL, until REAL NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS blocks (user_id INTEGER, blocked_id INTEGER, at REAL, "
               "PRIMARY KEY (user_id, blocked_id))")
    db.execute("CREATE INDEX IF NOT EXISTS blocks_blocked ON blocks (blocked_id)")
    db.execute("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "at REAL, actor TEXT, action TEXT, target TEXT, reason TEXT, detail TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS invites (name_key TEXT PRIMARY KEY, name TEXT, "
               "by TEXT, at REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS retired_names (name_key TEXT PRIMARY KEY, until REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS admin_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, "
               "at REAL, action TEXT, args TEXT, done_at REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)")


MIGRATIONS: list[Callable[[Database], None]] = [_m1_initial, _m2_user_look, _m3_position_map,
                                                _m4_keeping_order]
SCHEMA_VERSION = len(MIGRATIONS)  # the newest version this host reads and writes


def user_version(db: Database) -> int:
    if is_postgres(db):
        return postgres.user_version(db)
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _set_user_version(db: Database, version: int) -> None:
    if is_postgres(db):
        postgres.set_user_version(db, version)
    else:
        db.execute(f"PRAGMA user_version = {version}")


def migrations(db: Database) -> list[Callable[[Database], None]]:
    """The engine's migration list: step N of either list yields schema version N."""
    return list(postgres.MIGRATIONS if is_postgres(db) else MIGRATIONS)


def migrate(db: Database, upgraded: Callable[[int], None] = lambda version: None) -> int:
    """Bring the schema up to date; returns the version now in the file.

    Each step and its ``user_version`` commit together: a step that fails
    half-way leaves the file as it was before that step (and the error is
    raised).  ``upgraded(version)`` is called after each committed step."""
    steps = migrations(db)
    if user_version(db) >= len(steps):
        return user_version(db)
    for number, step in enumerate(steps, start=1):
        with transaction(db):
            if user_version(db) >= number:  # read under the write lock
                continue
            step(db)
            _set_user_version(db, number)
        upgraded(number)
    return user_version(db)


# -- keeping order: plain functions on a Database ---------------------------------------
# The host calls them through its writer thread (the ``Storage`` methods of the
# same names); ``host.py admin`` calls them on a connection of its own, beside a
# running host or without one.  Each write is one transaction, and nests as a
# savepoint inside a caller's: an action and its audit row commit together.
# Times are seconds since the epoch.

SETTING_MODERATORS_SEE_ADDRESSES = "moderators_see_addresses"


@dataclass(frozen=True)
class Sanction:
    """A ban or a mute in force: why, by whom (account id; None: the console),
    since when and until when (None: for good; bans only)."""

    user_id: int
    reason: str
    by_id: int | None
    at: float
    until: float | None


def user_named(db: Database, name: str) -> tuple[int, str, str] | None:
    """(id, name as registered, role) of the account called ``name`` (any case)."""
    row = db.execute("SELECT id, name, role FROM users WHERE name_key = ?",
                     [name.lower()]).fetchone()
    return (int(row[0]), row[1], row[2]) if row else None


def name_of(db: Database, user_id: int) -> str | None:
    """The name the account ``user_id`` registered with (None: no such account)."""
    row = db.execute("SELECT name FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row else None


def role_of(db: Database, user_id: int) -> str | None:
    row = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
    return row[0] if row else None


def roles(db: Database) -> dict[int, str]:
    """Every account that is not a plain player: id -> role."""
    return {int(uid): role for uid, role in db.execute(
        "SELECT id, role FROM users WHERE role != ?", [ROLE_PLAYER]).fetchall()}


def set_role(db: Database, user_id: int, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    with transaction(db):
        db.execute("UPDATE users SET role = ? WHERE id = ?", [role, user_id])


def make_owner(db: Database, name: str) -> int | None:
    """Make the account ``name`` the one owner (any other owner becomes a
    player); the account's id, or None when nobody has that name yet."""
    with transaction(db):
        found = user_named(db, name)
        db.execute("UPDATE users SET role = ? WHERE role = ? AND name_key != ?",
                   [ROLE_PLAYER, ROLE_OWNER, name.lower()])
        if found is None:
            return None
        db.execute("UPDATE users SET role = ? WHERE id = ?", [ROLE_OWNER, found[0]])
        return found[0]


def ban(db: Database, user_id: int, reason: str, by_id: int | None, now: float,
        until: float | None) -> None:
    """Ban an account (until None: for good) and revoke every token it holds."""
    with transaction(db):
        db.execute("INSERT INTO bans (user_id, reason, by_id, at, until) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, "
                   "by_id = excluded.by_id, at = excluded.at, until = excluded.until",
                   [user_id, reason, by_id, now, until])
        db.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                   [now, user_id])


def unban(db: Database, user_id: int) -> bool:
    """Lift a ban; False when there was none."""
    with transaction(db):
        return db.execute("DELETE FROM bans WHERE user_id = ?", [user_id]).rowcount > 0


def active_ban(db: Database, user_id: int, now: float) -> Sanction | None:
    row = db.execute("SELECT user_id, reason, by_id, at, until FROM bans WHERE user_id = ? "
                     "AND (until IS NULL OR until > ?)", [user_id, now]).fetchone()
    return Sanction(*row) if row else None


def mute(db: Database, user_id: int, reason: str, by_id: int | None, now: float,
         until: float) -> None:
    with transaction(db):
        db.execute("INSERT INTO mutes (user_id, reason, by_id, at, until) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, "
                   "by_id = excluded.by_id, at = excluded.at, until = excluded.until",
                   [user_id, reason, by_id, now, until])


def unmute(db: Database, user_id: int) -> bool:
    """Lift a mute; False when there was none."""
    with transaction(db):
        return db.execute("DELETE FROM mutes WHERE user_id = ?", [user_id]).rowcount > 0


def active_mute(db: Database, user_id: int, now: float) -> Sanction | None:
    row = db.execute("SELECT user_id, reason, by_id, at, until FROM mutes WHERE user_id = ? "
                     "AND until > ?", [user_id, now]).fetchone()
    return Sanction(*row) if row else None


def add_audit(db: Database, actor: str, action: str, target: str | None = None,
              reason: str | None = None, detail: str | None = None,
              now: float | None = None) -> int:
    """Write one line of the audit log (actor: an account name, or 'console')."""
    with transaction(db):
        row = db.execute("INSERT INTO audit (at, actor, action, target, reason, detail) "
                         "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                         [time.time() if now is None else now, actor, action, target, reason,
                          detail]).fetchall()[0]
    return int(row[0])


def audit_log(db: Database, limit: int = 50, before_id: int | None = None
              ) -> tuple[list[dict], bool]:
    """The newest ``limit`` audit entries older than ``before_id``, newest
    first, and whether older ones remain."""
    sql = ("SELECT id, at, actor, action, target, reason, detail FROM audit" +
           (" WHERE id < ?" if before_id else "") + " ORDER BY id DESC LIMIT ?")
    rows = db.execute(sql, ([before_id] if before_id else []) + [limit + 1]).fetchall()
    keys = ("id", "at", "actor", "action", "target", "reason", "detail")
    return [dict(zip(keys, row)) for row in rows[:limit]], len(rows) > limit


def block(db: Database, user_id: int, blocked_id: int, now: float) -> None:
    with transaction(db):
        db.execute("INSERT INTO blocks (user_id, blocked_id, at) VALUES (?, ?, ?) "
                   "ON CONFLICT DO NOTHING", [user_id, blocked_id, now])


def unblock(db: Database, user_id: int, blocked_id: int) -> bool:
    with transaction(db):
        return db.execute("DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?",
                          [user_id, blocked_id]).rowcount > 0


def blocked_by(db: Database, user_id: int) -> list[int]:
    """Whom ``user_id`` blocks."""
    return [int(r[0]) for r in db.execute(
        "SELECT blocked_id FROM blocks WHERE user_id = ? ORDER BY at", [user_id]).fetchall()]


def blockers_of(db: Database, user_id: int) -> list[int]:
    """Who blocks ``user_id``."""
    return [int(r[0]) for r in db.execute(
        "SELECT user_id FROM blocks WHERE blocked_id = ? ORDER BY at", [user_id]).fetchall()]


def invite(db: Database, name: str, by: str, now: float) -> None:
    with transaction(db):
        db.execute("INSERT INTO invites (name_key, name, by, at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, by = excluded.by, "
                   "at = excluded.at", [name.lower(), name, by, now])


def uninvite(db: Database, name: str) -> bool:
    with transaction(db):
        return db.execute("DELETE FROM invites WHERE name_key = ?",
                          [name.lower()]).rowcount > 0


def invited(db: Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM invites WHERE name_key = ?",
                      [name.lower()]).fetchone() is not None


def invites(db: Database) -> list[dict]:
    return [{"name": r[0], "by": r[1], "at": r[2]} for r in db.execute(
        "SELECT name, by, at FROM invites ORDER BY name_key").fetchall()]


def retire_name(db: Database, name: str, until: float) -> None:
    with transaction(db):
        db.execute("INSERT INTO retired_names (name_key, until) VALUES (?, ?) "
                   "ON CONFLICT (name_key) DO UPDATE SET until = excluded.until",
                   [name.lower(), until])


def name_retired(db: Database, name: str, now: float) -> float | None:
    """Until when the name of a deleted account is cooling off (None: free)."""
    row = db.execute("SELECT until FROM retired_names WHERE name_key = ? AND until > ?",
                     [name.lower(), now]).fetchone()
    return float(row[0]) if row else None


# The settings key of the highest account id deleted (SQLite): never given again.
DELETED_USER_ID_KEY = "highest_deleted_user_id"


def delete_account(db: Database, user_id: int) -> bool:
    """Remove an account: its row, position, sessions, read marks, blocks (both
    ways), ban and mute.  Its messages stay, with its side's id set to NULL:
    the other side's copy has a sender or recipient that is no account (shown
    as "deleted player").  False when there was no such account."""
    with transaction(db):
        for sql in ("DELETE FROM positions WHERE user_id = ?",
                    "DELETE FROM sessions WHERE user_id = ?",
                    "DELETE FROM reads WHERE user_id = ? OR peer_id = ?",
                    "DELETE FROM blocks WHERE user_id = ? OR blocked_id = ?",
                    "DELETE FROM bans WHERE user_id = ?",
                    "DELETE FROM mutes WHERE user_id = ?",
                    "UPDATE messages SET sender_id = NULL WHERE sender_id = ?",
                    "UPDATE messages SET recipient_id = NULL WHERE recipient_id = ?"):
            db.execute(sql, [user_id] * sql.count("?"))
        deleted = db.execute("DELETE FROM users WHERE id = ?", [user_id]).rowcount > 0
        if deleted and not is_postgres(db):
            # SQLite gives the next account the highest id plus one, so the
            # newest account's id would go to the next one registered (with
            # whatever the running host still keeps under it: its joins, its
            # speed budget).  The highest id deleted is kept; see create_user.
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) "
                       "DO UPDATE SET value = excluded.value WHERE "
                       "CAST(excluded.value AS INTEGER) > CAST(settings.value AS INTEGER)",
                       [DELETED_USER_ID_KEY, str(user_id)])
        return deleted


def queue_admin(db: Database, action: str, args: dict, now: float | None = None) -> int:
    """Leave a command for the running host (it applies it within a second)."""
    with transaction(db):
        row = db.execute("INSERT INTO admin_queue (at, action, args) VALUES (?, ?, ?) "
                         "RETURNING id",
                         [time.time() if now is None else now, action, json.dumps(args)]
                         ).fetchall()[0]
    return int(row[0])


def take_admin_queue(db: Database, now: float | None = None) -> list[tuple[int, str, dict]]:
    """The commands not yet applied, oldest first, marked done as they are taken."""
    with transaction(db):
        rows = db.execute("SELECT id, action, args FROM admin_queue WHERE done_at IS NULL "
                          "ORDER BY id").fetchall()
        if rows:
            db.execute("UPDATE admin_queue SET done_at = ? WHERE done_at IS NULL AND id <= ?",
                       [time.time() if now is None else now, rows[-1][0]])
    return [(int(r[0]), r[1], json.loads(r[2] or "{}")) for r in rows]


def admin_queued(db: Database) -> bool:
    """Whether a command waits in the queue (the running host asks often)."""
    return db.execute("SELECT 1 FROM admin_queue WHERE done_at IS NULL LIMIT 1"
                      ).fetchone() is not None


def get_setting(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_setting(db: Database, key: str, value: str) -> None:
    with transaction(db):
        db.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])


def _on_writer(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A ``Storage`` method running ``fn(db, ...)`` on the writer thread."""
    @functools.wraps(fn)
    def method(self: "Storage", *args: Any, **kwargs: Any) -> Any:
        return self.call(lambda db: fn(db, *args, **kwargs))
    return method


class _Job:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn: Callable[[Database], Any], done: Any):
        self.fn = fn
        self.done = done
        self.result: Any = None
        self.error: BaseException | None = None


_STOP = object()


class Storage:
    """Schema, batched position writes, and every read the host needs."""

    def __init__(self, path: str | Path, runtime: Runtime, busy_timeout_ms: int = 60_000,
                 session_prune_interval_s: float = SESSION_PRUNE_INTERVAL_S,
                 full_retry_s: float = FULL_RETRY_S, idle_s: float = IDLE_S,
                 wal_truncate_bytes: int = WAL_TRUNCATE_BYTES,
                 reconnect_s: float = RECONNECT_S):
        """``path``: a SQLite file, or a ``postgresql://`` URL."""
        self.url: str | None = str(path) if postgres.is_url(str(path)) else None
        if self.url is None:
            self.path: Path | None = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _make_private(self.path)
            self._wal_path: Path | None = Path(f"{self.path}-wal")
            self.where = str(self.path)
        else:
            self.path = self._wal_path = None
            self.where = postgres.masked(self.url)
        self._reconnect_s = reconnect_s
        self._pause = runtime.threading.Event()  # never set: a plain wait
        # PostgreSQL only: the server cannot be reached (restarted, say); jobs
        # wait up to busy_timeout_ms for it, as on a locked SQLite file.
        self.unreachable = False
        self.reconnects = 0
        self._runtime = runtime
        self._busy_timeout_ms = busy_timeout_ms
        self._session_prune_interval_s = session_prune_interval_s
        self._full_retry_s = full_retry_s
        self._idle_s = idle_s
        self._wal_truncate_bytes = wal_truncate_bytes
        # Written by the writer thread only; read anywhere.
        self.full = False
        self._full_tried_at = 0.0
        self._pruned_at = 0.0
        self.wal_truncations = 0
        self.sessions_pruned = 0
        self._jobs = runtime.queue.Queue()
        self._lock = runtime.threading.Lock()
        self._pending_positions: dict[int, tuple[float, float, float, str | None]] = {}
        self._position_job_queued = False
        self.positions_written = 0
        ready = runtime.threading.Event()
        self._startup_error: BaseException | None = None
        runtime.start_thread_log()
        self._thread = runtime.start_thread(lambda: self._run(ready), "storage-writer")
        ready.wait()
        if self._startup_error:
            raise self._startup_error
        self._submit(self._prune_sessions, wait=False)

    # -- the writer thread ------------------------------------------------------
    def _connect(self) -> Any:
        """The writer's connection, in autocommit mode: every transaction is
        an explicit ``transaction(db)``."""
        if self.url is not None:
            return postgres.connect(self.url)
        conn = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            db = Database(conn)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"PRAGMA journal_size_limit = {self._wal_truncate_bytes}")
            db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return db

    def _run(self, ready: Any) -> None:
        db = None
        try:
            db = self._connect()
            migrate(db, lambda version: self._log(
                logging.INFO, "database schema upgraded to version %d", version))
        except BaseException as exc:  # reported to the constructor
            if db is not None:
                db.conn.close()
            self._startup_error = exc
            ready.set()
            return
        self._writer_db = db
        ready.set()
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_s)
            except self._runtime.queue.Empty:
                job = None
            if job is _STOP:
                self._finish()
                return
            if job is not None:
                self._do(job)
            db = self._writer_db
            if db is None:
                continue  # PostgreSQL unreachable: the next job tries again
            now = time.monotonic()
            if self.full:
                if now - self._full_tried_at >= self._full_retry_s:
                    self._try_again_when_full(db)
            elif job is None or self._wal_size() > self._wal_truncate_bytes:
                self._truncate_wal(db)
            if now - self._pruned_at >= self._session_prune_interval_s:
                self._run_quietly(self._prune_sessions)

    def _do(self, job: _Job) -> None:
        try:
            job.result = self._attempt(job.fn)
        except BaseException as exc:
            if is_disk_full(exc):
                self._note_full()
                exc = StorageFull(self.where)
            elif not isinstance(exc, (NameTaken, StorageUnavailable)):  # the latter: said once
                self._log(logging.ERROR, "storage job failed", exc_info=exc)
            job.error = exc
        finally:
            if job.done is not None:
                job.done.set()

    def _attempt(self, fn: Callable[[Database], Any]) -> Any:
        """Run ``fn(db)``.  On PostgreSQL, a lost connection (the server
        restarted or unreachable) is opened again and ``fn`` run again (its
        transaction was rolled back), for up to ``busy_timeout_ms``; then
        ``StorageUnavailable``.  Meanwhile the other jobs wait in the queue."""
        deadline = None
        while True:
            db = self._writer_db
            try:
                if db is None:
                    raise StorageUnavailable(self.where)
                return fn(db)
            except BaseException as exc:
                if self.url is None or not (db is None or postgres.connection_lost(exc, db)):
                    raise
                if deadline is None:
                    deadline = time.monotonic() + self._busy_timeout_ms / 1000.0
                self._lost(exc)
                if not self._reconnect(deadline):
                    raise StorageUnavailable(
                        f"the database at {self.where} is unreachable") from exc

    def _lost(self, exc: BaseException) -> None:
        if self._writer_db is not None:
            with contextlib.suppress(Exception):
                self._writer_db.close()
            self._writer_db = None
        if not self.unreachable:
            self.unreachable = True
            self._log(logging.WARNING, "the database at %s is unreachable (%s); writes wait "
                      "and are tried again", self.where, _first_line(exc))

    def _reconnect(self, deadline: float) -> bool:
        """Open the connection again, trying every ``reconnect_s`` until ``deadline``."""
        while True:
            try:
                self._writer_db = postgres.connect(
                    self.url, connect_timeout=max(1.0, deadline - time.monotonic()))
            except postgres.psycopg.Error:
                if time.monotonic() + self._reconnect_s >= deadline:
                    return False
                self._pause.wait(self._reconnect_s)  # an OS thread's wait, under eventlet too
                continue
            self.reconnects += 1
            self.unreachable = False
            self._log(logging.WARNING, "the database at %s is reachable again", self.where)
            return True

    def _run_quietly(self, fn: Callable[[Database], Any]) -> None:
        """Housekeeping: a full disk is noted, another failure logged."""
        try:
            self._attempt(fn)
        except (*DB_ERRORS, StorageUnavailable) as exc:
            if is_disk_full(exc):
                self._note_full()
            else:
                self._log(logging.ERROR, "storage housekeeping failed", exc_info=exc)

    def _log(self, level: int, msg: str, *args: Any, exc_info: BaseException | None = None) -> None:
        self._runtime.log_from_thread(log, level, msg, *args, exc_info=exc_info)

    # -- a full disk ----------------------------------------------------------------
    def _note_full(self) -> None:
        self._full_tried_at = time.monotonic()
        if not self.full:
            self.full = True
            self._log(logging.WARNING,
                      "the disk holding %s is full: new messages and accounts are refused and "
                      "positions are kept in memory until there is room again", self.where)

    def _try_again_when_full(self, db: Database) -> None:
        self._full_tried_at = time.monotonic()
        try:
            if not self._write_pending_positions(db):
                # Nothing waiting: rewrite the header page to learn whether a write fits.
                with transaction(db):
                    _set_user_version(db, user_version(db))
        except DB_ERRORS as exc:
            if not is_disk_full(exc):
                self._log(logging.ERROR, "storage retry failed", exc_info=exc)
            return
        self._note_room(0)
        self._truncate_wal(db)

    def _note_room(self, positions: int) -> None:
        if self.full:
            self.full = False
            self._log(logging.WARNING, "the disk holding %s has room again; wrote %d positions "
                      "kept in memory", self.where, positions)

    # -- housekeeping -----------------------------------------------------------------
    def _wal_size(self) -> int:
        if self._wal_path is None:
            return 0  # PostgreSQL keeps its own
        try:
            return self._wal_path.stat().st_size
        except OSError:
            return 0

    def _truncate_wal(self, db: Database) -> None:
        """Copy the WAL into the database and cut it to nothing, unless a
        reader or another program is in the way, or the database file cannot
        grow (then it waits for next time; writes to the WAL may still fit)."""
        if self._wal_size() == 0:
            return
        conn = db.conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        if not busy:
            self.wal_truncations += 1

    def _prune_sessions(self, db: Database) -> int:
        """Delete sessions that have expired or were logged out."""
        self._pruned_at = time.monotonic()
        with transaction(db):
            cur = db.execute("DELETE FROM sessions WHERE expires_at < ? OR revoked_at IS NOT NULL",
                             [time.time()])
        self.sessions_pruned += cur.rowcount
        return cur.rowcount

    def _finish(self) -> None:
        """The last job: write what is left, truncate the WAL, close."""
        try:
            self._attempt(self._write_pending_positions)
        except (*DB_ERRORS, StorageUnavailable) as exc:
            with self._lock:
                lost = len(self._pending_positions)
            self._log(logging.ERROR, "could not write %d positions at shutdown (%s)", lost,
                      "the disk is full" if is_disk_full(exc) else exc)
        db = self._writer_db
        if db is not None:
            self._truncate_wal(db)
            db.conn.close()

    def _submit(self, fn: Callable[[Database], Any], wait: bool) -> Any:
        if wait and self._runtime.threading.current_thread() is self._thread:
            return fn(self._writer_db)  # a job reading more (see load_join)
        done = self._runtime.threading.Event() if wait else None
        job = _Job(fn, done)
        self._jobs.put(job)
        if not wait:
            return None
        self._runtime.run_blocking(done.wait)
        if job.error is not None:
            raise job.error
        return job.result

    def call(self, fn: Callable[[Database], Any]) -> Any:
        """Run ``fn(db)`` on the writer thread and return what it returns."""
        return self._submit(fn, wait=True)

    def close(self) -> None:
        """Write everything still queued, then close the connection.

        Waits at most ``SHUTDOWN_WAIT_S``: a writer stuck on a locked
        database does not keep the host from stopping."""
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._runtime.run_blocking(self._thread.join, SHUTDOWN_WAIT_S)
            if self._thread.is_alive():
                log.error("the database did not finish writing within %g s; %d positions and "
                          "%d queued jobs not written", SHUTDOWN_WAIT_S,
                          len(self._pending_positions), self._jobs.qsize())
        self._runtime.write_thread_records()

    @property
    def queue_length(self) -> int:
        return self._jobs.qsize()

    # -- positions ----------------------------------------------------------------
    def save_positions(self, positions: Iterable[tuple]) -> None:
        """Queue positions, ``(id, x, y, map)`` or ``(id, x, y)`` (on the
        start map), to be written in one transaction; never waits.

        Several saves queued while the disk is slow merge into one write that
        keeps each player's newest position.
        """
        now = time.time()
        with self._lock:
            for uid, x, y, *on in positions:
                self._pending_positions[uid] = (x, y, now, on[0] if on else None)
            if self._position_job_queued or not self._pending_positions:
                return
            self._position_job_queued = True
        self._submit(self._write_pending_positions, wait=False)

    def _write_pending_positions(self, db: Database) -> int:
        with self._lock:
            batch = self._pending_positions
            self._pending_positions = {}
            self._position_job_queued = False
        if not batch:
            return 0
        rows = [(uid, x, y, at, on, uid) for uid, (x, y, at, on) in batch.items()]
        try:
            with transaction(db):
                # An account deleted while its player was online has no row
                # to keep a position for: skipped, not a failed batch.
                if is_postgres(db):
                    postgres.save_positions(db, rows)
                else:
                    executemany(
                        db, "INSERT INTO positions (user_id, x, y, updated_at, map) "
                        "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?) "
                        "ON CONFLICT(user_id) DO UPDATE SET x = excluded.x, y = excluded.y, "
                        "updated_at = excluded.updated_at, map = excluded.map", rows)
        except BaseException:
            # Keep them for the next save (unless a newer position came in).
            with self._lock:
                for uid, value in batch.items():
                    self._pending_positions.setdefault(uid, value)
            raise
        self.positions_written += len(rows)
        self._note_room(len(rows))
        return len(rows)

    def load_position(self, user_id: int) -> tuple[float, float] | None:
        """Where the player was last saved, on whichever map (see load_place)."""
        place = self.load_place(user_id)
        return (place[1], place[2]) if place else None

    def load_place(self, user_id: int) -> tuple[str | None, float, float] | None:
        """The map (None: the start map) and spot where the player was last
        saved: a position still waiting to be written (the disk full, say)
        counts, being newer than the file's."""
        def read(db: Database):
            with self._lock:
                waiting = self._pending_positions.get(user_id)
            if waiting is not None:
                return waiting[3], waiting[0], waiting[1]
            row = db.execute("SELECT map, x, y FROM positions WHERE user_id = ?",
                             [user_id]).fetchone()
            return (row[0], row[1], row[2]) if row else None
        return self.call(read)

    # -- accounts and sessions ------------------------------------------------------
    def create_user(self, name: str, pw_hash: str, look: dict | None = None,
                    role: str = ROLE_PLAYER, owner_if_first: bool = False) -> int:
        """A new account; with ``owner_if_first`` it is the owner when it is
        the world's first account (decided in the same transaction)."""
        def write(db: Database) -> int:
            try:
                with transaction(db):
                    given = role
                    if owner_if_first and db.execute(
                            "SELECT COUNT(*) FROM users").fetchone()[0] == 0:
                        given = ROLE_OWNER
                    values = [name, name.lower(), pw_hash, time.time(),
                              json.dumps(look) if look is not None else None, given]
                    if is_postgres(db):  # an identity column: ids are never given twice
                        row = db.execute(
                            "INSERT INTO users (name, name_key, pw_hash, created_at, look, "
                            "role) VALUES (?, ?, ?, ?, ?, ?) RETURNING id", values
                        ).fetchall()[0]
                    else:  # above every id there is and every id deleted
                        row = db.execute(
                            "INSERT INTO users (id, name, name_key, pw_hash, created_at, look, "
                            "role) VALUES (max(coalesce((SELECT max(id) FROM users), 0), "
                            "coalesce((SELECT CAST(value AS INTEGER) FROM settings "
                            "WHERE key = ?), 0)) + 1, ?, ?, ?, ?, ?, ?) RETURNING id",
                            [DELETED_USER_ID_KEY, *values]).fetchall()[0]
            except INTEGRITY_ERRORS as exc:
                raise NameTaken(name) from exc
            return int(row[0])
        return self.call(write)

    def find_user(self, name: str) -> UserRow | None:
        def read(db: Database):
            row = db.execute("SELECT id, name, pw_hash FROM users WHERE name_key = ?",
                             [name.lower()]).fetchone()
            return UserRow(*row) if row else None
        return self.call(read)

    def load_join(self, user_id: int, last_dm_id: int | None, missed_max: int) -> JoinData:
        """Everything a joining player's welcome needs from the file, read in
        one trip to the writer thread instead of six."""
        def read(db: Database) -> JoinData:
            missed = ([] if last_dm_id is None
                      else self.messages_for(user_id, last_dm_id, missed_max))
            return JoinData(place=self.load_place(user_id), look=self.load_look(user_id),
                            unread=self.unread_counts(user_id), missed=missed,
                            newest_dm_id=self.newest_message_id_to(user_id),
                            blocked=self.blocked_by(user_id))
        return self.call(read)

    def load_look(self, user_id: int) -> dict | None:
        """The look an account chose (None when it never chose one)."""
        def read(db: Database):
            row = db.execute("SELECT look FROM users WHERE id = ?", [user_id]).fetchone()
            return json.loads(row[0]) if row and row[0] else None
        return self.call(read)

    def save_look(self, user_id: int, look: dict) -> None:
        def write(db: Database):
            with transaction(db):
                db.execute("UPDATE users SET look = ? WHERE id = ?", [json.dumps(look), user_id])
        self.call(write)

    def all_users(self) -> list[tuple[int, str]]:
        return self.call(lambda db: [tuple(r) for r in db.execute(
            "SELECT id, name FROM users ORDER BY id").fetchall()])

    def update_password_hash(self, user_id: int, pw_hash: str) -> None:
        def write(db: Database):
            with transaction(db):
                db.execute("UPDATE users SET pw_hash = ? WHERE id = ?", [pw_hash, user_id])
        self._submit(write, wait=False)

    def create_session(self, session_id: str, user_id: int, ttl_s: float) -> float:
        now = time.time()

        def write(db: Database) -> float:
            with transaction(db):
                db.execute("INSERT INTO sessions (id, user_id, created_at, expires_at) "
                           "VALUES (?, ?, ?, ?)", [session_id, user_id, now, now + ttl_s])
            return now + ttl_s
        return self.call(write)

    def get_session(self, session_id: str) -> SessionRow | None:
        def read(db: Database):
            row = db.execute("SELECT id, user_id, expires_at, revoked_at FROM sessions "
                             "WHERE id = ?", [session_id]).fetchone()
            return SessionRow(row[0], row[1], row[2], row[3] is not None) if row else None
        return self.call(read)

    def revoke_session(self, session_id: str) -> None:
        def write(db: Database):
            with transaction(db):
                db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           [time.time(), session_id])
        self.call(write)

    # -- direct messages ----------------------------------------------------------------
    def add_message(self, sender_id: int, recipient_id: int, text: str) -> tuple[dict, int]:
        """Store a message; returns it and the recipient's unread count from this sender."""
        def write(db: Database):
            now = time.time()
            with transaction(db):
                row = db.execute(
                    "INSERT INTO messages (pair, sender_id, recipient_id, text, sent_at) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    [pair_key(sender_id, recipient_id), sender_id, recipient_id, text, now]
                ).fetchall()[0]
                unread = _unread_from(db, recipient_id, sender_id)
            msg_id = int(row[0])
            return {"id": msg_id, "sender_id": sender_id, "recipient_id": recipient_id,
                    "text": text, "sent_at": now}, unread
        return self.call(write)

    def history(self, a: int, b: int, before_id: int | None, limit: int) -> tuple[list[dict], bool]:
        """Newest ``limit`` messages between a and b older than ``before_id``,
        oldest first, and whether older ones remain."""
        def read(db: Database):
            sql = ("SELECT id, sender_id, recipient_id, text, sent_at FROM messages "
                   "WHERE pair = ?" + (" AND id < ?" if before_id else "") +
                   " ORDER BY id DESC LIMIT ?")
            params: list[Any] = [pair_key(a, b)] + ([before_id] if before_id else []) + [limit + 1]
            rows = db.execute(sql, params).fetchall()
            has_more = len(rows) > limit
            rows = rows[:limit]
            rows.reverse()
            return [_message_dict(r) for r in rows], has_more
        return self.call(read)

    def messages_for(self, user_id: int, after_id: int, limit: int) -> list[dict]:
        """Messages sent to ``user_id`` after ``after_id`` (for a resuming client)."""
        def read(db: Database):
            rows = db.execute(
                "SELECT id, sender_id, recipient_id, text, sent_at FROM messages "
                "WHERE recipient_id = ? AND id > ? ORDER BY id LIMIT ?",
                [user_id, after_id, limit]).fetchall()
            return [_message_dict(r) for r in rows]
        return self.call(read)

    def newest_message_id_to(self, user_id: int) -> int:
        """Id of the newest message sent to ``user_id`` (0 when none): where a
        client starts counting from, so a later resume asks only for what is new."""
        def read(db: Database) -> int:
            row = db.execute("SELECT MAX(id) FROM messages WHERE recipient_id = ?",
                             [user_id]).fetchone()
            return int(row[0] or 0)
        return self.call(read)

    def mark_read(self, user_id: int, peer_id: int, upto_id: int | None = None) -> None:
        """Mark the conversation read up to ``upto_id`` (default: its newest message)."""
        def write(db: Database):
            with transaction(db):
                last = upto_id
                if last is None:
                    row = db.execute("SELECT MAX(id) FROM messages WHERE pair = ?",
                                     [pair_key(user_id, peer_id)]).fetchone()
                    last = row[0] or 0
                db.execute(
                    "INSERT INTO reads (user_id, peer_id, last_read_id) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id, peer_id) DO UPDATE SET last_read_id = CASE "
                    "WHEN excluded.last_read_id > reads.last_read_id "
                    "THEN excluded.last_read_id ELSE reads.last_read_id END",
                    [user_id, peer_id, last])
        self._submit(write, wait=False)

    def unread_counts(self, user_id: int) -> dict[int, int]:
        def read(db: Database):
            rows = db.execute(
                "SELECT m.sender_id, COUNT(*) FROM messages m "
                "LEFT JOIN reads r ON r.user_id = m.recipient_id AND r.peer_id = m.sender_id "
                "WHERE m.recipient_id = ? AND m.id > COALESCE(r.last_read_id, 0) "
                # a deleted account's messages have no sender to count them under
                "AND m.sender_id IS NOT NULL "
                "GROUP BY m.sender_id", [user_id]).fetchall()
            return {int(sender): int(count) for sender, count in rows}
        return self.call(read)

    # -- keeping order (the plain functions above, on the writer thread) ----------------
    user_named = _on_writer(user_named)
    name_of = _on_writer(name_of)
    role_of = _on_writer(role_of)
    roles = _on_writer(roles)
    set_role = _on_writer(set_role)
    make_owner = _on_writer(make_owner)
    ban = _on_writer(ban)
    unban = _on_writer(unban)
    active_ban = _on_writer(active_ban)
    mute = _on_writer(mute)
    unmute = _on_writer(unmute)
    active_mute = _on_writer(active_mute)
    add_audit = _on_writer(add_audit)
    audit_log = _on_writer(audit_log)
    block = _on_writer(block)
    unblock = _on_writer(unblock)
    blocked_by = _on_writer(blocked_by)
    blockers_of = _on_writer(blockers_of)
    invite = _on_writer(invite)
    uninvite = _on_writer(uninvite)
    invited = _on_writer(invited)
    invites = _on_writer(invites)
    retire_name = _on_writer(retire_name)
    name_retired = _on_writer(name_retired)
    delete_account = _on_writer(delete_account)
    queue_admin = _on_writer(queue_admin)
    take_admin_queue = _on_writer(take_admin_queue)
    admin_queued = _on_writer(admin_queued)
    get_setting = _on_writer(get_setting)
    set_setting = _on_writer(set_setting)

    def flush(self) -> None:
        """Wait until everything queued so far is written."""
        self.call(self._write_pending_positions)

    def pending_positions(self) -> int:
        """Players whose newest position is not on disk yet."""
        with self._lock:
            return len(self._pending_positions)


def _make_private(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives its
    WAL and shared-memory files the same mode), and tighten a looser one."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    except OSError:
        return  # the connection reports the problem, naming the file
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    for extra in (f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(extra).st_mode & 0o077:
                os.chmod(extra, PRIVATE_FILE_MODE)
        except OSError:
            pass


def _unread_from(db: Database, user_id: int, peer_id: int) -> int:
    row = db.execute(
        "SELECT COUNT(*) FROM messages m LEFT JOIN reads r "
        "ON r.user_id = m.recipient_id AND r.peer_id = m.sender_id "
        "WHERE m.recipient_id = ? AND m.sender_id = ? AND m.id > COALESCE(r.last_read_id, 0)",
        [user_id, peer_id]).fetchone()
    return int(row[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _message_dict(row: tuple) -> dict:
    return {"id": row[0], "sender_id": row[1], "recipient_id": row[2], "text": row[3],
            "sent_at": row[4]}
