"""The storage on SQLite and on PostgreSQL, side by side.

    python -m bench.storage_engines --pg postgresql://USER:PASSWORD@HOST:PORT/DBNAME
    python -m bench.storage_engines           # starts a throwaway local PostgreSQL server

Times, through ``server.storage.Storage`` (threading mode, no host), one
``add_message`` (a direct message stored and its unread count read back, as
the DM handler waits for it) and one ``save_positions`` of ``--players``
positions until they are written, on a fresh SQLite file and on an empty
PostgreSQL database (``--pg``; without it, a server of its own from
``tests/servers.py``, started as the tests start theirs: fsync off, so its
figures leave out the disk).  Prints the median and p90 in milliseconds.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Iterator

from server.runtime import Runtime
from server.storage import Storage


def measure(target: str | Path, players: int, rounds: int) -> dict[str, list[float]]:
    store = Storage(target, Runtime("threading"))
    try:
        ids = [store.create_user(f"bench{i:04d}", "hash") for i in range(players)]
        store.save_positions((uid, 1.0, 1.0) for uid in ids)
        store.flush()  # the first batch inserts; the timed ones update, as in play
        timings: dict[str, list[float]] = {"add_message": [], "save_positions": []}
        for n in range(rounds):
            start = time.perf_counter()
            store.add_message(ids[n % players], ids[(n + 1) % players], f"message {n}")
            timings["add_message"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.save_positions((uid, 2.0 + n, 3.0 + n) for uid in ids)
            store.flush()
            timings["save_positions"].append((time.perf_counter() - start) * 1000)
        return timings
    finally:
        store.close()


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.servers import PostgresServer

    server = PostgresServer().start()
    try:
        yield server.create_database("bench_storage")
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--pg", default=None, metavar="URL",
                        help="an empty PostgreSQL database (default: a throwaway local server)")
    parser.add_argument("--players", type=int, default=500, help="positions in each batch")
    parser.add_argument("--rounds", type=int, default=100, help="writes timed of each kind")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = measure(Path(folder) / "world.db", args.players, args.rounds)
    with postgres(args.pg) as url:
        results["PostgreSQL"] = measure(url, args.players, args.rounds)
    print(f"{'engine':<12} {'what':<32} {'median ms':>10} {'p90 ms':>8}")
    for engine, timings in results.items():
        for what, values in timings.items():
            label = what if what == "add_message" else f"save_positions ({args.players})"
            p90 = statistics.quantiles(values, n=10)[-1]
            print(f"{engine:<12} {label:<32} {statistics.median(values):>10.2f} {p90:>8.2f}")


if __name__ == "__main__":
    main()
