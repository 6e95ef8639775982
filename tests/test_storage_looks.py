"""The look column: added to older files by migration 2, read and written."""
from __future__ import annotations

import json
import sqlite3

from server.runtime import Runtime
from server.storage import MIGRATIONS, Storage

LOOK = {"skin": "tan", "hair": "bun", "hair_colour": "auburn", "shirt": "teal",
        "trousers": "navy", "shoes": "white"}


def raw(db_path, sql, params=()):
    conn = sqlite3.connect(str(db_path))
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_a_version_1_file_gets_the_look_column_and_keeps_its_accounts(tmp_path, monkeypatch):
    path = tmp_path / "world.db"
    monkeypatch.setattr("server.storage.MIGRATIONS", MIGRATIONS[:1])
    Storage(path, Runtime("threading")).close()
    # An account made by the version without looks.
    raw(path, "INSERT INTO users (name, name_key, pw_hash, created_at) VALUES "
              "('alice', 'alice', 'h', 0)")
    uid = raw(path, "SELECT id FROM users WHERE name = 'alice'")[0][0]
    assert raw(path, "PRAGMA user_version") == [(1,)]
    monkeypatch.setattr("server.storage.MIGRATIONS", MIGRATIONS)
    store = Storage(path, Runtime("threading"))
    try:
        assert raw(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
        assert store.find_user("alice").id == uid
        assert store.load_look(uid) is None  # never chose: the host derives one from the id
        store.save_look(uid, LOOK)
        assert store.load_look(uid) == LOOK
        assert json.loads(raw(path, "SELECT look FROM users WHERE id = ?", (uid,))[0][0]) == LOOK
    finally:
        store.close()


def test_an_account_is_created_with_its_look(tmp_path):
    store = Storage(tmp_path / "world.db", Runtime("threading"))
    try:
        uid = store.create_user("bob", "h", LOOK)
        plain = store.create_user("carol", "h")
        assert store.load_look(uid) == LOOK
        assert store.load_look(plain) is None
    finally:
        store.close()


def test_the_migration_can_run_again_after_a_crash_between_its_two_steps(tmp_path):
    """The column was added but the version not yet written: opening again works."""
    path = tmp_path / "world.db"
    Storage(path, Runtime("threading")).close()
    raw(path, "PRAGMA user_version = 1")
    store = Storage(path, Runtime("threading"))
    store.close()
    assert raw(path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
