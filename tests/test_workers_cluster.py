"""``host.py --workers 2 --redis URL``, as a hosting player runs it: two
worker processes on one port and one database file serve one world, and
players who landed on different workers see each other walk."""
from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from game.client.host_process import ROOT, free_port
from game.client.net import HostClient, probe
from game.core import protocol as P

from .conftest import PASSWORD, unique_name, wait_for_position, wait_until
from .helpers_cluster import walk


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_players_on_two_workers_share_one_world(tmp_path, test_map_path, redis_server, mode):
    port = free_port()
    log_path = tmp_path / "host.log"
    with open(log_path, "ab") as log:
        parent = subprocess.Popen(
            [sys.executable, "host.py", "--workers", "2", "--redis", redis_server.url,
             "--db", str(tmp_path / "world.db"), "--port", str(port), "--map",
             str(test_map_path), "--async-mode", mode, "--registrations", "1000"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    clients: list[HostClient] = []
    try:
        wait_until(lambda: log_path.read_text().count("hosting (") == 2, timeout=60)
        wait_until(lambda: probe(url, timeout=0.5), timeout=10)
        where: dict[str, HostClient] = {}  # worker index -> a player on it
        for _ in range(16):  # the kernel spreads connections; soon both have one
            client = HostClient(url, reconnect=False)
            clients.append(client)
            name = unique_name("wk")
            client.register(name, PASSWORD)
            client.connect()
            you = client.wait_for(P.WELCOME).data["you"]
            client.at = (you["x"], you["y"])
            line = wait_until(lambda: re.search(rf"worker (\d) server: {name} joined",
                                                log_path.read_text()), timeout=5)
            where.setdefault(line.group(1), client)
            if len(where) == 2:
                break
        assert sorted(where) == ["1", "2"], log_path.read_text()[-2000:]
        one, two = where["1"], where["2"]
        x, y = two.at
        end = walk(two, [(x, y + 40.0)])
        wait_for_position(one, two.session.user_id, end, timeout=5)
    finally:
        for client in clients:
            client.close()
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(30) == 0, log_path.read_text()[-2000:]
