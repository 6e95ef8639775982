"""``host.py --workers 2 --redis URL``, as a hosting player runs it: two
worker processes on one port and one database file serve one world;
players who landed on different workers see each other walk, and the game's
own client, its worker killed, reconnects and comes back where it stood."""
from __future__ import annotations

import math
import re
import signal
import subprocess
import sys

import pytest

from game.client.host_process import ROOT
from game.client.net import HostClient, probe
from game.core import protocol as P

from .conftest import PASSWORD, unique_name, wait_for_position, wait_until
from .helpers_cluster import WALK_SPEED_USED, walk
from .support import free_port


class Workers:
    """``host.py --workers 2 --redis URL`` on one port and one database file."""

    def __init__(self, tmp_path, map_path, redis_url: str, mode: str, *extra: str):
        self.log_path = tmp_path / "host.log"
        self.clients: list[HostClient] = []
        for attempt in range(3):
            # A port found free can be taken by another program before the
            # workers bind it: they then stop naming it, and another is tried.
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log_path.unlink(missing_ok=True)
            with open(self.log_path, "ab") as log:
                self.parent = subprocess.Popen(
                    [sys.executable, "host.py", "--workers", "2", "--redis", redis_url,
                     "--db", str(tmp_path / "world.db"), "--port", str(self.port), "--map",
                     str(map_path), "--async-mode", mode, "--registrations", "1000", *extra],
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            wait_until(lambda: self.parent.poll() is not None
                       or self.log().count("hosting (") == 2, timeout=60)
            if self.parent.poll() is None:
                break
            assert attempt < 2 and f"port {self.port}" in self.log(), self.log()[-2000:]
        wait_until(lambda: probe(self.url, timeout=0.5), timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def player(self, reconnect: bool = False) -> tuple[HostClient, str]:
        """A new joined player and the worker it landed on ("1" or "2")."""
        client = HostClient(self.url, reconnect=reconnect)
        self.clients.append(client)
        name = unique_name("wk")
        client.register(name, PASSWORD)
        client.connect()
        you = client.wait_for(P.WELCOME).data["you"]
        client.at = (you["x"], you["y"])
        line = wait_until(lambda: re.search(rf"worker (\d) server: {name} joined", self.log()),
                          timeout=5)
        return client, line.group(1)

    def worker_process(self, index: str):
        """The worker process started with ``--worker INDEX``."""
        import psutil

        for child in psutil.Process(self.parent.pid).children():
            command = child.cmdline()
            if "--worker" in command and command[command.index("--worker") + 1] == index:
                return child
        raise AssertionError(f"no worker {index}")

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.parent.send_signal(signal.SIGTERM)
        assert self.parent.wait(30) == 0, self.log()[-2000:]


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_players_on_two_workers_share_one_world(tmp_path, test_map_path, redis_server, mode):
    workers = Workers(tmp_path, test_map_path, redis_server.url, mode)
    try:
        where: dict[str, HostClient] = {}  # worker index -> a player on it
        for _ in range(16):  # the kernel spreads connections; soon both have one
            client, worker = workers.player()
            where.setdefault(worker, client)
            if len(where) == 2:
                break
        assert sorted(where) == ["1", "2"], workers.log()[-2000:]
        one, two = where["1"], where["2"]
        x, y = two.at
        end = walk(two, [(x, y + 40.0)])
        wait_for_position(one, two.session.user_id, end, timeout=5)
    finally:
        workers.stop()


@pytest.mark.host_may_fail
def test_the_game_client_comes_back_after_its_worker_is_killed(tmp_path, test_map_path,
                                                               redis_server):
    # Positions go to the database every 30 s here: what brings the player
    # back is where the cluster last saw it (Redis).
    workers = Workers(tmp_path, test_map_path, redis_server.url, "eventlet",
                      "--save-interval", "30")
    try:
        client, worker = workers.player(reconnect=True)
        x, y = client.at
        stood = walk(client, [(x, y + 240.0)])
        workers.worker_process(worker).kill()  # kill -9
        # The client reconnects by itself (to the other worker, or this one
        # started again) and is welcomed where it stood, within a second of walking.
        welcome = client.wait_for(P.WELCOME, timeout=15).data["you"]
        assert math.hypot(welcome["x"] - stood[0], welcome["y"] - stood[1]) <= WALK_SPEED_USED
    finally:
        workers.stop()
