"""Tick lateness while a burst of players registers at once.

    python -m bench.login_burst [--players 24]

Starts a fresh host, registers N accounts concurrently over HTTP (each costs
an argon2id hash), then prints the host's tick lateness from /api/stats.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import requests

from game.client.host_process import HostProcess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--players", type=int, default=24, help="registrations sent at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, HostProcess(Path(folder) / "world.db") as host:
        def register(i: int) -> None:
            requests.post(host.url + "/api/register",
                          json={"username": f"burst{i:04d}", "password": "burst-password"}, timeout=60)

        started = time.monotonic()
        threads = [threading.Thread(target=register, args=(i,)) for i in range(args.players)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.monotonic() - started
        stats = requests.get(host.url + "/api/stats", timeout=5).json()
        print(f"{args.players} registrations in {took:.2f} s; tick lateness "
              f"p50 {stats['lateness_p50_ms']} ms, p99 {stats['lateness_p99_ms']} ms, "
              f"max {stats['lateness_max_ms']} ms")


if __name__ == "__main__":
    main()
