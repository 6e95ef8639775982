"""The one owner of the host's SQLite database.

A single writer thread opens the connection and runs every query, so the
connection never crosses threads and the event loop never waits on disk.
Position saves are fire-and-forget and land in one transaction per batch;
calls that need an answer (log in, store a message, read history) wait for
it through ``Runtime.run_blocking`` so only the calling handler waits.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlite_utils import Database

from .runtime import Runtime

log = logging.getLogger(__name__)


class NameTaken(Exception):
    """The username (compared without case) belongs to another account."""


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


def pair_key(a: int, b: int) -> str:
    """The conversation between two players, whoever sends."""
    lo, hi = sorted((a, b))
    return f"{lo}:{hi}"


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


MIGRATIONS: list[Callable[[Database], None]] = [_m1_initial, _m2_user_look]


def migrate(db: Database) -> int:
    """Bring the schema up to date; returns the version now in the file."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        with db.conn:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
        log.info("database schema upgraded to version %d", number)
        version = number
    return version


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

    def __init__(self, path: str | Path, runtime: Runtime, busy_timeout_ms: int = 60_000):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._runtime = runtime
        self._busy_timeout_ms = busy_timeout_ms
        self._jobs = runtime.queue.Queue()
        self._lock = runtime.threading.Lock()
        self._pending_positions: dict[int, tuple[float, float, float]] = {}
        self._position_job_queued = False
        self.positions_written = 0
        ready = runtime.threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = runtime.start_thread(lambda: self._run(ready), "storage-writer")
        ready.wait()
        if self._startup_error:
            raise self._startup_error

    # -- the writer thread ------------------------------------------------------
    def _run(self, ready: Any) -> None:
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            db = Database(conn)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db)
        except BaseException as exc:  # reported to the constructor
            self._startup_error = exc
            ready.set()
            return
        ready.set()
        while True:
            job = self._jobs.get()
            if job is _STOP:
                self._write_pending_positions(db)
                conn.close()
                return
            try:
                job.result = job.fn(db)
            except BaseException as exc:
                job.error = exc
                if not isinstance(exc, NameTaken):
                    log.exception("storage job failed")
            finally:
                if job.done is not None:
                    job.done.set()

    def _submit(self, fn: Callable[[Database], Any], wait: bool) -> Any:
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
        """Write everything still queued, then close the connection."""
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._runtime.run_blocking(self._thread.join, 30)

    @property
    def queue_length(self) -> int:
        return self._jobs.qsize()

    # -- positions ----------------------------------------------------------------
    def save_positions(self, positions: Iterable[tuple[int, float, float]]) -> None:
        """Queue positions to be written in one transaction; never waits.

        Several saves queued while the disk is slow merge into one write that
        keeps each player's newest position.
        """
        now = time.time()
        with self._lock:
            for uid, x, y in positions:
                self._pending_positions[uid] = (x, y, now)
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
        rows = [(uid, x, y, at) for uid, (x, y, at) in batch.items()]
        try:
            with db.conn:
                db.conn.executemany(
                    "INSERT INTO positions (user_id, x, y, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(user_id) DO UPDATE SET x = excluded.x, y = excluded.y, "
                    "updated_at = excluded.updated_at", rows)
        except sqlite3.Error:
            # Keep them for the next save (unless a newer position came in).
            with self._lock:
                for uid, value in batch.items():
                    self._pending_positions.setdefault(uid, value)
            raise
        self.positions_written += len(rows)
        return len(rows)

    def load_position(self, user_id: int) -> tuple[float, float] | None:
        def read(db: Database):
            row = db.execute("SELECT x, y FROM positions WHERE user_id = ?", [user_id]).fetchone()
            return (row[0], row[1]) if row else None
        return self.call(read)

    # -- accounts and sessions ------------------------------------------------------
    def create_user(self, name: str, pw_hash: str, look: dict | None = None) -> int:
        def write(db: Database) -> int:
            try:
                with db.conn:
                    cur = db.execute(
                        "INSERT INTO users (name, name_key, pw_hash, created_at, look) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [name, name.lower(), pw_hash, time.time(),
                         json.dumps(look) if look is not None else None])
            except sqlite3.IntegrityError as exc:
                raise NameTaken(name) from exc
            return int(cur.lastrowid)
        return self.call(write)

    def find_user(self, name: str) -> UserRow | None:
        def read(db: Database):
            row = db.execute("SELECT id, name, pw_hash FROM users WHERE name_key = ?",
                             [name.lower()]).fetchone()
            return UserRow(*row) if row else None
        return self.call(read)

    def load_look(self, user_id: int) -> dict | None:
        """The look an account chose (None when it never chose one)."""
        def read(db: Database):
            row = db.execute("SELECT look FROM users WHERE id = ?", [user_id]).fetchone()
            return json.loads(row[0]) if row and row[0] else None
        return self.call(read)

    def save_look(self, user_id: int, look: dict) -> None:
        def write(db: Database):
            with db.conn:
                db.execute("UPDATE users SET look = ? WHERE id = ?", [json.dumps(look), user_id])
        self.call(write)

    def all_users(self) -> list[tuple[int, str]]:
        return self.call(lambda db: [tuple(r) for r in db.execute(
            "SELECT id, name FROM users ORDER BY id").fetchall()])

    def update_password_hash(self, user_id: int, pw_hash: str) -> None:
        def write(db: Database):
            with db.conn:
                db.execute("UPDATE users SET pw_hash = ? WHERE id = ?", [pw_hash, user_id])
        self._submit(write, wait=False)

    def create_session(self, session_id: str, user_id: int, ttl_s: float) -> float:
        now = time.time()

        def write(db: Database) -> float:
            with db.conn:
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
            with db.conn:
                db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           [time.time(), session_id])
        self.call(write)

    # -- direct messages ----------------------------------------------------------------
    def add_message(self, sender_id: int, recipient_id: int, text: str) -> tuple[dict, int]:
        """Store a message; returns it and the recipient's unread count from this sender."""
        def write(db: Database):
            now = time.time()
            with db.conn:
                cur = db.execute(
                    "INSERT INTO messages (pair, sender_id, recipient_id, text, sent_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [pair_key(sender_id, recipient_id), sender_id, recipient_id, text, now])
            msg_id = int(cur.lastrowid)
            unread = _unread_from(db, recipient_id, sender_id)
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
            last = upto_id
            if last is None:
                row = db.execute("SELECT MAX(id) FROM messages WHERE pair = ?",
                                 [pair_key(user_id, peer_id)]).fetchone()
                last = row[0] or 0
            with db.conn:
                db.execute(
                    "INSERT INTO reads (user_id, peer_id, last_read_id) VALUES (?, ?, ?) "
                    "ON CONFLICT(user_id, peer_id) DO UPDATE SET "
                    "last_read_id = MAX(last_read_id, excluded.last_read_id)",
                    [user_id, peer_id, last])
        self._submit(write, wait=False)

    def unread_counts(self, user_id: int) -> dict[int, int]:
        def read(db: Database):
            rows = db.execute(
                "SELECT m.sender_id, COUNT(*) FROM messages m "
                "LEFT JOIN reads r ON r.user_id = m.recipient_id AND r.peer_id = m.sender_id "
                "WHERE m.recipient_id = ? AND m.id > COALESCE(r.last_read_id, 0) "
                "GROUP BY m.sender_id", [user_id]).fetchall()
            return {int(sender): int(count) for sender, count in rows}
        return self.call(read)

    def flush(self) -> None:
        """Wait until everything queued so far is written."""
        self.call(self._write_pending_positions)


def _unread_from(db: Database, user_id: int, peer_id: int) -> int:
    row = db.execute(
        "SELECT COUNT(*) FROM messages m LEFT JOIN reads r "
        "ON r.user_id = m.recipient_id AND r.peer_id = m.sender_id "
        "WHERE m.recipient_id = ? AND m.sender_id = ? AND m.id > COALESCE(r.last_read_id, 0)",
        [user_id, peer_id]).fetchone()
    return int(row[0])


def _message_dict(row: tuple) -> dict:
    return {"id": row[0], "sender_id": row[1], "recipient_id": row[2], "text": row[3],
            "sent_at": row[4]}
