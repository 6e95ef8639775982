"""Faults of the disk under a real host: a full disk, a WAL that keeps
growing, sessions that pile up, database files others can read.

The full-disk tests put the database on a real small filesystem (a tmpfs
mounted for the test, which needs root); where none can be mounted they are
skipped and say why.
"""
from __future__ import annotations

import errno
import math
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from game.core import protocol as P
from game.client.host_process import HostProcess
from server.runtime import Runtime
from server.storage import WAL_TRUNCATE_BYTES, Storage, pair_key

from .conftest import ASYNC_MODES, db_query, wait_until
from .helpers_wire import (PASSWORD, RawClient, Swarm, Walker, read_db, register,
                           register_many, snapshot_positions)

DISK_BYTES = 4 * 1024 * 1024


# -- helpers ------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs mounted for this test only."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700",
                           "tmpfs", str(mount_point)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has not one byte left; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = 1 << 16
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                size //= 2
    finally:
        os.close(fd)
    return filler


def health(host: HostProcess) -> dict:
    reply = requests.get(host.url + P.HTTP_HEALTH, timeout=5)
    assert reply.status_code == 200
    return reply.json()


def post_register(host: HostProcess, name: str) -> requests.Response:
    return requests.post(host.url + P.HTTP_REGISTER,
                         json={"username": name, "password": PASSWORD}, timeout=30)


class Walkers:
    """Joined players walking along the spawn row, read by one Swarm."""

    def __init__(self, host: HostProcess, names: list[str]):
        self.sessions = register_many(host.url, names)
        self.clients = [RawClient(host.url) for _ in names]
        self.walkers = []
        for i, (client, session) in enumerate(zip(self.clients, self.sessions)):
            you = client.join(session)["you"]
            self.walkers.append(Walker((you["x"], you["y"]), i))
        self.swarm = Swarm(self.clients)

    def walk(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for client, walker in zip(self.clients, self.walkers):
                client.emit(P.MOVE, walker.step(0.1))
            time.sleep(0.1)

    def last_sent(self) -> dict[int, tuple[float, float]]:
        return {s["user"]["id"]: (w.x, w.y) for s, w in zip(self.sessions, self.walkers)}

    def accepted(self) -> bool:
        """Whether the host has shown every player where it was last sent."""
        seen = snapshot_positions(self.clients)
        return all(seen.get(uid) and seen[uid][-1][1:] == xy
                   for uid, xy in self.last_sent().items())


def stored_positions(db: Path) -> dict[int, tuple[float, float]]:
    return {uid: (x, y) for uid, x, y in read_db(db, "SELECT user_id, x, y FROM positions")}


def wait_for_full(host: HostProcess, players: Walkers, timeout: float = 15.0) -> dict:
    """Walk (and so save positions) until the host reports its disk full."""
    deadline = time.monotonic() + timeout
    while True:
        players.walk(0.2)
        body = health(host)
        if body["storage"] == "full":
            return body
        assert time.monotonic() < deadline, "the host never noticed the full disk"


# -- 10.1 a full disk ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_full_disk_refuses_writes_keeps_the_game_going_and_recovers(small_disk, tmp_path,
                                                                      mode):
    log_path = tmp_path / "host.log"
    db = small_disk / "world.db"
    host = HostProcess(db, async_mode=mode, log_path=log_path).start()
    try:
        names = [f"full_{i}" for i in range(4)]
        players = Walkers(host, names)
        clients = players.clients
        with players.swarm:
            players.walk(1.0)
            assert clients[0].call(P.DM_SEND, {"to": names[1], "text": "before"})["ok"]
            away = register_many(host.url, ["full_away"])[0]
            filler = fill(small_disk)
            started = time.monotonic()
            body = wait_for_full(host, players)
            noticed_s = time.monotonic() - started
            assert body["ok"] is False and body["players_online"] == 4

            # The game goes on: moves, pings and reads are answered; writes are refused.
            players.walk(2.0)
            reply = clients[0].call(P.DM_SEND, {"to": names[1], "text": "while full"})
            assert reply["ok"] is False and reply["error"] == P.E_STORAGE_FULL, reply
            assert any(e["code"] == P.E_STORAGE_FULL for e in clients[0].named(P.ERROR))
            refused = post_register(host, "full_newcomer")
            assert refused.status_code == 503 and refused.json()["error"] == P.E_STORAGE_FULL
            assert clients[2].call(P.PING, {})["ok"] is True
            goodbye = clients[3].call(P.LOGOUT, {})  # the revocation cannot be written
            assert goodbye["ok"] is False and goodbye["error"] == P.E_STORAGE_FULL, goodbye
            assert clients[3].call(P.PING, {})["ok"] is True
            history = clients[1].call(P.DM_HISTORY, {"peer": names[0]})
            assert [m["text"] for m in history["messages"]] == ["before"]

            # Where everyone stopped is held in memory, not on the disk.
            stored = stored_positions(db)
            deadline = time.monotonic() + 10
            while any(stored.get(uid) == xy for uid, xy in players.last_sent().items()):
                assert time.monotonic() < deadline, "players do not get away from their saved spots"
                players.walk(0.1)
            wait_until(players.accepted, timeout=5)
            last = players.last_sent()
            time.sleep(1.5)  # several save intervals pass with the disk still full
            assert health(host)["storage"] == "full"
            assert stored_positions(db) == stored

            # One who walks off and leaves while the disk is full comes back
            # where they left, not where the disk last had them.
            wanderer = RawClient(host.url)
            start = wanderer.join(away)["you"]
            steps = Walker((start["x"], start["y"]), 5)
            for _ in range(10):
                wanderer.emit(P.MOVE, steps.step(0.1))
                time.sleep(0.1)  # at walking pace
            assert wanderer.call(P.PING, {})["ok"] is True  # the moves before it are handled
            left_at = (steps.x, steps.y)
            wanderer.close()
            wait_until(lambda: health(host)["players_online"] == 4, timeout=5)
            again = RawClient(host.url)
            you = again.join(away)["you"]
            back = (you["x"], you["y"])  # moved aside only if a walker stands on the spot
            assert math.dist(back, left_at) <= 64, (back, left_at)
            assert math.dist(back, left_at) < math.dist(back, (start["x"], start["y"]))
            again.close()

            # Room again: the host writes what it kept and takes messages again.
            filler.unlink()
            freed = time.monotonic()
            wait_until(lambda: health(host)["storage"] == "ok", timeout=10)
            recovered_s = time.monotonic() - freed
            assert health(host)["ok"] is True
            everyone = {**last, away["user"]["id"]: back}  # where the wanderer left again
            wait_until(lambda: stored_positions(db) == everyone, timeout=5)
            reply = clients[0].call(P.DM_SEND, {"to": names[1], "text": "after"})
            assert reply["ok"] is True
            assert read_db(db, "SELECT text FROM messages ORDER BY id") == [("before",),
                                                                           ("after",)]
            assert post_register(host, "full_newcomer").status_code == 201
        stopping = time.monotonic()
        assert host.stop() == 0
        stop_s = time.monotonic() - stopping
    finally:
        host.kill()
    log = log_path.read_text()
    print(f"\nfull disk ({mode}): noticed in {noticed_s:.1f} s, recovered {recovered_s:.1f} s "
          f"after space was freed, SIGTERM took {stop_s:.2f} s")
    assert log.count("is full") == 1, log
    assert log.count("has room again") == 1, log
    assert "Traceback" not in log and "failed" not in log, log


@pytest.mark.slow
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_sigterm_stops_a_host_whose_disk_is_full(small_disk, tmp_path, mode):
    log_path = tmp_path / "host.log"
    host = HostProcess(small_disk / "world.db", async_mode=mode, log_path=log_path).start()
    try:
        players = Walkers(host, [f"stuck_{i}" for i in range(3)])
        with players.swarm:
            players.walk(0.5)
            fill(small_disk)
            wait_for_full(host, players)
            players.walk(0.5)
            stopping = time.monotonic()
            assert host.stop(timeout=10) == 0
            stop_s = time.monotonic() - stopping
    finally:
        host.kill()
    log = log_path.read_text()
    print(f"\nSIGTERM on a full disk ({mode}): exited in {stop_s:.2f} s")
    assert stop_s < 8.0
    assert "could not write 3 positions at shutdown (the disk is full)" in log, log
    assert "Traceback" not in log, log


# -- 10.2 the WAL stays small ------------------------------------------------------------------
def test_the_wal_is_truncated_after_large_batches_and_never_grows_past_the_limit(tmp_path):
    db = tmp_path / "world.db"
    store = Storage(db, Runtime("threading"))
    try:
        a = store.create_user("walla", "hash")
        b = store.create_user("wallb", "hash")

        def write_batch(db_, start: int) -> None:  # 150 messages in one transaction
            db_.conn.execute("BEGIN")
            db_.conn.executemany(
                "INSERT INTO messages (pair, sender_id, recipient_id, text, sent_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(pair_key(a, b), a, b, f"{i:05d}" + "x" * 495, time.time())
                 for i in range(start, start + 150)])
            db_.conn.execute("COMMIT")

        wal = Path(f"{db}-wal")
        largest = 0
        for batch in range(40):  # 6000 messages, about 3 MB
            store.call(lambda db_: write_batch(db_, batch * 150))
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
        assert store.call(lambda db_: db_.execute("SELECT COUNT(*) FROM messages").fetchone())[0] \
            == 6000
        print(f"\nWAL: largest {largest} bytes over 40 batches of 150 messages "
              f"({store.wal_truncations} truncations)")
        assert store.wal_truncations >= 2
        # The limit, plus what one batch can add before it is checked (~40 pages).
        assert largest <= WAL_TRUNCATE_BYTES + 256 * 1024
    finally:
        store.close()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_running_host_truncates_its_wal_when_idle_and_at_shutdown(tmp_path, mode):
    db = tmp_path / "world.db"
    wal = Path(f"{db}-wal")
    with HostProcess(db, async_mode=mode) as host:
        players = Walkers(host, [f"wal_{mode[:3]}_{i}" for i in range(3)])
        names = [s["user"]["name"] for s in players.sessions]
        with players.swarm:
            for i in range(10):
                players.walk(0.1)
                assert players.clients[0].call(P.DM_SEND, {"to": names[1], "text": f"m{i}"})["ok"]
            assert wal.exists() and wal.stat().st_size > 0
            # Nobody moves or writes: within a few seconds the WAL is empty again.
            wait_until(lambda: wal.stat().st_size == 0, timeout=5)
            players.walk(0.5)
            wait_until(lambda: wal.exists() and wal.stat().st_size > 0, timeout=5)
        assert host.stop() == 0
    assert not wal.exists() or wal.stat().st_size == 0
    assert len(read_db(db, "SELECT id FROM messages")) == 10


# -- 10.11 sessions are pruned -------------------------------------------------------------------
def test_expired_and_revoked_sessions_are_pruned_at_start_up(tmp_path):
    db = tmp_path / "world.db"
    with HostProcess(db) as host:
        stale, revoked, live = (register(host.url, name) for name in ("old_s", "gone_s", "live_s"))
        assert requests.post(host.url + P.HTTP_LOGOUT, timeout=10,
                             headers={"Authorization": f"Bearer {revoked['token']}"}).ok
    # The first login's session ran out while the host was stopped.
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE sessions SET expires_at = ? WHERE user_id = ?",
                 (time.time() - 60, stale["user"]["id"]))
    conn.close()
    assert len(read_db(db, "SELECT id FROM sessions")) == 3
    with HostProcess(db) as host:
        wait_until(lambda: read_db(db, "SELECT user_id FROM sessions") ==
                   [(live["user"]["id"],)], timeout=5)
        client = RawClient(host.url)
        assert client.join(live)["you"]["name"] == "live_s"
        client.close()
        assert not RawClient(host.url).connect(stale["token"])


def test_sessions_are_pruned_while_the_host_runs(world_db):
    db = world_db
    store = Storage(db, Runtime("threading"), session_prune_interval_s=0.2)
    try:
        uid = store.create_user("prune_me", "hash")
        store.create_session("short", uid, ttl_s=0.1)
        store.create_session("logged-out", uid, ttl_s=3600)
        store.revoke_session("logged-out")
        store.create_session("kept", uid, ttl_s=3600)
        assert len(db_query(db, "SELECT id FROM sessions")) == 3
        wait_until(lambda: db_query(db, "SELECT id FROM sessions") == [("kept",)], timeout=5)
        assert store.get_session("kept") is not None
    finally:
        store.close()


# -- 9.6 the database is private ----------------------------------------------------------------
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_the_database_and_its_wal_and_shm_files_are_readable_by_the_owner_only(tmp_path, mode):
    db = tmp_path / "world.db"
    old_umask = os.umask(0o022)  # the usual umask: 0644 files unless the host says otherwise
    try:
        with HostProcess(db, async_mode=mode) as host:
            register(host.url, "private_p")
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.key")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    finally:
        os.umask(old_umask)
    assert modes == {f.name: 0o600 for f in files}, {k: oct(v) for k, v in modes.items()}


def test_an_existing_database_readable_by_others_is_made_private(tmp_path):
    db = tmp_path / "world.db"
    Storage(db, Runtime("threading")).close()
    db.chmod(0o644)
    store = Storage(db, Runtime("threading"))
    try:
        store.create_user("someone", "hash")
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        assert stat.S_IMODE(Path(f"{db}-wal").stat().st_mode) == 0o600
    finally:
        store.close()


# -- SIGTERM with the database locked by another program -------------------------------------
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_sigterm_stops_a_host_whose_writer_is_stuck_on_a_locked_database(tmp_path, mode):
    db = tmp_path / "world.db"
    log_path = tmp_path / "host.log"
    host = HostProcess(db, async_mode=mode, log_path=log_path).start()
    locker = None
    try:
        players = Walkers(host, [f"lock_{mode[:3]}_{i}" for i in range(2)])
        with players.swarm:
            players.walk(0.5)
            locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)],
                                      stdout=subprocess.PIPE, text=True)
            assert locker.stdout.readline().strip() == "locked"
            players.walk(1.0)  # these positions wait behind the lock
            stopping = time.monotonic()
            assert host.stop(timeout=12) == 0
            stop_s = time.monotonic() - stopping
    finally:
        host.kill()
        if locker is not None:
            locker.kill()
            locker.wait(5)
    print(f"\nSIGTERM with the database locked ({mode}): exited in {stop_s:.2f} s")
    assert stop_s < 8.0
    assert "did not finish writing within 5 s" in log_path.read_text()


# -- the writer thread takes no green lock -------------------------------------------------------
GREEN_LOGGING = """
import sys, warnings
warnings.filterwarnings("ignore")
import eventlet
eventlet.monkey_patch()
import logging
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(message)s")
from server.runtime import Runtime
from server.storage import Storage

store = Storage(sys.argv[1], Runtime("eventlet"))
store.call(lambda db: db.execute("SELECT 1").fetchone())
handler = logging.getLogger().handlers[0]
handler.acquire()  # the event loop is in the middle of logging (a green lock under eventlet)
try:
    store.call(lambda db: db.execute("SELECT * FROM no_such_table"))
except Exception as exc:
    print("answered:", type(exc).__name__, flush=True)
finally:
    handler.release()
eventlet.sleep(0.5)
store.close()
print("closed", flush=True)
"""


def test_the_writer_thread_logs_without_taking_the_event_loops_logging_lock(world_db):
    """On PostgreSQL too: psycopg on the writer's OS thread under eventlet."""
    done = subprocess.run([sys.executable, "-c", GREEN_LOGGING, str(world_db)],
                          capture_output=True, text=True, timeout=15,
                          cwd=Path(__file__).resolve().parent.parent)
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    # The failing job is answered at once; its error is logged afterwards, by the loop.
    error, text = (("UndefinedTable", 'relation "no_such_table" does not exist')
                   if isinstance(world_db, str) else
                   ("OperationalError", "no such table: no_such_table"))
    assert out.index(f"answered: {error}") < out.index("ERROR storage job failed"), out
    assert text in out and out.rstrip().endswith("closed"), out
