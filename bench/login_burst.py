"""A login storm: tick lateness and the time until the last answer.

    python -m bench.login_burst                       # 200 logins at once, both async modes
    python -m bench.login_burst --logins 200 --async-mode threading
    python -m bench.login_burst --players 24          # instead: 24 registrations at once

For each async mode it starts a fresh host, registers N accounts (not
measured), waits for the host to settle, then sends all N logins at once over
HTTP, each from its own connection, and prints the wall time until the last
answer, the answers by status and the host's tick lateness during the storm:
p50 and p99 from the /api/stats histogram (the upper bound of their bucket)
and the worst tick, sampled every half second.  The goal: 200 logins within
10 s with tick lateness p99 <= 10 ms.
"""
from __future__ import annotations

import argparse
import collections
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from game.client.host_process import HostProcess
from server.context import LATENESS_BUCKETS_MS

PASSWORD = "burst-password"
LOGINS = 200
MODES = ("eventlet", "threading")
# Registrations sent side by side while preparing a login storm.
REGISTER_AT_ONCE = 16
# The window of the host's lateness_last_5s_max_ms, and how often it is read.
RECENT_WINDOW_S = 5.0
SAMPLE_EVERY_S = 0.5
ANSWER_TIMEOUT_S = 120


def _name(i: int) -> str:
    return f"burst{i:04d}"


def _post(url: str, i: int) -> int | str:
    try:
        return requests.post(url, json={"username": _name(i), "password": PASSWORD},
                             timeout=ANSWER_TIMEOUT_S).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


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


def _histogram(stats: dict) -> list[int]:
    counts = stats["lateness_histogram_ms"]
    return [counts[f"<={b}"] for b in LATENESS_BUCKETS_MS] + \
        [counts[f">{LATENESS_BUCKETS_MS[-1]}"]]


def bucket_quantile(counts: list[int], q: float) -> float | None:
    """The upper bound (ms) of the bucket holding the p``q`` tick (inf past the last)."""
    total, seen = sum(counts), 0
    if not total:
        return None
    for bound, n in zip([*LATENESS_BUCKETS_MS, float("inf")], counts):
        seen += n
        if seen >= q * total:
            return float(bound)
    return float("inf")


def _stats(url: str) -> dict:
    return requests.get(url + "/api/stats", timeout=10).json()


def login_storm(host: HostProcess, count: int) -> dict:
    """Register ``count`` accounts, then log them all in at once; the figures."""
    started = time.monotonic()
    with ThreadPoolExecutor(REGISTER_AT_ONCE) as pool:
        made = collections.Counter(pool.map(lambda i: _post(host.url + "/api/register", i),
                                            range(count)))
    print(f"  registered {count} accounts in {time.monotonic() - started:.1f} s "
          f"(not measured): {dict(made)}", flush=True)
    time.sleep(RECENT_WINDOW_S)  # so the worst-tick window holds no registration
    before = _stats(host.url)
    worst_seen: list[float] = []
    done = threading.Event()

    def watch() -> None:  # the host keeps the worst of the last 5 s; read it often
        while not done.wait(SAMPLE_EVERY_S):
            worst_seen.append(_stats(host.url)["lateness_last_5s_max_ms"] or 0.0)

    watcher = threading.Thread(target=watch)
    watcher.start()
    took, statuses = _at_once(host.url + "/api/login", count)
    done.set()
    watcher.join()
    after = _stats(host.url)
    worst_seen.append(after["lateness_last_5s_max_ms"] or 0.0)
    counts = [a - b for a, b in zip(_histogram(after), _histogram(before))]
    return {"async_mode": host.async_mode, "logins": count, "seconds": round(took, 2),
            "ok": statuses.get(200, 0),
            "answers": {str(k): v for k, v in sorted(statuses.items(), key=str)},
            "ticks": after["ticks"] - before["ticks"],
            "lateness_p50_ms_at_most": bucket_quantile(counts, 0.50),
            "lateness_p99_ms_at_most": bucket_quantile(counts, 0.99),
            "lateness_max_ms": max(worst_seen),
            "hash_workers": _hash_workers(host)}


def _hash_workers(host: HostProcess) -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return len(psutil.Process(host.proc.pid).children(recursive=True))


def report_line(r: dict) -> str:
    return (f"{r['logins']} logins at once ({r['async_mode']}): last answer after "
            f"{r['seconds']:.2f} s, {r['ok']} ok {r['answers']}; tick lateness during the "
            f"storm ({r['ticks']} ticks): p50 <= {r['lateness_p50_ms_at_most']:g} ms, "
            f"p99 <= {r['lateness_p99_ms_at_most']:g} ms, max {r['lateness_max_ms']:.1f} ms; "
            f"{r['hash_workers']} hashing worker(s)")


def section(args: argparse.Namespace) -> dict:
    """The login storm in each async mode (``args.logins``, ``args.async_mode``:
    one mode or "both"); for ``python -m bench.run``."""
    logins = getattr(args, "logins", None) or LOGINS
    mode = getattr(args, "async_mode", "both") or "both"
    figures: dict = {"logins": logins, "load_average": [round(v, 2) for v in os.getloadavg()]}
    for each in MODES if mode == "both" else (mode,):
        with tempfile.TemporaryDirectory() as folder, \
                HostProcess(Path(folder) / "world.db", async_mode=each) as host:
            figures[each] = login_storm(host, logins)
        print("  " + report_line(figures[each]), flush=True)
    figures["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    return figures


def registrations(players: int, mode: str) -> None:
    with tempfile.TemporaryDirectory() as folder, \
            HostProcess(Path(folder) / "world.db", async_mode=mode) as host:
        took, _ = _at_once(host.url + "/api/register", players)
        stats = _stats(host.url)
        print(f"{players} registrations ({mode}) in {took:.2f} s; tick lateness "
              f"p50 {stats['lateness_p50_ms']} ms, p99 {stats['lateness_p99_ms']} ms, "
              f"max {stats['lateness_max_ms']} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--logins", type=int, default=LOGINS,
                        help="accounts registered first, then logged in all at once")
    parser.add_argument("--players", type=int, default=0,
                        help="instead: send this many registrations at once")
    parser.add_argument("--async-mode", choices=(*MODES, "both"), default="both")
    args = parser.parse_args(argv)
    if args.players:
        for mode in MODES if args.async_mode == "both" else (args.async_mode,):
            registrations(args.players, mode)
        return
    print(f"load average before: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")
    figures = section(args)
    print(f"load average after: {' / '.join(f'{v:.2f}' for v in figures['load_average_after'])}")


if __name__ == "__main__":
    main()
