"""The world on a PostgreSQL server (``--db postgresql://...``): shared by
several hosts, surviving a restart of the server, refusing a bad URL in one
line, and played end to end by a real host in both async modes."""
from __future__ import annotations

import logging
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from game.client.host_process import HostProcess
from game.core import protocol as P
from server import postgres
from server.runtime import Runtime
from server.storage import Storage, StorageUnavailable

from .conftest import ASYNC_MODES, db_query, wait_until
from .helpers_wire import PASSWORD, RawClient, Walker, register
from .support import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """The user data folder of the hosts this test starts (where a world on
    PostgreSQL keeps its session key, DBNAME.key)."""
    home = tmp_path / "data-home"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def host_on(url: str, tmp_path: Path, mode: str, name: str = "host") -> HostProcess:
    return HostProcess(url, async_mode=mode, log_path=tmp_path / f"{name}-{mode}.log",
                       log_level="INFO")


def start_refusal(*args: str) -> tuple[int, str]:
    """Run host.py with ``args``, expecting it not to start: (status, stderr)."""
    done = subprocess.run([sys.executable, "host.py", "--port", str(free_port()), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


def test_the_host_config_carries_a_url_and_keeps_the_key_in_the_data_folder(data_home):
    from server.config import HostConfig, default_data_dir

    config = HostConfig(db_path="postgresql://pixel:s3cret@db.example.org:5433/pixel_world")
    assert config.db_path is None and config.database == config.db_url
    assert config.database_label == "postgresql://pixel:***@db.example.org:5433/pixel_world"
    assert config.secret_path == default_data_dir() / "pixel_world.key"
    assert str(default_data_dir()).startswith(str(data_home))
    odd = HostConfig(db_path="postgresql://h/..%2Fworld")
    assert odd.secret_path.parent == default_data_dir() and "/" not in odd.secret_path.name
    plain = HostConfig(db_path=data_home / "world.db")
    assert plain.db_url is None and plain.secret_path == data_home / "world.db.key"


# -- the storage itself, shared by several processes --------------------------------------
def test_two_hosts_share_ids_sessions_bans_and_the_admin_queue(postgres_url):
    """Two Storage objects on one database, as two host processes would be."""
    one, two = Storage(postgres_url, Runtime("threading")), Storage(postgres_url,
                                                                     Runtime("threading"))
    try:
        ids = [one.create_user("a1", "h", owner_if_first=True),
               two.create_user("b1", "h", owner_if_first=True),
               one.create_user("a2", "h"), two.create_user("b2", "h")]
        assert len(set(ids)) == 4 and ids == sorted(ids)
        assert two.roles() == {ids[0]: "owner"}  # only the world's first account
        one.create_session("token-from-one", ids[1], 3600)
        assert not two.get_session("token-from-one").revoked
        one.ban(ids[1], "griefing", ids[0], time.time(), None)
        assert two.active_ban(ids[1], time.time()).reason == "griefing"
        assert two.get_session("token-from-one").revoked
        first, _ = one.add_message(ids[0], ids[1], "from one")
        second, unread = two.add_message(ids[0], ids[1], "from two")
        assert second["id"] > first["id"] and unread == 2
        assert [m["text"] for m in one.history(ids[0], ids[1], None, 10)[0]] == [
            "from one", "from two"]
        one.save_positions([(ids[0], 1.5, 2.5, "cave")])
        one.flush()
        assert two.load_place(ids[0]) == ("cave", 1.5, 2.5)
        queued = one.queue_admin("kick", {"name": "b1"})
        assert two.admin_queued()
        assert two.take_admin_queue() == [(queued, "kick", {"name": "b1"})]
        assert one.take_admin_queue() == [] and not one.admin_queued()
    finally:
        one.close()
        two.close()


def test_an_older_database_is_upgraded_with_the_same_version_numbers(postgres_url, monkeypatch):
    from server.storage import MIGRATIONS, SCHEMA_VERSION, open_database, user_version

    monkeypatch.setattr("server.postgres.MIGRATIONS", postgres.MIGRATIONS[:2])
    Storage(postgres_url, Runtime("threading")).close()
    db = open_database(postgres_url)
    try:
        assert user_version(db) == 2
    finally:
        db.close()
    monkeypatch.undo()
    store = Storage(postgres_url, Runtime("threading"))
    try:
        uid = store.create_user("later", "h")
        store.save_positions([(uid, 3.0, 4.0, "cave")])
        store.flush()
        assert store.role_of(uid) == "player" and store.load_place(uid) == ("cave", 3.0, 4.0)
    finally:
        store.close()
    assert len(postgres.MIGRATIONS) == len(MIGRATIONS) == SCHEMA_VERSION
    assert db_query(postgres_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_transaction_rolls_back_everything_and_nests_as_a_savepoint(postgres_url):
    from server.storage import open_database, transaction

    db = open_database(postgres_url)
    try:
        db.execute("CREATE TABLE t (n INTEGER)")
        with pytest.raises(ZeroDivisionError):
            with transaction(db):
                db.execute("INSERT INTO t VALUES (1)")
                db.execute("INSERT INTO t VALUES (2)")
                1 / 0
        assert db.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
        assert not db.in_transaction
        with transaction(db):
            db.execute("INSERT INTO t VALUES (?)", [1])
            with pytest.raises(ZeroDivisionError):
                with transaction(db):
                    db.execute("INSERT INTO t VALUES (2)")
                    1 / 0
        assert db.execute("SELECT n FROM t").fetchall() == [(1,)]
    finally:
        db.close()


def test_a_batch_of_positions_is_written_whole_or_not_at_all(postgres_url):
    store = Storage(postgres_url, Runtime("threading"))
    try:
        ids = [store.create_user(f"p{i:03d}", "h") for i in range(200)]
        # The 150th row of the batch fails (as a broken row would).
        store.call(lambda db: db.execute(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.user_id = "
            f"{ids[149]} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql"))
        store.call(lambda db: db.execute("CREATE TRIGGER refuse BEFORE INSERT ON positions "
                                         "FOR EACH ROW EXECUTE FUNCTION refuse()"))
        store.save_positions((uid, 1.0, 2.0) for uid in ids)
        with pytest.raises(postgres.psycopg.errors.RaiseException):
            store.flush()
        assert db_query(postgres_url, "SELECT COUNT(*) FROM positions") == [(0,)]
        assert store.pending_positions() == 200  # kept for the next try
        store.call(lambda db: db.execute("DROP TRIGGER refuse ON positions"))
        store.flush()
        assert db_query(postgres_url, "SELECT COUNT(*) FROM positions") == [(200,)]
        assert store.pending_positions() == 0
    finally:
        store.close()


# -- the server restarted or away -----------------------------------------------------------
def test_writes_wait_while_postgresql_restarts_and_land_afterwards(postgres_server,
                                                                   postgres_url, caplog):
    caplog.set_level(logging.INFO, logger="server.storage")
    store = Storage(postgres_url, Runtime("threading"), idle_s=0.1)
    try:
        alice, bob = store.create_user("alice", "h"), store.create_user("bob", "h")
        store.add_message(alice, bob, "before")
        postgres_server.stop()
        answers: list = []
        senders = [threading.Thread(target=lambda i=i: answers.append(
            store.add_message(alice, bob, f"during {i}")[0]["text"])) for i in range(3)]
        for sender in senders:
            sender.start()
        store.save_positions([(alice, 10.0, 20.0), (bob, 30.0, 40.0)])
        wait_until(lambda: store.unreachable, timeout=10)
        assert answers == []  # nothing is acknowledged while the server is away
        postgres_server.start()
        for sender in senders:
            sender.join(30)
        assert sorted(answers) == ["during 0", "during 1", "during 2"]
        store.flush()
        assert not store.unreachable and store.reconnects == 1
    finally:
        store.close()
    assert sorted(r[0] for r in db_query(postgres_url, "SELECT text FROM messages")) == [
        "before", "during 0", "during 1", "during 2"]
    assert sorted(db_query(postgres_url, "SELECT user_id, x, y FROM positions")) == [
        (alice, 10.0, 20.0), (bob, 30.0, 40.0)]
    said = [r.getMessage() for r in caplog.records]
    assert sum("is unreachable" in line for line in said) == 1, said
    assert sum("is reachable again" in line for line in said) == 1, said


def test_a_job_fails_once_the_server_stays_away_past_the_busy_timeout(postgres_server,
                                                                      postgres_url):
    store = Storage(postgres_url, Runtime("threading"), busy_timeout_ms=1500)
    try:
        uid = store.create_user("patient", "h")
        postgres_server.stop()
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            store.find_user("patient")
        assert 1.0 <= time.monotonic() - started < 10
        store.save_positions([(uid, 5.0, 6.0)])  # kept for the next write
        postgres_server.start()
        assert store.find_user("patient").id == uid
        store.flush()
        assert store.load_position(uid) == (5.0, 6.0)
    finally:
        if postgres_server.proc is None:
            postgres_server.start()
        store.close()


# -- start-up problems: one line naming the URL, its password masked ----------------------
def test_an_unreachable_server_a_bad_url_and_a_wrong_password_stop_the_start(
        postgres_server, data_home):
    port = free_port()
    status, err = start_refusal("--db", f"postgresql://pc:s3cret@127.0.0.1:{port}/world")
    assert status == 1 and err.count("\n") == 1, err
    assert f"postgresql://pc:***@127.0.0.1:{port}/world cannot be reached" in err
    assert "s3cret" not in err

    status, err = start_refusal("--db", "postgresql://pc:s3cret@127.0.0.1:notaport/world")
    assert status == 1 and err.count("\n") == 1, err
    assert "postgresql://pc:***@127.0.0.1:notaport/world is not a usable PostgreSQL URL" in err
    assert "s3cret" not in err

    with_password_only(postgres_server, "pc_pw", "right horse")
    url = f"postgresql://pc_pw:n0t-the-one@127.0.0.1:{postgres_server.port}/postgres"
    status, err = start_refusal("--db", url)
    assert status == 1 and err.count("\n") == 1, err
    assert "postgresql://pc_pw:***@" in err and "password authentication failed" in err, err
    assert "n0t-the-one" not in err

    missing = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/no_such_world"
    status, err = start_refusal("--db", missing)
    assert status == 1 and err.count("\n") == 1, err
    assert "no_such_world" in err and "does not exist" in err, err


def test_a_database_from_a_newer_game_is_refused(postgres_url, data_home):
    Storage(postgres_url, Runtime("threading")).close()
    db = postgres.connect(postgres_url)
    try:
        postgres.set_user_version(db, 99)
    finally:
        db.close()
    status, err = start_refusal("--db", postgres_url)
    assert status == 1 and err.count("\n") == 1, err
    assert "is version 99, made by a newer Pixel Commons" in err, err


def with_password_only(server, role: str, password: str) -> None:
    """Make ``role`` log in by password (every other role stays trusted)."""
    import psycopg

    hba = server.data / "pg_hba.conf"
    line = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
    text = hba.read_text()
    if line not in text:
        hba.write_text(line + text)
    with psycopg.connect(server.url(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute("SELECT pg_reload_conf()")


# -- a real host ------------------------------------------------------------------------------
def dm(client: RawClient, to: str, text: str) -> dict:
    return client.call(P.DM_SEND, {"to": to, "text": text}, timeout=30)


def wait_ack(client: RawClient, ack_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while ack_id not in client.acks:
        assert time.monotonic() < deadline and not client.closed, "no answer"
        client.pump(0.1)
    return client.acks.pop(ack_id)


def walk(client: RawClient, walker: Walker, steps: int) -> tuple[float, float]:
    for _ in range(steps):
        client.emit(P.MOVE, walker.step(0.1))
        time.sleep(0.1)  # at walking pace
    assert client.call(P.PING, {})["ok"]  # the moves before it are handled
    return walker.x, walker.y


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_host_on_postgresql_keeps_positions_and_messages_across_its_restart(
        postgres_url, tmp_path, data_home, mode):
    host = host_on(postgres_url, tmp_path, mode).start()
    try:
        ann, ben = register(host.url, "ann"), register(host.url, "ben")
        a, b = RawClient(host.url), RawClient(host.url)
        you = a.join(ann)["you"]
        b.join(ben)
        left_at = walk(a, Walker((you["x"], you["y"]), 0), 8)
        assert dm(a, "ben", "see you later")["ok"]
        a.close()
        b.close()
        assert host.stop() == 0
        host.start()
        again = requests.post(host.url + P.HTTP_LOGIN, timeout=30,
                              json={"username": "ann", "password": PASSWORD})
        assert again.status_code == 200
        a = RawClient(host.url)
        you = a.join(again.json())["you"]
        assert math.dist((you["x"], you["y"]), left_at) < 1.0
        b = RawClient(host.url)
        welcome = b.join(ben, last_dm_id=0)  # the token from before the restart
        assert [m["text"] for m in welcome["missed_messages"]] == ["see you later"]
        assert welcome["unread"] == {"ann": 1}
        a.close()
        b.close()
    finally:
        host.stop()
        host.kill()
    assert "Traceback" not in host.log()
    assert not list(tmp_path.glob("**/*.lock"))  # no lock file: several hosts may serve it
    assert (data_home / "pixel-commons" / f"{postgres.database_name(postgres_url)}.key").exists()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_postgresql_restart_under_play_loses_no_acknowledged_message(
        postgres_server, postgres_url, tmp_path, data_home, mode):
    host = host_on(postgres_url, tmp_path, mode).start()
    try:
        sessions = [register(host.url, n) for n in ("cat", "dan")]
        cat, dan = RawClient(host.url), RawClient(host.url)
        you = cat.join(sessions[0])["you"]
        dan.join(sessions[1])
        walker = Walker((you["x"], you["y"]), 1)
        walk(cat, walker, 3)
        assert dm(cat, "dan", "before")["ok"]
        offset = host.log_size()
        postgres_server.stop()
        sent = [cat.emit(P.DM_SEND, {"to": "dan", "text": f"during {i}"}, ack=True)
                for i in range(3)]
        left_at = walk(cat, walker, 5)  # moves go on while the database is away
        wait_until(lambda: requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["storage"]
                   == "unreachable", timeout=10)
        postgres_server.start()
        acked = []
        for ack_id in sent:
            reply = wait_ack(cat, ack_id, timeout=30)
            if reply.get("ok"):
                acked.append(reply["message"]["text"])
        assert acked == ["during 0", "during 1", "during 2"]
        wait_until(lambda: requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["storage"]
                   == "ok", timeout=10)
        assert dm(cat, "dan", "after")["ok"]
        uid = sessions[0]["user"]["id"]
        wait_until(lambda: (db_query(postgres_url, "SELECT x, y FROM positions WHERE user_id = ?",
                                     (uid,)) or [(0, 0)])[0] == left_at, timeout=10)
        cat.close()
        dan.close()
    finally:
        if postgres_server.proc is None:
            postgres_server.start()
        host.stop()
        host.kill()
    texts = [r[0] for r in db_query(postgres_url, "SELECT text FROM messages ORDER BY id")]
    assert texts == ["before", "during 0", "during 1", "during 2", "after"]
    log = host.log_since(offset)
    assert log.count("is unreachable") == 1 and log.count("is reachable again") == 1, log
    assert "Traceback" not in log


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_the_admin_command_line_reaches_a_host_running_on_postgresql(
        postgres_url, tmp_path, data_home, mode):
    host = host_on(postgres_url, tmp_path, mode).start()
    try:
        register(host.url, "owner")  # the world's first account owns it
        eve = register(host.url, "eve")
        client = RawClient(host.url)
        client.join(eve)

        def admin(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "host.py", "admin", "--db", postgres_url,
                                   *args], cwd=ROOT, capture_output=True, text=True, timeout=60)

        listed = admin("list")
        assert listed.returncode == 0 and "eve" in listed.stdout, listed.stdout + listed.stderr
        banned = admin("ban", "eve", "--reason", "spam")
        assert banned.returncode == 0, banned.stderr
        assert "applied by the running host" in banned.stdout, banned.stdout
        assert client.read_until_closed(10)
        refused = requests.post(host.url + P.HTTP_LOGIN, timeout=30,
                                json={"username": "eve", "password": PASSWORD})
        assert refused.status_code == 403
    finally:
        host.stop()
        host.kill()
    # With no host running, the command line writes the change itself.
    lifted = subprocess.run([sys.executable, "host.py", "admin", "--db", postgres_url, "unban",
                             "eve"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert lifted.returncode == 0 and "applied by" not in lifted.stdout, lifted
    assert db_query(postgres_url, "SELECT action, target FROM audit ORDER BY id") == [
        ("ban", "eve"), ("unban", "eve")]
    assert db_query(postgres_url, "SELECT user_id FROM bans") == []


def test_two_hosts_serve_one_postgresql_world(postgres_url, tmp_path, data_home):
    """No lock: a second host starts on the same database; an account, its
    token and its messages made on one are good on the other."""
    one = host_on(postgres_url, tmp_path, "eventlet", "one").start()
    two = host_on(postgres_url, tmp_path, "threading", "two").start()
    try:
        fay = register(one.url, "fay")
        gus = register(two.url, "gus")
        assert fay["user"]["id"] != gus["user"]["id"]
        f = RawClient(two.url)
        f.join(fay)  # a token issued by host one
        assert dm(f, "gus", "hello from two")["ok"]
        g = RawClient(one.url)
        welcome = g.join(gus, last_dm_id=0)
        assert [m["text"] for m in welcome["missed_messages"]] == ["hello from two"]
        f.close()
        g.close()
    finally:
        for host in (one, two):
            host.stop()
            host.kill()
