"""Tick lateness while a burst of players registers or logs in at once.

    python -m bench.login_burst [--players 24]
    python -m bench.login_burst --logins 200 [--async-mode threading]

Starts a fresh host and sends N registrations at once over HTTP (each costs
an argon2id hash), then prints the time taken and the host's tick lateness
from /api/stats.  With --logins N, N accounts are registered first (not
measured), then all N log in at once: it prints the wall time until the last
answer, the answers by status and the tick lateness during the storm.
"""
from __future__ import annotations

import argparse
import collections
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from game.client.host_process import HostProcess
from server.context import LATENESS_BUCKETS_MS

PASSWORD = "burst-password"
# Registrations sent side by side while preparing a login storm.
REGISTER_AT_ONCE = 16


def _name(i: int) -> str:
    return f"burst{i:04d}"


def _post(url: str, i: int) -> int:
    try:
        return requests.post(url, json={"username": _name(i), "password": PASSWORD},
                             timeout=120).status_code
    except requests.RequestException as exc:
        return type(exc).__name__  # type: ignore[return-value]


def _at_once(url: str, count: int) -> tuple[float, collections.Counter]:
    """POST ``count`` credentials all at once; seconds until the last answer."""
    statuses: collections.Counter = collections.Counter()
    gate = threading.Barrier(count + 1)

    def send(i: int) -> None:
        gate.wait()
        statuses[_post(url, i)] += 1

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    return time.monotonic() - started, statuses


def _bucket_quantile(before: list[int], after: list[int], q: float) -> tuple[str, str]:
    """Upper bounds of the p``q`` and the worst tick between two histograms."""
    counts = [a - b for a, b in zip(after, before)]
    bounds = [f"<={b}" for b in LATENESS_BUCKETS_MS] + [f">{LATENESS_BUCKETS_MS[-1]}"]
    total, seen, p = sum(counts), 0, bounds[-1]
    for bound, n in zip(bounds, counts):
        seen += n
        if seen >= q * total:
            p = bound
            break
    worst = max((b for b, n in zip(bounds, counts) if n), key=bounds.index, default="-")
    return p, worst


def _histogram(stats: dict) -> list[int]:
    counts = stats["lateness_histogram_ms"]  # keyed by bound; the JSON sorts the keys
    return [counts[f"<={b}"] for b in LATENESS_BUCKETS_MS] + [counts[f">{LATENESS_BUCKETS_MS[-1]}"]]


def login_storm(host: HostProcess, count: int) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(REGISTER_AT_ONCE) as pool:
        made = collections.Counter(pool.map(lambda i: _post(host.url + "/api/register", i),
                                            range(count)))
    print(f"registered {count} accounts in {time.monotonic() - started:.1f} s "
          f"(not measured): {dict(made)}")
    stats_url = host.url + "/api/stats"
    before = requests.get(stats_url, timeout=5).json()
    worst_seen: list[float] = []
    done = threading.Event()

    def watch() -> None:  # the last 5 s max, sampled, gives the storm's worst tick
        while not done.wait(1.0):
            worst_seen.append(requests.get(stats_url, timeout=5).json()
                              ["lateness_last_5s_max_ms"] or 0.0)

    watcher = threading.Thread(target=watch)
    watcher.start()
    took, statuses = _at_once(host.url + "/api/login", count)
    after = requests.get(stats_url, timeout=5).json()
    done.set()
    watcher.join()
    worst_seen.append(after["lateness_last_5s_max_ms"] or 0.0)
    p99, worst_bucket = _bucket_quantile(_histogram(before), _histogram(after), 0.99)
    print(f"{count} logins at once ({host.async_mode}): last answer after {took:.2f} s; "
          f"answers {dict(sorted(statuses.items(), key=str))}")
    print(f"tick lateness during the storm: p99 {p99} ms ({after['ticks'] - before['ticks']} "
          f"ticks), max {max(worst_seen):.1f} ms (bucket {worst_bucket} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--players", type=int, default=24, help="registrations sent at once")
    parser.add_argument("--logins", type=int, default=0,
                        help="instead: register this many accounts, then log them all in at once")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"), default="eventlet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, \
            HostProcess(Path(folder) / "world.db", async_mode=args.async_mode) as host:
        if args.logins:
            login_storm(host, args.logins)
            return
        took, _ = _at_once(host.url + "/api/register", args.players)
        stats = requests.get(host.url + "/api/stats", timeout=5).json()
        print(f"{args.players} registrations in {took:.2f} s; tick lateness "
              f"p50 {stats['lateness_p50_ms']} ms, p99 {stats['lateness_p99_ms']} ms, "
              f"max {stats['lateness_max_ms']} ms")


if __name__ == "__main__":
    main()
