"""Run two versions of the host under the same load, in turns.

    python -m bench.compare --a /path/to/old-checkout --b . --players 200 --crowd --rounds 2
    python -m bench.compare --a OLD --b . --players 500 --spread --world spread.db

A benchmark's figures move with the machine and with the load tool; this
answers only "is this host slower than that one": both hosts (each started
from its own checkout with ``python host.py``) are measured by the same Node
load generator (``bench.node_load``, from this checkout), one after the
other, ``--rounds`` times, each on a fresh copy of the same world.  Spread
runs want players already spread over the map: ``--world DB`` copies that
database, prepared once with the accounts placed uniformly over the map
(``python -m bench.node_load --uniform-world DB --players N --prefix cmp``)
or walked out beforehand (``python -m bench.load --spread --seconds 40``);
the accounts' names must start with ``--prefix``.  A world copied with its
session key (``DB.key``) is logged into with the sessions it holds, which
saves a password check per player and run.  Spread runs report their
density (players per 1,000 reachable tiles, movers in view per player).

Prints one JSON line per run: the checkout, the round and the figures of
``bench.node_load``'s report that compare hosts.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from game.client.host_process import free_port  # noqa: E402
from game.client.net import probe  # noqa: E402

FIELDS = ("p50_ms", "p99_ms", "delivered_pct", "host_cpu_pct", "tool_cpu_pct",
          "machine_cpu_pct", "bytes_per_s", "host_tick_lateness_p99_ms", "send_lag_p99_ms",
          "corrections", "players_per_1000_tiles", "movers_seen_per_client")
HOST_START_S = 60.0


def host_args(checkout: Path, keep_key: bool = False) -> list[str]:
    """Flags a benchmark host needs that the checkout's host.py knows
    (``keep_key``: the world's session key was copied with it)."""
    helped = subprocess.run([sys.executable, "host.py", "--help"], cwd=checkout,
                            capture_output=True, text=True, timeout=60).stdout
    wanted = [("--public-stats", []), ("--registrations", ["1000000"]),
              ("--login-failures", ["1000000"])] + ([] if keep_key else [("--new-key", [])])
    return [arg for flag, value in wanted if flag in helped for arg in (flag, *value)]


class HostFailed(RuntimeError):
    """A checkout's host did not start; the message is the end of its log."""


@contextlib.contextmanager
def checkout_host(checkout: Path, db: Path, log_path: Path, keep_key: bool = False):
    """A host from ``checkout``'s own ``host.py`` on a free port with the
    database ``db``, logging to ``log_path``; yields its URL once it answers,
    stops it afterwards.  Raises ``HostFailed`` when it does not come up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        host = subprocess.Popen([sys.executable, "host.py", "--port", str(port), "--db", str(db),
                                 "--log-level", "WARNING", *host_args(checkout, keep_key)],
                                cwd=checkout, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + HOST_START_S
            while not probe(url, timeout=1.0):
                if host.poll() is not None or time.monotonic() > deadline:
                    raise HostFailed(log_path.read_text(errors="replace")[-500:])
                time.sleep(0.1)
            yield url
        finally:
            host.terminate()
            try:
                host.wait(30)
            except subprocess.TimeoutExpired:
                host.kill()


def measure(checkout: Path, args: argparse.Namespace, folder: Path) -> dict:
    db = folder / "world.db"
    key = Path(str(args.world) + ".key") if args.world else None
    keep_key = key is not None and key.is_file()
    if args.world:
        shutil.copy(args.world, db)
    if keep_key:
        # With its key, the sessions stored in the world stay valid: the
        # players log in with them instead of a password check each.
        shutil.copy(key, Path(str(db) + ".key"))
    try:
        with checkout_host(checkout, db, folder / "host.log", keep_key) as url:
            mode = "--spread" if args.spread else "--crowd"
            run = subprocess.run([sys.executable, "-m", "bench.node_load", "--server", url,
                                  "--db", str(db), "--players", str(args.players),
                                  "--seconds", str(args.seconds), mode, "--prefix", args.prefix,
                                  *(["--reuse-sessions"] if keep_key else [])],
                                 cwd=ROOT, capture_output=True, text=True, timeout=1800)
    except HostFailed as exc:
        return {"error": str(exc)}
    if run.returncode != 0:
        return {"error": run.stderr.strip()[-500:]}
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return {field: report.get(field) for field in FIELDS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, required=True, metavar="CHECKOUT",
                        help="the first host's checkout (a folder with host.py)")
    parser.add_argument("--b", type=Path, default=ROOT, metavar="CHECKOUT",
                        help="the second host's checkout (default: this one)")
    parser.add_argument("--players", type=int, default=200, metavar="N")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S")
    area = parser.add_mutually_exclusive_group()
    area.add_argument("--crowd", dest="spread", action="store_false", default=False,
                      help="everyone in one view (default)")
    area.add_argument("--spread", dest="spread", action="store_true",
                      help="players where the world's database has them")
    parser.add_argument("--world", type=Path, default=None, metavar="DB",
                        help="start each run from a copy of this database (default: empty)")
    parser.add_argument("--prefix", default="cmp", metavar="NAME",
                        help="account names' prefix (default: cmp)")
    parser.add_argument("--rounds", type=int, default=2, metavar="R", help="default: 2")
    args = parser.parse_args(argv)
    for checkout in (args.a, args.b):
        if not (checkout / "host.py").is_file():
            parser.error(f"{checkout} has no host.py")
    for round_no in range(1, args.rounds + 1):
        for label, checkout in (("a", args.a), ("b", args.b)):
            with tempfile.TemporaryDirectory(prefix="pc-compare-") as tmp:
                figures = measure(checkout.resolve(), args, Path(tmp))
            print(json.dumps({"host": label, "checkout": str(checkout), "round": round_no,
                              **figures}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
