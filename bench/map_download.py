"""Tick lateness while players download a large map bundle.

    python -m bench.map_download [--mb 31] [--downloads 4] [--rounds 3] [--async-mode eventlet]

Makes a map whose tileset image is MB megabytes of random bytes (so the bundle
is about that large: random bytes do not compress), starts a host on it with a
few players joined, then fetches the bundle DOWNLOADS at a time, ROUNDS times,
reading as fast as loopback allows.  Prints the tick lateness before and
during the downloads (from /api/stats) and the download rate.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from game.client.host_process import HostProcess
from game.client.net import HostClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import TEST_MAP_ROWS, write_tmx  # noqa: E402


def ticks(url: str) -> tuple[dict, float | None]:
    """The tick lateness histogram so far, and the worst tick of the last 5 s."""
    stats = requests.get(url + "/api/stats", timeout=10).json()
    return stats["lateness_histogram_ms"], stats["lateness_last_5s_max_ms"]


LATE_KEYS = {20: (">5000", "<=5000", "<=1000", "<=250", "<=100", "<=50"),
             50: (">5000", "<=5000", "<=1000", "<=250", "<=100")}


def summary(before: dict, after: dict, worst: float | None) -> str:
    diff = {k: after[k] - before[k] for k in after}
    late = {ms: sum(diff[k] for k in keys) for ms, keys in LATE_KEYS.items()}
    return (f"{sum(diff.values())} ticks, {late[20]} later than 20 ms, {late[50]} later than "
            f"50 ms, worst {worst} ms")


def watch(url: str, stop: threading.Event, worst: list) -> None:
    while not stop.wait(0.5):
        value = ticks(url)[1]
        if value is not None:
            worst.append(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mb", type=float, default=31.0, help="size of the map's image")
    parser.add_argument("--downloads", type=int, default=4, help="downloads at once")
    parser.add_argument("--rounds", type=int, default=3, help="how many times each downloads")
    parser.add_argument("--players", type=int, default=5, help="players joined meanwhile")
    parser.add_argument("--async-mode", default="eventlet", choices=("eventlet", "threading"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "map").mkdir()
        tmx = write_tmx(folder / "map" / "big.tmx", TEST_MAP_ROWS)
        (folder / "map" / "test.png").write_bytes(os.urandom(int(args.mb * 1024 * 1024)))
        started = time.monotonic()
        with HostProcess(folder / "world.db", async_mode=args.async_mode,
                         extra_args=("--map", str(tmx))) as host:
            print(f"host up in {time.monotonic() - started:.1f} s ({args.async_mode})")
            clients = []
            for i in range(args.players):
                client = HostClient(host.url, reconnect=False)
                client.login_or_register(f"dl{os.getpid() % 1000}_{i}", "download-pw")
                client.connect()
                client.wait_for("welcome")
                clients.append(client)
            desc = requests.get(host.url + "/api/health", timeout=10).json()["map"]
            idle_start = ticks(host.url)[0]
            time.sleep(5.0)  # ticks with no download, to compare with
            idle_end, idle_worst = ticks(host.url)
            print(f"bundle {desc['size'] / 1048576:.1f} MB; no download: "
                  f"{summary(idle_start, idle_end, idle_worst)}")

            def fetch() -> None:
                digest = hashlib.sha256()
                with requests.get(host.url + desc["url"], stream=True, timeout=60) as answer:
                    for piece in answer.iter_content(256 * 1024):
                        digest.update(piece)
                assert digest.hexdigest() == desc["hash"]

            stop, worst = threading.Event(), []
            watcher = threading.Thread(target=watch, args=(host.url, stop, worst))
            watcher.start()
            t0 = time.monotonic()
            for _ in range(args.rounds):
                threads = [threading.Thread(target=fetch) for _ in range(args.downloads)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            spent = time.monotonic() - t0
            stop.set()
            watcher.join()
            after, last = ticks(host.url)
            total = desc["size"] * args.downloads * args.rounds / 1048576
            print(f"{args.downloads * args.rounds} downloads, {total:.0f} MB in {spent:.1f} s "
                  f"({total / spent:.0f} MB/s): {summary(idle_end, after, max(worst + [last or 0]))}")
            for client in clients:
                client.close()


if __name__ == "__main__":
    main()
