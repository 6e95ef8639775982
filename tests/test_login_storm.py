"""Password hashing in worker processes: logins, old hashes, stopping the host."""
from __future__ import annotations

import sqlite3
import threading

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
    return psutil.Process(host.proc.pid).children(recursive=True)


def assert_all_gone(processes: list[psutil.Process]) -> None:
    def gone() -> bool:
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)
    wait_until(gone, timeout=10)


def test_the_chosen_parameters_are_at_or_above_owasp_minimum():
    assert HASH_LANES >= 1
    assert HASH_MEMORY_KIB >= OWASP_MIN_MEMORY_KIB[min(HASH_TIME_COST, 5)]


def test_accounts_are_hashed_in_worker_processes(world_host):
    assert hash_workers(world_host.proc), "the host runs no hashing worker"
    name = unique_name("pool")
    assert register(world_host.url, name).status_code == 201
    assert_owasp_argon2id(stored_hash(world_host.db_path, name))
    assert login(world_host.url, name).status_code == 200
    bad = post(world_host.url, P.HTTP_LOGIN, {"username": name, "password": "wrong-horse"})
    assert bad.status_code == 401


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
def test_sigterm_stops_an_idle_host_and_its_workers(tmp_path, async_mode):
    host = HostProcess(tmp_path / "world.db", async_mode=async_mode).start()
    try:
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
