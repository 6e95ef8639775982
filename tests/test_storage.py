"""The storage module on a real SQLite file: schema, positions, sessions,
messages; accounts, positions and messages on a PostgreSQL database too."""
from __future__ import annotations

import time

import pytest

from server.runtime import Runtime
from server.storage import MIGRATIONS, NameTaken, Storage, pair_key

from .conftest import db_query


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "world.db"


@pytest.fixture
def store(world_db):
    storage = Storage(world_db, Runtime("threading"))
    yield storage
    storage.close()


def users(store, *names):
    return [store.create_user(name, "hash-" + name) for name in names]


def raw(db_path, sql, params=()):
    return db_query(db_path, sql, params)


# -- schema --------------------------------------------------------------------------
def test_first_open_creates_the_file_and_the_schema(db_path):
    Storage(db_path, Runtime("threading")).close()
    assert db_path.exists()
    assert raw(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    tables = {r[0] for r in raw(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "positions", "sessions", "messages", "reads"} <= tables
    assert raw(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_reopening_keeps_data_and_does_not_migrate_again(db_path):
    first = Storage(db_path, Runtime("threading"))
    uid, = users(first, "alice")
    first.close()
    second = Storage(db_path, Runtime("threading"))
    try:
        assert second.find_user("alice").id == uid
        assert raw(db_path, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    finally:
        second.close()


def test_an_older_file_is_upgraded(db_path, monkeypatch):
    """A file made by an older version gets the newer migrations on open."""
    added = []

    def m_next(db):
        db["notes"].create({"id": int, "text": str}, pk="id")
        added.append(True)

    Storage(db_path, Runtime("threading")).close()
    monkeypatch.setattr("server.storage.MIGRATIONS", [*MIGRATIONS, m_next])
    store = Storage(db_path, Runtime("threading"))
    store.close()
    assert added == [True]
    assert raw(db_path, "PRAGMA user_version") == [(len(MIGRATIONS) + 1,)]
    assert raw(db_path, "SELECT COUNT(*) FROM notes") == [(0,)]


# -- accounts and sessions -------------------------------------------------------------
def test_names_are_unique_regardless_of_case(store):
    uid, = users(store, "Alice")
    with pytest.raises(NameTaken):
        store.create_user("aLICE", "other")
    found = store.find_user("ALICE")
    assert (found.id, found.name, found.pw_hash) == (uid, "Alice", "hash-Alice")
    assert store.find_user("bob") is None
    assert store.all_users() == [(uid, "Alice")]


def test_sessions_can_be_looked_up_and_revoked(store):
    uid, = users(store, "alice")
    expires = store.create_session("s1", uid, 60)
    assert expires == pytest.approx(time.time() + 60, abs=5)
    row = store.get_session("s1")
    assert (row.user_id, row.revoked) == (uid, False)
    store.revoke_session("s1")
    assert store.get_session("s1").revoked
    assert store.get_session("nope") is None


# -- positions ---------------------------------------------------------------------------
def test_positions_are_written_in_batches_keeping_the_newest(store, world_db):
    db_path = world_db
    a, b = users(store, "alice", "bob")
    store.save_positions([(a, 10.0, 20.0)])
    store.save_positions([(a, 11.0, 21.0), (b, 30.0, 40.0)])
    store.flush()
    assert store.load_position(a) == (11.0, 21.0)
    assert store.load_position(b) == (30.0, 40.0)
    assert raw(db_path, "SELECT COUNT(*) FROM positions") == [(2,)]
    store.save_positions([(a, 12.0, 22.0)])
    store.flush()
    assert store.load_position(a) == (12.0, 22.0)
    assert raw(db_path, "SELECT COUNT(*) FROM positions") == [(2,)]


def test_close_writes_positions_still_queued(world_db):
    db_path = world_db
    store = Storage(db_path, Runtime("threading"))
    uid, = users(store, "alice")
    store.save_positions([(uid, 50.0, 60.0)])
    store.close()
    assert raw(db_path, "SELECT x, y FROM positions WHERE user_id = ?", (uid,)) == [(50.0, 60.0)]


def test_unknown_player_has_no_position(store):
    assert store.load_position(999) is None


# -- direct messages ---------------------------------------------------------------------
def test_pair_key_is_the_same_whoever_sends():
    assert pair_key(3, 7) == pair_key(7, 3) == "3:7"


def test_history_holds_only_that_pair(store):
    a, b, c = users(store, "alice", "bob", "carol")
    store.add_message(a, b, "a to b")
    store.add_message(b, a, "b to a")
    store.add_message(a, c, "a to c")
    store.add_message(c, b, "c to b")
    texts, more = store.history(a, b, None, 50)
    assert [m["text"] for m in texts] == ["a to b", "b to a"]
    assert not more
    assert store.history(b, a, None, 50)[0] == texts
    assert [m["text"] for m in store.history(b, c, None, 50)[0]] == ["c to b"]


def test_history_pages_backwards_oldest_first(store):
    a, b = users(store, "alice", "bob")
    ids = [store.add_message(a, b, f"m{i}")[0]["id"] for i in range(7)]
    page, more = store.history(a, b, None, 3)
    assert [m["id"] for m in page] == ids[4:] and more
    page, more = store.history(a, b, page[0]["id"], 3)
    assert [m["id"] for m in page] == ids[1:4] and more
    page, more = store.history(a, b, page[0]["id"], 3)
    assert [m["id"] for m in page] == ids[:1] and not more
    assert store.history(a, b, ids[0], 3) == ([], False)


def test_unread_counts_per_sender_until_read(store):
    a, b, c = users(store, "alice", "bob", "carol")
    assert store.add_message(a, b, "1")[1] == 1
    assert store.add_message(a, b, "2")[1] == 2
    last, unread = store.add_message(c, b, "3")
    assert unread == 1
    store.add_message(b, a, "reply")
    assert store.unread_counts(b) == {a: 2, c: 1}
    assert store.unread_counts(a) == {b: 1}
    store.mark_read(b, a)
    assert store.unread_counts(b) == {c: 1}
    store.mark_read(b, c, upto_id=last["id"] - 1)  # older than carol's message
    assert store.unread_counts(b) == {c: 1}
    store.mark_read(b, c, upto_id=last["id"])
    assert store.unread_counts(b) == {}
    # Marking read never moves backwards.
    store.mark_read(b, a, upto_id=1)
    assert store.unread_counts(b) == {}
    assert store.add_message(a, b, "4")[1] == 1


def test_messages_for_a_resuming_player(store):
    a, b = users(store, "alice", "bob")
    first = store.add_message(a, b, "one")[0]
    store.add_message(b, a, "not for bob")
    third = store.add_message(a, b, "three")[0]
    got = store.messages_for(b, first["id"], 10)
    assert [m["id"] for m in got] == [third["id"]]
    assert got[0]["sender_id"] == a and got[0]["recipient_id"] == b
    assert [m["text"] for m in store.messages_for(b, 0, 10)] == ["one", "three"]
