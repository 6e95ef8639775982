"""host.py --workers N: real host.py workers on one port (SO_REUSEPORT), run
and supervised by ``server.workers`` (through ``tests/workers_parent.py``,
each worker with its own copy of one world and a shared key file): both
take connections, WebSocket players stay where they landed, polling without
sticky sessions meets a 400, a killed worker comes back, SIGTERM stops them
all, and start-up problems are one line."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from game.client.host_process import ROOT, HostProcess
from game.client.net import HostClient
from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD, unique_name, wait_until
from .support import free_port
from .test_startup import refusal, run_host
from .test_workers_secret import copy_database

ACCOUNTS = 16


@pytest.fixture(scope="module")
def seed_world(tmp_path_factory, test_map_path) -> tuple[Path, list]:
    """A world with ACCOUNTS logged-in accounts and its key file: every
    worker gets a copy, so each token opens a game connection on any worker."""
    folder = tmp_path_factory.mktemp("seed")
    db = folder / "seed.db"
    with HostProcess(db, extra_args=("--map", str(test_map_path), "--secret-file",
                                     str(folder / "shared.key"))) as host:
        sessions = [HostClient(host.url, reconnect=False).register(unique_name("wk"), PASSWORD)
                    for _ in range(ACCOUNTS)]
    return folder, sessions


@dataclass
class Workers:
    """The parent process and where it logs."""

    proc: subprocess.Popen
    folder: Path
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def start_workers(seed: Path, folder: Path, mode: str, map_path: Path | str, count: int = 2,
                  port: int | None = None, wait: bool = True) -> Workers:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(seed / "shared.key", folder / "shared.key")
    for index in range(1, count + 1):
        copy_database(seed / "seed.db", folder / f"w{index}.db")
    log_path = folder / "workers.log"
    for attempt in range(3):
        # A port found free can be taken by another program before the
        # workers bind it: then they stop naming it, and another is tried.
        chosen = port or free_port()
        log_path.unlink(missing_ok=True)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.workers_parent", str(folder), str(chosen), mode,
                 str(count), "--map", str(map_path)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        workers = Workers(proc, folder, chosen, log_path)
        if not wait:
            return workers
        try:
            wait_until(lambda: proc.poll() is not None or len(views(workers, tries=20)) == count,
                       timeout=60, interval=0.1)
        except TimeoutError:
            proc.kill()
            raise
        if (proc.poll() is not None and port is None and attempt < 2
                and f"port {chosen}" in workers.log()):
            continue
        assert proc.poll() is None, workers.log()
        return workers
    raise AssertionError("unreachable")


def views(workers: Workers, count: int | None = None, tries: int = 200) -> dict[int, dict]:
    """``/api/health`` of each worker, by index: asked on a new connection
    each time (the kernel picks the worker) until every worker answered."""
    seen: dict[int, dict] = {}
    for _ in range(tries):
        if workers.proc.poll() is not None:
            break  # they stopped: whatever answers now is not them
        try:
            data = requests.get(workers.url + P.HTTP_HEALTH, timeout=5).json()
        except (requests.RequestException, ValueError):
            continue
        if not isinstance(data, dict) or "worker" not in data:
            continue  # not one of these workers: another program took the port
        seen[data["worker"]] = data
        if count is not None and len(seen) == count:
            break
    return seen


def close_all(clients: list[HostClient]) -> None:
    """Close the clients side by side (a close takes 3 s in threading mode)."""
    threads = [threading.Thread(target=client.close) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


def is_child(pid: int, parent: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1]) == parent
    except OSError:
        return False


@pytest.fixture(scope="module", params=ASYNC_MODES)
def group(request, seed_world, tmp_path_factory, test_map_path):
    """Two workers, shared by the tests that leave them as they found them."""
    seed, sessions = seed_world
    workers = start_workers(seed, tmp_path_factory.mktemp(f"group-{request.param}"),
                            request.param, test_map_path)
    yield workers, sessions
    assert workers.stop() == 0, workers.log()


def test_both_workers_answer_on_one_port(group):
    workers, _ = group
    seen = views(workers, 2)
    assert set(seen) == {1, 2}
    pids = {index: data["pid"] for index, data in seen.items()}
    assert pids[1] != pids[2]
    assert all(is_child(pid, workers.proc.pid) for pid in pids.values())
    log = workers.log()
    assert "worker 1 server: hosting" in log and "worker 2 server: hosting" in log


def test_websocket_players_land_on_both_workers_and_stay(group):
    """Players connect one by one until both workers hold some: each game
    connection (a WebSocket) stays on the worker that accepted it."""
    workers, sessions = group
    clients: list[HostClient] = []
    try:
        online: dict[int, int] = {}
        for session in sessions:
            client = HostClient(workers.url, reconnect=False)
            client.session = session
            client.connect()
            client.wait_for(P.WELCOME)
            clients.append(client)
            assert client.sio.transport() == "websocket"  # straight away, no polling first
            online = {i: d["players_online"] for i, d in views(workers, 2).items()}
            if all(online.values()):
                break
        assert all(online.values()) and sum(online.values()) == len(clients), online
        # Everyone keeps talking to the worker that holds them.
        for client in clients:
            assert client.call(P.PING, {"t": 1}, timeout=5)["ok"]
        assert all(client.connected for client in clients)
        assert sum(d["players_online"] for d in views(workers, 2).values()) == len(clients)
    finally:
        close_all(clients)
    wait_until(lambda: sum(d["players_online"] for d in views(workers, 2).values()) == 0)


def test_polling_without_sticky_sessions_meets_400_on_the_other_worker(group):
    """An Engine.IO polling session lives on the worker that opened it: a
    request for it that the kernel hands to the other worker gets 400."""
    workers, _ = group
    base = workers.url + "/socket.io/?EIO=4&transport=polling"
    opened = requests.get(base, timeout=5)
    assert opened.status_code == 200
    sid = re.search(r'"sid":"([^"]+)"', opened.text).group(1)
    answers = []
    for _ in range(24):  # each on a new connection: the kernel picks the worker
        answers.append(requests.post(f"{base}&sid={sid}", data="3", timeout=5,
                                     headers={"Content-Type": "text/plain;charset=UTF-8"}))
    assert {a.status_code for a in answers} == {200, 400}, [a.status_code for a in answers]
    assert all(a.text == f'"Invalid session {sid}"' for a in answers if a.status_code == 400)


def test_a_second_group_on_a_port_in_use_stops_with_one_line(group, seed_world, tmp_path,
                                                             test_map_path):
    """The workers share their port with each other, not with another group."""
    workers, _ = group
    other = start_workers(seed_world[0], tmp_path / "other", "eventlet", test_map_path,
                          port=workers.port, wait=False)
    assert other.proc.wait(30) == 1
    lines = other.log().strip().splitlines()
    assert len(lines) == 1 and f"port {workers.port}" in lines[0], lines
    assert "already in use" in lines[0]
    assert set(views(workers, 2)) == {1, 2}  # the first group is unaffected


def test_a_port_another_program_holds_stops_with_one_line(seed_world, tmp_path, test_map_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        workers = start_workers(seed_world[0], tmp_path, "eventlet", test_map_path, port=port,
                                wait=False)
        assert workers.proc.wait(30) == 1
    lines = workers.log().strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "cannot start" in lines[0], lines


def test_a_worker_that_cannot_start_stops_the_parent_with_its_one_line(seed_world, tmp_path):
    missing = tmp_path / "nowhere.tmx"
    workers = start_workers(seed_world[0], tmp_path, "eventlet", missing, wait=False)
    assert workers.proc.wait(60) == 1
    lines = workers.log().strip().splitlines()
    assert len(lines) == 1 and f"map {missing} is missing" in lines[0], lines
    assert lines[0].startswith("host.py worker 1: cannot start: ")


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_killed_worker_comes_back_and_the_other_keeps_its_players(seed_world, tmp_path,
                                                                     test_map_path, mode):
    workers = start_workers(seed_world[0], tmp_path, mode, test_map_path)
    client = HostClient(workers.url, reconnect=False)
    try:
        client.session = seed_world[1][0]
        client.connect()
        client.wait_for(P.WELCOME)
        before = views(workers, 2)
        home = next(i for i, d in before.items() if d["players_online"] == 1)
        victim = 3 - home
        killed_at = time.monotonic()
        os.kill(before[victim]["pid"], signal.SIGKILL)
        back = wait_until(lambda: (lambda seen: seen.get(victim, {}).get("pid") not in
                                   (None, before[victim]["pid"]) and seen)(views(workers, 2)),
                          timeout=15, interval=0.1)
        restart_s = time.monotonic() - killed_at
        assert restart_s < 8, restart_s
        assert is_child(back[victim]["pid"], workers.proc.pid)
        assert back[home]["pid"] == before[home]["pid"]
        # The player on the other worker never noticed.
        assert client.connected
        client.call(P.PING, {"t": 1}, timeout=5)
        assert back[home]["players_online"] == 1
        died = [line for line in workers.log().splitlines() if "died" in line]
        assert len(died) == 1 and f"worker {victim} (pid {before[victim]['pid']})" in died[0]
        assert "killed by SIGKILL" in died[0] and "starting it again in" in died[0]
        print(f"\n{mode}: worker {victim} killed -9, answering again after {restart_s:.2f} s")
    finally:
        client.close()
        assert workers.stop() == 0, workers.log()


@pytest.mark.parametrize("mode, sig", [("eventlet", signal.SIGTERM),
                                       ("threading", signal.SIGINT)])
def test_sigterm_to_the_parent_stops_every_worker_saving_its_players(seed_world, tmp_path,
                                                                     test_map_path, mode, sig):
    workers = start_workers(seed_world[0], tmp_path, mode, test_map_path)
    client = HostClient(workers.url, reconnect=False)
    client.session = seed_world[1][1]
    client.connect()
    client.wait_for(P.WELCOME)
    pids = [d["pid"] for d in views(workers, 2).values()]
    started = time.monotonic()
    workers.proc.send_signal(sig)  # SIGINT: what Ctrl-C sends the parent
    assert workers.stop() == 0, workers.log()
    stop_s = time.monotonic() - started
    assert client.wait_for(P.SESSION_ENDED).data["reason"] == P.END_HOST_SHUTDOWN
    client.close()
    log = workers.log()
    saved = dict(re.findall(r"worker (\d) server: saved (\d+) players; host stopped", log))
    assert set(saved) == {"1", "2"} and sorted(saved.values()) == ["0", "1"], log
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}")
    assert "Traceback" not in log
    print(f"\n{mode}: {sig.name} to the parent, both workers saved and gone in {stop_s:.2f} s")


def test_workers_stop_saving_everyone_when_the_parent_is_killed(seed_world, tmp_path,
                                                               test_map_path):
    """Nothing outlives a parent killed by SIGKILL: the pipe on each worker's
    standard input closes, and each stops as if asked, saving its players."""
    workers = start_workers(seed_world[0], tmp_path, "eventlet", test_map_path)
    pids = [d["pid"] for d in views(workers, 2).values()]
    workers.proc.kill()
    workers.proc.wait(5)
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids), timeout=20)
    log = workers.log()
    assert "worker 1 server: saved 0 players" in log and "worker 2 server: saved 0 players" in log
    with socket.socket() as probe:  # and the port is free again
        probe.bind(("127.0.0.1", workers.port))


def test_a_worker_that_keeps_dying_makes_the_parent_give_up(seed_world, tmp_path,
                                                            test_map_path):
    """Worker 2's database is spoiled under it, then it is killed: each restart
    refuses to start; after three quick deaths the parent stops worker 1
    (which saves its players) and exits 1 with one line saying why."""
    workers = start_workers(seed_world[0], tmp_path, "eventlet", test_map_path)
    pid = views(workers, 2)[2]["pid"]
    spoiled = tmp_path / "spoiled"
    spoiled.write_bytes(b"not a database" * 100)
    os.replace(spoiled, tmp_path / "w2.db")  # the running worker keeps the old file
    os.kill(pid, signal.SIGKILL)
    assert workers.proc.wait(60) == 1
    log = workers.log()
    gave_up = [line for line in log.splitlines() if "keeps dying" in line]
    assert len(gave_up) == 1 and "worker 2" in gave_up[0] and "3 times in a row" in gave_up[0]
    assert log.count("host.py worker 2: cannot start: ") >= 2
    assert log.count("is not a Pixel Commons database") >= 2
    assert "worker 1 server: saved 0 players; host stopped" in log


def test_workers_above_one_need_redis(tmp_path, test_map_path):
    refusal(run_host("--db", str(tmp_path / "w.db"), "--workers", "2", map_path=test_map_path),
            "--workers 2 needs --redis")
    assert not (tmp_path / "w.db").exists()


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_single_host_says_it_is_no_worker(tmp_path, test_map_path, mode):
    with HostProcess(tmp_path / "w.db", async_mode=mode,
                     extra_args=("--map", str(test_map_path), "--workers", "1")) as host:
        health = requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()
        assert health["worker"] is None and health["pid"] == host.proc.pid


def test_only_worker_1_first_start_makes_a_new_key():
    """host.py --workers N --new-key: one new key for all, made once; the
    other workers and every restart read it (else each would sign with its own)."""
    import host

    argv = ["--db", "w.db", "--workers", "3", "--new-key"]
    starts = {(index, first): host.parse_args(workers_command(argv, index, first)[2:])
              for index in (1, 2, 3) for first in (True, False)}
    assert [key for key, args in starts.items() if args.new_key] == [(1, True)]
    assert {args.worker for args in starts.values()} == {1, 2, 3}
    assert all(args.stop_when_stdin_closes and args.port == 5123 for args in starts.values())
    assert not host.parse_args(["--db", "w.db"]).new_key
    assert host.parse_args(["--db", "w.db"]).worker is None


def workers_command(argv: list[str], index: int, first: bool) -> list[str]:
    from server.workers import worker_command

    return worker_command(argv, index, 5123, first)
