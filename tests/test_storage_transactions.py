"""Transactions in the storage: a migration that fails half-way changes nothing,
a batch of writes lands whole or not at all, and the writer thread reports a
schema upgrade without taking the event loop's logging lock."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server import startup
from server.runtime import Runtime
from server.storage import MIGRATIONS, SCHEMA_VERSION, Storage, transaction

ROOT = Path(__file__).resolve().parent.parent


def raw(db_path, sql, params=()):
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def snapshot(db_path) -> tuple[int, list[str]]:
    """Everything in the file: its schema version, and every table, column,
    index and row (as SQL)."""
    conn = sqlite3.connect(str(db_path))
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0], list(conn.iterdump())
    finally:
        conn.close()


def a_world(db_path) -> None:
    """A file at the current version with accounts, a message, positions and a session."""
    store = Storage(db_path, Runtime("threading"))
    try:
        a = store.create_user("alice", "hash-a")
        b = store.create_user("bob", "hash-b", {"skin": "tan"})
        store.add_message(a, b, "hello")
        store.save_positions([(a, 10.0, 20.0), (b, 30.0, 40.0)])
        store.create_session("token", a, 3600)
        store.flush()
    finally:
        store.close()


def half_way_python(db) -> None:
    db["notes"].create({"id": int, "text": str}, pk="id")
    db["notes"].insert({"id": 1, "text": "half"})
    db.execute("ALTER TABLE users ADD COLUMN mood TEXT")
    db.execute("UPDATE users SET name = 'renamed'")
    db.execute("DELETE FROM positions")
    raise RuntimeError("the step broke half-way")


def half_way_sql(db) -> None:
    db["notes"].create({"id": int, "text": str}, pk="id")
    db.execute("ALTER TABLE users ADD COLUMN mood TEXT")
    db.execute("UPDATE users SET name = 'renamed'")
    db.execute("CREATE INDEX notes_mood ON notes (no_such_column)")


def fixed(db) -> None:
    db["notes"].create({"id": int, "text": str}, pk="id")
    db.execute("ALTER TABLE users ADD COLUMN mood TEXT")


# -- migrations ------------------------------------------------------------------------
def test_the_schema_version_is_the_number_of_migrations(tmp_path):
    assert SCHEMA_VERSION == len(MIGRATIONS)
    assert startup.schema_version() == SCHEMA_VERSION
    Storage(tmp_path / "world.db", Runtime("threading")).close()
    assert raw(tmp_path / "world.db", "PRAGMA user_version") == [(SCHEMA_VERSION,)]


@pytest.mark.parametrize("broken", [half_way_python, half_way_sql], ids=["raises", "bad_sql"])
def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(tmp_path, monkeypatch,
                                                                        broken):
    db_path = tmp_path / "world.db"
    a_world(db_path)
    before = snapshot(db_path)
    assert before[0] == SCHEMA_VERSION and any("INSERT INTO \"users\"" in s for s in before[1])

    monkeypatch.setattr("server.storage.MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises((RuntimeError, sqlite3.OperationalError)):
        Storage(db_path, Runtime("threading"))
    assert snapshot(db_path) == before

    # The next start, with the step fixed, upgrades the file and keeps the world.
    monkeypatch.setattr("server.storage.MIGRATIONS", [*MIGRATIONS, fixed])
    store = Storage(db_path, Runtime("threading"))
    try:
        assert store.find_user("alice") is not None
        assert store.load_position(store.find_user("bob").id) == (30.0, 40.0)
    finally:
        store.close()
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert raw(db_path, "SELECT COUNT(*) FROM notes") == [(0,)]
    assert "mood" in {row[1] for row in raw(db_path, "PRAGMA table_info(users)")}


def test_a_first_migration_that_fails_leaves_an_empty_file(tmp_path, monkeypatch):
    db_path = tmp_path / "world.db"

    def initial_then_broken(db):
        MIGRATIONS[0](db)
        raise RuntimeError("broken")

    monkeypatch.setattr("server.storage.MIGRATIONS", [initial_then_broken, *MIGRATIONS[1:]])
    with pytest.raises(RuntimeError):
        Storage(db_path, Runtime("threading"))
    assert raw(db_path, "SELECT name FROM sqlite_master") == []
    assert raw(db_path, "PRAGMA user_version") == [(0,)]

    monkeypatch.setattr("server.storage.MIGRATIONS", MIGRATIONS)
    Storage(db_path, Runtime("threading")).close()
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_each_migration_commits_on_its_own(tmp_path, monkeypatch):
    """Steps before the broken one stay done; the next start runs only what is left."""
    db_path = tmp_path / "world.db"
    ran = []

    def second(db):
        ran.append("second")
        raise RuntimeError("broken")

    monkeypatch.setattr("server.storage.MIGRATIONS", [MIGRATIONS[0], second])
    with pytest.raises(RuntimeError):
        Storage(db_path, Runtime("threading"))
    assert raw(db_path, "PRAGMA user_version") == [(1,)]
    assert ("users",) in raw(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")

    monkeypatch.setattr("server.storage.MIGRATIONS", MIGRATIONS)
    Storage(db_path, Runtime("threading")).close()
    assert ran == ["second"]
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


# -- batches ---------------------------------------------------------------------------
def test_a_batch_of_positions_is_written_whole_or_not_at_all(tmp_path):
    db_path = tmp_path / "world.db"
    store = Storage(db_path, Runtime("threading"))
    try:
        ids = [store.create_user(f"p{i:03d}", "h") for i in range(200)]
        # The 150th row of the batch fails (as a full disk or a broken row would).
        store.call(lambda db: db.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON positions WHEN NEW.user_id = {ids[149]} "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        store.save_positions((uid, 1.0, 2.0) for uid in ids)
        with pytest.raises(sqlite3.IntegrityError):
            store.flush()
        assert raw(db_path, "SELECT COUNT(*) FROM positions") == [(0,)]
        assert store.pending_positions() == 200  # kept for the next try

        store.call(lambda db: db.execute("DROP TRIGGER refuse"))
        store.flush()
        assert raw(db_path, "SELECT COUNT(*) FROM positions") == [(200,)]
        assert store.pending_positions() == 0
    finally:
        store.close()


def test_a_transaction_rolls_back_everything_and_nests_as_a_savepoint(tmp_path):
    from sqlite_utils import Database

    db = Database(sqlite3.connect(str(tmp_path / "t.db"), isolation_level=None))
    db.execute("CREATE TABLE t (n INTEGER)")
    with pytest.raises(ZeroDivisionError):
        with transaction(db):
            db.execute("INSERT INTO t VALUES (1)")
            db.execute("INSERT INTO t VALUES (2)")
            1 / 0
    assert db.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    assert not db.conn.in_transaction

    with transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ZeroDivisionError):
            with transaction(db):
                db.execute("INSERT INTO t VALUES (2)")
                1 / 0
        db["u"].create({"n": int})  # sqlite-utils' own atomic() nests too
    assert db.execute("SELECT n FROM t").fetchall() == [(1,)]
    assert "u" in db.table_names()
    db.conn.close()


# -- the writer thread logs the upgrade through the event loop ---------------------------
UPGRADE_WITH_LOGGING_LOCKED = """
import sys, warnings
warnings.filterwarnings("ignore")
import eventlet
eventlet.monkey_patch()
import logging
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")
from server.runtime import Runtime
from server.storage import Storage

handler = logging.getLogger().handlers[0]
handler.acquire()  # the event loop is in the middle of logging (a green lock under eventlet)
try:
    store = Storage(sys.argv[1], Runtime("eventlet"))  # a new file: every migration runs
    print("opened", flush=True)
finally:
    handler.release()
store.close()  # writes the records the writer thread handed over
print("closed", flush=True)
"""


def test_the_schema_upgrade_is_logged_without_the_event_loops_logging_lock(tmp_path):
    done = subprocess.run([sys.executable, "-c", UPGRADE_WITH_LOGGING_LOCKED,
                           str(tmp_path / "world.db")],
                          capture_output=True, text=True, timeout=20, cwd=ROOT)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    upgraded = f"INFO database schema upgraded to version {SCHEMA_VERSION}"
    assert out.index("opened") < out.index(upgraded) < out.index("closed"), out
