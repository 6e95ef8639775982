"""PostgreSQL under ``server.storage``: the same storage on a database that
several host processes, on several machines, share.

``server.storage`` writes its SQL once, in the dialect both engines speak
(``?`` placeholders, ``INSERT ... ON CONFLICT``, ``RETURNING id``).
``PgDatabase`` gives a psycopg connection the small face of sqlite-utils'
``Database`` that the storage functions use (``execute``, ``executemany``,
``conn``, ``close``) and turns ``?`` into psycopg's ``%s``.  What differs
lives here: the schema version (a one-row ``schema_version`` table instead
of ``PRAGMA user_version``), the migrations (identity columns, ``BIGINT``
and ``DOUBLE PRECISION`` where SQLite has ``INTEGER`` and ``REAL``; the same
version numbers and the same schema), and telling a lost connection from
a failed statement.

Every write transaction first takes one advisory lock for the whole
database (``pg_advisory_xact_lock``), as SQLite's ``BEGIN IMMEDIATE`` takes
the file's write lock: a transaction that reads and then writes (the first
account becomes the owner, a migration step, taking the admin queue) never
races the same transaction in another host process.
"""
from __future__ import annotations

import contextlib
import functools
import re
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import errors as pg_errors

from .config import is_postgres_url as is_url  # noqa: F401  (the one test of --db)

APPLICATION_NAME = "pixel-commons host"  # how a running host shows in pg_stat_activity
CONNECT_TIMEOUT_S = 5
# A server that vanishes without closing the connection (a network cut, a
# machine gone) is noticed within seconds, not when TCP gives up.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
             "keepalives_count": 3, "tcp_user_timeout": 10_000}
# The advisory lock every write transaction takes first ("PCWRITE").
WRITE_LOCK_KEY = 0x5043_5752_4954_45


def masked(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``, for logs and errors."""
    return re.sub(r"^([a-z]+://[^:/@]*:)[^@/]*@", r"\1***@", url, flags=re.IGNORECASE)


def database_name(url: str) -> str:
    """The database a URL names (``postgres`` when it names none)."""
    path = urlsplit(url).path.lstrip("/")
    return unquote(path) or "postgres"


def url_problem(url: str) -> str | None:
    """What is wrong with the form of a PostgreSQL URL (None: nothing)."""
    try:
        urlsplit(url).port  # raises ValueError when it is not a number in range
        psycopg.conninfo.conninfo_to_dict(url)
    except (ValueError, psycopg.Error) as exc:
        password = urlsplit(url).password
        text = " ".join(str(exc).split())
        return text.replace(password, "***") if password else text
    return None


@functools.lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgDatabase:
    """A psycopg connection (autocommit) with the face of sqlite-utils' Database."""

    engine = "postgresql"

    def __init__(self, conn: psycopg.Connection, url: str):
        self.conn = conn
        self.url = url

    def execute(self, sql: str, params: Iterable[Any] | None = None) -> psycopg.Cursor:
        return self.conn.execute(translate(sql), list(params) if params is not None else None)

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> psycopg.Cursor:
        cur = self.conn.cursor()
        cur.executemany(translate(sql), [list(r) for r in rows])
        return cur

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.conn.close()


def connect(url: str, application_name: str = APPLICATION_NAME,
            connect_timeout: float = CONNECT_TIMEOUT_S) -> PgDatabase:
    """A connection in autocommit mode: nothing is a transaction unless
    ``transaction(db)`` makes it one."""
    conn = psycopg.connect(url, autocommit=True, application_name=application_name,
                           connect_timeout=max(1, round(connect_timeout)), **KEEPALIVE)
    return PgDatabase(conn, url)


@contextlib.contextmanager
def transaction(db: PgDatabase) -> Iterator[PgDatabase]:
    """``BEGIN`` ... ``COMMIT`` (or ``ROLLBACK``), nesting as a savepoint."""
    outermost = not db.in_transaction
    with db.conn.transaction():
        if outermost:
            db.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])
        yield db


def connection_lost(exc: BaseException, db: PgDatabase | None) -> bool:
    """Whether ``exc`` means the server went away (restarted, unreachable),
    rather than that a statement failed."""
    if not isinstance(exc, psycopg.Error):
        return False
    if db is not None and (db.conn.closed or db.conn.broken):
        return True
    return isinstance(exc, (pg_errors.AdminShutdown, pg_errors.CrashShutdown,
                            pg_errors.CannotConnectNow, pg_errors.ConnectionException,
                            psycopg.OperationalError)) and not isinstance(
        exc, (pg_errors.DiskFull, pg_errors.QueryCanceled, pg_errors.LockNotAvailable))


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, pg_errors.DiskFull)


# -- the schema version ------------------------------------------------------------------
def user_version(db: PgDatabase) -> int:
    """The schema version (0: an empty database), the ``PRAGMA user_version``
    of a SQLite file."""
    row = db.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def set_user_version(db: PgDatabase, version: int) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    if db.execute("UPDATE schema_version SET version = ?", [version]).rowcount == 0:
        db.execute("INSERT INTO schema_version (version) VALUES (?)", [version])


# -- migrations: the same versions and schema as server.storage.MIGRATIONS --------------
# Times are DOUBLE PRECISION (SQLite's REAL is 8 bytes; PostgreSQL's is 4).
ID = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
TIME = "DOUBLE PRECISION"


def _m1_initial(db: PgDatabase) -> None:
    for sql in (
            "CREATE TABLE IF NOT EXISTS users (id %s, name TEXT, name_key TEXT, pw_hash TEXT, "
            "created_at %s)" % (ID, TIME),
            "CREATE UNIQUE INDEX IF NOT EXISTS idx_users_name_key ON users (name_key)",
            "CREATE TABLE IF NOT EXISTS positions (user_id BIGINT PRIMARY KEY REFERENCES "
            "users (id), x %s, y %s, updated_at %s)" % (TIME, TIME, TIME),
            "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, user_id BIGINT "
            "REFERENCES users (id), created_at %s, expires_at %s, revoked_at %s)"
            % (TIME, TIME, TIME),
            "CREATE INDEX IF NOT EXISTS idx_sessions_user_id ON sessions (user_id)",
            "CREATE TABLE IF NOT EXISTS messages (id %s, pair TEXT, sender_id BIGINT "
            "REFERENCES users (id), recipient_id BIGINT REFERENCES users (id), text TEXT, "
            "sent_at %s)" % (ID, TIME),
            "CREATE INDEX IF NOT EXISTS idx_messages_pair_id ON messages (pair, id)",
            "CREATE INDEX IF NOT EXISTS idx_messages_recipient_id_id ON messages "
            "(recipient_id, id)",
            "CREATE TABLE IF NOT EXISTS reads (user_id BIGINT, peer_id BIGINT, "
            "last_read_id BIGINT, PRIMARY KEY (user_id, peer_id))"):
        db.execute(sql)


def _m2_user_look(db: PgDatabase) -> None:
    db.execute("ALTER TABLE users ADD COLUMN IF NOT EXISTS look TEXT")


def _m3_position_map(db: PgDatabase) -> None:
    db.execute("ALTER TABLE positions ADD COLUMN IF NOT EXISTS map TEXT")


def _m4_keeping_order(db: PgDatabase) -> None:
    for sql in (
            "ALTER TABLE users ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'player'",
            "CREATE TABLE IF NOT EXISTS bans (user_id BIGINT PRIMARY KEY, reason TEXT, "
            "by_id BIGINT, at %s, until %s)" % (TIME, TIME),
            "CREATE TABLE IF NOT EXISTS mutes (user_id BIGINT PRIMARY KEY, reason TEXT, "
            "by_id BIGINT, at %s, until %s NOT NULL)" % (TIME, TIME),
            "CREATE TABLE IF NOT EXISTS blocks (user_id BIGINT, blocked_id BIGINT, at %s, "
            "PRIMARY KEY (user_id, blocked_id))" % TIME,
            "CREATE INDEX IF NOT EXISTS blocks_blocked ON blocks (blocked_id)",
            "CREATE TABLE IF NOT EXISTS audit (id %s, at %s, actor TEXT, action TEXT, "
            "target TEXT, reason TEXT, detail TEXT)" % (ID, TIME),
            "CREATE TABLE IF NOT EXISTS invites (name_key TEXT PRIMARY KEY, name TEXT, "
            "by TEXT, at %s)" % TIME,
            "CREATE TABLE IF NOT EXISTS retired_names (name_key TEXT PRIMARY KEY, until %s)"
            % TIME,
            "CREATE TABLE IF NOT EXISTS admin_queue (id %s, at %s, action TEXT, args TEXT, "
            "done_at %s)" % (ID, TIME, TIME),
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)"):
        db.execute(sql)


MIGRATIONS: list[Callable[[PgDatabase], None]] = [_m1_initial, _m2_user_look, _m3_position_map,
                                                  _m4_keeping_order]


def save_positions(db: PgDatabase, rows: list[tuple]) -> None:
    """``Storage``'s batch of positions, ``(user_id, x, y, at, map, user_id)``
    rows, in one statement (one trip to the server instead of one a row):
    the same upsert, skipping accounts that are gone, as SQLite's."""
    columns = [[int(r[0]) for r in rows], [float(r[1]) for r in rows],
               [float(r[2]) for r in rows], [float(r[3]) for r in rows], [r[4] for r in rows]]
    db.conn.execute(
        "INSERT INTO positions (user_id, x, y, updated_at, map) "
        "SELECT b.user_id, b.x, b.y, b.at, b.map FROM unnest(%s::bigint[], "
        "%s::float8[], %s::float8[], %s::float8[], %s::text[]) AS b (user_id, x, y, at, map) "
        "WHERE EXISTS (SELECT 1 FROM users WHERE id = b.user_id) "
        "ON CONFLICT (user_id) DO UPDATE SET x = excluded.x, y = excluded.y, "
        "updated_at = excluded.updated_at, map = excluded.map",
        columns)


def host_running(db: PgDatabase) -> bool:
    """Whether a host is connected to this database now (``host.py admin``
    asks; a host's connections carry ``APPLICATION_NAME``)."""
    row = db.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND application_name = ? AND pid != pg_backend_pid()",
                     [APPLICATION_NAME]).fetchone()
    return int(row[0]) > 0
