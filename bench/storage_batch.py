"""Time one batch of position writes through the host's storage.

    python -m bench.storage_batch [--players 200] [--rounds 50]

Opens a fresh database with ``server.storage.Storage`` (threading mode, no
host), creates the accounts, then queues a position for every player and waits
until the batch is on disk, ``--rounds`` times.  Prints the median and the
slowest tenth in milliseconds.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from server.runtime import Runtime
from server.storage import Storage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--players", type=int, default=200, help="positions in each batch")
    parser.add_argument("--rounds", type=int, default=50, help="batches timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Storage(Path(folder) / "world.db", Runtime("threading"))
        try:
            ids = [store.create_user(f"batch{i:04d}", "hash") for i in range(args.players)]
            store.save_positions((uid, 1.0, 1.0) for uid in ids)
            store.flush()  # the first batch inserts; the timed ones update, as in play
            timings = []
            for n in range(args.rounds):
                start = time.perf_counter()
                store.save_positions((uid, 2.0 + n, 3.0 + n) for uid in ids)
                store.flush()
                timings.append((time.perf_counter() - start) * 1000)
        finally:
            store.close()
    timings.sort()
    p90 = timings[min(len(timings) - 1, int(len(timings) * 0.9))]
    print(f"batch of {args.players} positions: median {statistics.median(timings):.2f} ms, "
          f"p90 {p90:.2f} ms ({args.rounds} rounds)")


if __name__ == "__main__":
    main()
