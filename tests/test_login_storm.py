"""Password hashing in worker processes: logins, old hashes, a worker that
dies, stopping or killing the host."""
from __future__ import annotations

import sqlite3
import threading
import warnings

import psutil
import pytest
import requests
from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from game.core import protocol as P
from game.client.host_process import HostProcess
from server.hashing import HASH_LANES, HASH_MEMORY_KIB, HASH_TIME_COST

from .conftest import ASYNC_MODES, PASSWORD, post, unique_name, wait_until

# OWASP Password Storage Cheat Sheet: argon2id, and for each time cost the
# least memory (KiB) that is enough.
OWASP_MIN_MEMORY_KIB = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}
# Logins sent at a host that is then stopped with their hashes in flight.
LOGINS_IN_FLIGHT = 12


def register(url, name):
    return post(url, P.HTTP_REGISTER, {"username": name, "password": PASSWORD})


def login(url, name):
    return post(url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD})


def stored_hash(db_path, name) -> str:
    with sqlite3.connect(db_path, timeout=10) as db:
        return db.execute("SELECT pw_hash FROM users WHERE name_key = ?",
                          [name.lower()]).fetchone()[0]


def assert_owasp_argon2id(pw_hash: str) -> None:

    found = extract_parameters(pw_hash)
    assert found.type is Type.ID
    assert found.parallelism >= 1
    needed = OWASP_MIN_MEMORY_KIB.get(found.time_cost, 7168 if found.time_cost > 5 else None)
    assert needed is not None and found.memory_cost >= needed, pw_hash


def hash_workers(host: HostProcess) -> list[psutil.Process]:
    """The host's hashing workers: each the small worker script, not a copy of the host."""
    workers = psutil.Process(host.proc.pid).children(recursive=True)
    for worker in workers:
        assert any(arg.endswith("hash_worker.py") for arg in worker.cmdline()), worker.cmdline()
    return workers


def assert_all_gone(processes: list[psutil.Process]) -> None:
    def gone() -> bool:
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)
    wait_until(gone, timeout=10)


def test_the_chosen_parameters_are_at_or_above_owasp_minimum():
    assert HASH_LANES >= 1
    assert HASH_MEMORY_KIB >= OWASP_MIN_MEMORY_KIB[min(HASH_TIME_COST, 5)]


def test_accounts_are_hashed_in_worker_processes(world_host):
    name = unique_name("pool")
    assert register(world_host.url, name).status_code == 201
    assert hash_workers(world_host.proc), "the host runs no hashing worker"
    assert_owasp_argon2id(stored_hash(world_host.db_path, name))
    assert login(world_host.url, name).status_code == 200
    bad = post(world_host.url, P.HTTP_LOGIN, {"username": name, "password": "wrong-horse"})
    assert bad.status_code == 401


@pytest.mark.parametrize("async_mode", ASYNC_MODES)
def test_a_host_starts_its_worker_at_the_first_hash_and_keeps_it(tmp_path, async_mode):
    with HostProcess(tmp_path / "world.db", async_mode=async_mode) as host:
        assert hash_workers(host) == []  # nobody logged in: no process started
        name = unique_name("warm")
        assert register(host.url, name).status_code == 201
        first = hash_workers(host)
        assert len(first) == 1
        for _ in range(3):
            assert login(host.url, name).status_code == 200
        assert [w.pid for w in hash_workers(host)] == [first[0].pid]


@pytest.mark.parametrize("async_mode", ASYNC_MODES)
def test_a_worker_that_dies_is_replaced(tmp_path, async_mode):
    with HostProcess(tmp_path / "world.db", async_mode=async_mode) as host:
        name = unique_name("dead")
        assert register(host.url, name).status_code == 201
        [dead] = hash_workers(host)
        dead.kill()
        assert_all_gone([dead])
        assert login(host.url, name).status_code == 200  # hashed by the host itself
        assert login(host.url, name).status_code == 200
        assert [w.pid for w in hash_workers(host)] not in ([], [dead.pid])
        bad = post(host.url, P.HTTP_LOGIN, {"username": name, "password": "wrong-horse"})
        assert bad.status_code == 401


def test_a_killed_host_leaves_no_worker(tmp_path):
    with HostProcess(tmp_path / "world.db") as host:
        assert register(host.url, unique_name("kill")).status_code == 201
        workers = hash_workers(host)
        assert workers
        host.kill()  # SIGKILL: the host cleans nothing up
    assert_all_gone(workers)


def test_a_hash_with_old_parameters_logs_in_and_is_redone(world_host):
    name = unique_name("old")
    assert register(world_host.url, name).status_code == 201
    old = PasswordHasher().hash(PASSWORD)  # the library's defaults: m=64 MiB, t=3, p=4
    with sqlite3.connect(world_host.db_path, timeout=10) as db:
        db.execute("UPDATE users SET pw_hash = ? WHERE name_key = ?", [old, name.lower()])
    assert login(world_host.url, name).status_code == 200
    new = stored_hash(world_host.db_path, name)
    assert new != old
    assert f"m={HASH_MEMORY_KIB},t={HASH_TIME_COST},p={HASH_LANES}$" in new
    assert_owasp_argon2id(new)
    assert login(world_host.url, name).status_code == 200
    assert stored_hash(world_host.db_path, name) == new  # redone once, not every login


@pytest.mark.parametrize("async_mode", ASYNC_MODES)
def test_sigterm_stops_a_host_and_its_workers(tmp_path, async_mode):
    host = HostProcess(tmp_path / "world.db", async_mode=async_mode).start()
    try:
        assert register(host.url, unique_name("stop")).status_code == 201
        workers = hash_workers(host)
        assert workers
        assert host.stop(timeout=15) == 0
    finally:
        host.kill()
    assert_all_gone(workers)


@pytest.mark.parametrize("async_mode", ASYNC_MODES)
def test_sigterm_with_hashes_in_flight_leaves_no_worker(tmp_path, async_mode):
    host = HostProcess(tmp_path / "world.db", async_mode=async_mode).start()
    answers: list[object] = []
    try:
        name = unique_name("storm")
        assert register(host.url, name).status_code == 201
        workers = hash_workers(host)
        assert workers

        def send() -> None:
            try:
                answers.append(requests.post(host.url + P.HTTP_LOGIN, timeout=20, json={
                    "username": name, "password": PASSWORD}).status_code)
            except requests.RequestException as exc:
                answers.append(exc)

        senders = [threading.Thread(target=send) for _ in range(LOGINS_IN_FLIGHT)]
        for sender in senders:
            sender.start()
        wait_until(lambda: answers, timeout=10)  # the storm is being hashed
        assert host.stop(timeout=15) == 0
        for sender in senders:
            sender.join(20)
    finally:
        host.kill()
    assert_all_gone(workers)
    assert len(answers) == LOGINS_IN_FLIGHT


def test_the_eventlet_server_runs_each_connection_before_accepting_the_next():
    """eventlet's server accepts every waiting connection before running
    any: a crowd logging in at once was parsed back to back in one turn of
    the event loop, and the tick waited for all of them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eventlet's notice that it is deprecated
        import eventlet

    from server.transport.serving import OneAtATimePool

    pool, order = OneAtATimePool(), []
    for i in range(3):  # as the server's accept loop does
        pool.spawn(order.append, f"ran {i}")
        order.append(f"accepted {i}")
    pool.waitall()
    eventlet.sleep(0)
    assert order == ["ran 0", "accepted 0", "ran 1", "accepted 1", "ran 2", "accepted 2"]
