"""Keeping order in the database: the migration that adds roles, bans, mutes,
blocks, the audit log and the rest upgrades an old world and is all or
nothing; the plain functions work on a file the host is not running.  Each
runs on both engines: a SQLite file and a PostgreSQL database."""
from __future__ import annotations

import sqlite3

import pytest

from server import postgres
from server import storage as S
from server.config import is_postgres_url
from server.runtime import Runtime
from server.storage import MIGRATIONS, Storage, migrate

from .conftest import db_query

KEEPING_ORDER = MIGRATIONS.index(S._m4_keeping_order)
NEW_TABLES = {"bans", "mutes", "blocks", "audit", "invites", "retired_names", "admin_queue",
              "settings"}


raw = db_query


def engine_migrations(target) -> tuple[str, list]:
    """The name and list of the migrations the engine of ``target`` runs."""
    if is_postgres_url(str(target)):
        return "server.postgres.MIGRATIONS", postgres.MIGRATIONS
    return "server.storage.MIGRATIONS", MIGRATIONS


def tables(target) -> set[str]:
    sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
           if is_postgres_url(str(target)) else "SELECT name FROM sqlite_master WHERE type='table'")
    return {r[0] for r in raw(target, sql)}


def version(target) -> int:
    db = S.open_database(target)
    try:
        return S.user_version(db)
    finally:
        db.conn.close()


def dump(target):
    """The schema version and everything in the database: schema and rows."""
    if not is_postgres_url(str(target)):
        conn = sqlite3.connect(str(target))
        try:
            return conn.execute("PRAGMA user_version").fetchone()[0], list(conn.iterdump())
        finally:
            conn.close()
    columns = raw(target, "SELECT table_name, column_name, data_type, is_nullable, "
                          "column_default FROM information_schema.columns "
                          "WHERE table_schema = 'public' ORDER BY table_name, column_name")
    indexes = raw(target, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
                          "ORDER BY indexdef")
    rows = {t: sorted(raw(target, f"SELECT * FROM {t}"), key=repr) for t in tables(target)}
    return version(target), columns, indexes, rows


def an_old_world(db_path) -> None:
    """A world written before keeping order: two accounts, a message, a position."""
    old = S.open_database(db_path)
    name, steps = engine_migrations(db_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(name, steps[:KEEPING_ORDER])
        migrate(old)
    old.execute("INSERT INTO users (id, name, name_key, pw_hash, created_at) "
                "VALUES (1, 'Alice', 'alice', 'x', 0), (2, 'bob', 'bob', 'y', 0)")
    old.execute("INSERT INTO positions (user_id, x, y, updated_at) VALUES (1, 10, 20, 0)")
    old.execute("INSERT INTO messages (pair, sender_id, recipient_id, text, sent_at) "
                "VALUES ('1:2', 1, 2, 'hi', 0)")
    old.conn.close()


def test_an_old_world_upgrades_and_keeps_everything(world_db):
    db_path = world_db
    an_old_world(db_path)
    store = Storage(db_path, Runtime("threading"))
    try:
        assert store.role_of(1) == "player" and store.role_of(2) == "player"
        assert store.roles() == {}
        assert store.load_position(1) == (10.0, 20.0)
        assert store.history(1, 2, None, 10)[0][0]["text"] == "hi"
    finally:
        store.close()
    assert NEW_TABLES <= tables(db_path)
    assert version(db_path) == len(MIGRATIONS)


def test_a_keeping_order_step_that_fails_leaves_the_old_world_as_it_was(world_db, monkeypatch):
    db_path = world_db
    an_old_world(db_path)
    before = dump(db_path)
    name, engine_steps = engine_migrations(db_path)

    def broken(db):
        engine_steps[KEEPING_ORDER](db)
        raise RuntimeError("broken half-way")

    steps = [*engine_steps[:KEEPING_ORDER], broken, *engine_steps[KEEPING_ORDER + 1:]]
    monkeypatch.setattr(name, steps)
    with pytest.raises(RuntimeError):
        Storage(db_path, Runtime("threading"))
    assert dump(db_path) == before
    monkeypatch.setattr(name, engine_steps)
    Storage(db_path, Runtime("threading")).close()
    assert raw(db_path, "SELECT role FROM users ORDER BY id") == [("player",), ("player",)]


def test_the_first_account_of_a_new_world_is_the_owner_and_only_it(world_db):
    store = Storage(world_db, Runtime("threading"))
    try:
        first = store.create_user("first", "h", owner_if_first=True)
        second = store.create_user("second", "h", owner_if_first=True)
        assert store.role_of(first) == "owner" and store.role_of(second) == "player"
        # --owner names another account: it becomes the one owner.
        assert store.make_owner("SECOND") == second
        assert store.roles() == {second: "owner"}
        assert store.make_owner("nobody") is None and store.roles() == {}
    finally:
        store.close()


def test_plain_functions_work_beside_a_running_host(world_db):
    """The admin tool's way in: its own connection on the same database."""
    db_path = world_db
    store = Storage(db_path, Runtime("threading"))
    try:
        alice = store.create_user("alice", "h")
        bob = store.create_user("bob", "h")
        store.create_session("tok", bob, 3600)
        store.add_message(alice, bob, "hello")
        cli = S.open_database(db_path)
        S.ban(cli, bob, "spam", None, 100.0, 200.0)
        S.add_audit(cli, "console", "ban", "bob", "spam", now=100.0)
        assert store.active_ban(bob, 150.0).reason == "spam"
        assert store.active_ban(bob, 250.0) is None
        assert store.get_session("tok").revoked
        S.mute(cli, alice, "shouting", bob, 100.0, 160.0)
        assert store.active_mute(alice, 159.0).until == 160.0
        assert store.active_mute(alice, 161.0) is None
        entries, more = store.audit_log(10)
        assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
            ("console", "ban", "bob")] and not more
        qid = S.queue_admin(cli, "kick", {"name": "bob"})
        assert store.take_admin_queue() == [(qid, "kick", {"name": "bob"})]
        assert store.take_admin_queue() == []
        store.block(alice, bob, 1.0)
        assert store.blocked_by(alice) == [bob] and store.blockers_of(bob) == [alice]
        S.invite(cli, "Carol", "console", 1.0)
        assert store.invited("carol") and not store.invited("dave")
        assert store.delete_account(bob)
        assert store.find_user("bob") is None
        assert store.blocked_by(alice) == []
        msgs, _ = store.history(alice, bob, None, 10)
        assert [(m["sender_id"], m["recipient_id"], m["text"]) for m in msgs] == [
            (alice, None, "hello")]
        S.retire_name(cli, "bob", 500.0)
        assert store.name_retired("BOB", 400.0) == 500.0
        assert store.name_retired("bob", 600.0) is None
        cli.conn.close()
    finally:
        store.close()


def test_an_audit_page_goes_back_by_id(world_db):
    store = Storage(world_db, Runtime("threading"))
    try:
        ids = [store.add_audit("owner", "kick", f"p{i}") for i in range(5)]
        page, more = store.audit_log(2)
        assert [e["id"] for e in page] == ids[:-3:-1] and more
        page, more = store.audit_log(10, before_id=ids[2])
        assert [e["id"] for e in page] == [ids[1], ids[0]] and not more
    finally:
        store.close()
