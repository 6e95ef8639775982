"""A join storm: hundreds of players joining within a few seconds while others walk.

    python -m bench.join_storm [--players 500] [--walkers 50] [--spread 4]
                               [--before ../main] [--turns 1]

Each run starts a real host (``host.py`` of a checkout, under eventlet) on a
fresh database that already holds the accounts and their session tokens
(written before the host starts, so no password hashing is measured here),
then the Node generator (``bench/loadgen/joinstorm.mjs``) joins the walkers,
lets them walk on the spot, and joins ``--players`` more spread evenly over
``--spread`` seconds.  Reported per run:

* tick lateness p50 / p99 / max over the ticks from the storm's start until
  ``--settle`` seconds after its last join (read from the host's lateness
  histogram in ``/api/stats``, whose buckets bound the figures: "<=10" means
  at most 10 ms), and the host's own p50 / p99 / max since it started;
* packets the host wrote through its fan-out (``broadcast_packets_*``) over
  that window, and the presence packets (``players_joined`` / ``players_left``,
  or an older host's ``player_joined`` / ``player_left``) the clients received;
* the host's CPU over the window (% of one core), welcome time, whether every
  client's list of who is online came out right, and the load average.

With ``--before CHECKOUT`` the runs alternate between that checkout's host
and this one (``--turns`` pairs), so both see the same machine.
Load goes to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.node_load import LOADGEN, ensure_installed  # noqa: E402
from game.client.host_process import HostProcess  # noqa: E402
from game.core import protocol as P  # noqa: E402

SCRIPT = LOADGEN / "joinstorm.mjs"
PASSWORD = "storm-password"
BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 250, 1000, 5000)


def seed_accounts(db_path: Path, count: int) -> list[str]:
    """``count`` accounts and a session token for each, written straight into
    a new database (one password hash for all: it is never checked here)."""
    from server.accounts import Accounts, password_hasher
    from server.config import load_or_create_secret
    from server.runtime import Runtime
    from server.storage import Storage

    runtime = Runtime("threading")
    storage = Storage(db_path, runtime)
    try:
        secret = load_or_create_secret(db_path.with_name(db_path.name + ".key"))
        accounts = Accounts(storage, runtime, secret, token_ttl_s=86400,
                            max_failures_per_minute=1000)
        pw_hash = password_hasher().hash(PASSWORD)
        rng = random.Random(7)
        tokens = []
        for i in range(count):
            name = f"storm{i:04d}"
            uid = storage.create_user(name, pw_hash, P.random_look(rng).as_dict())
            tokens.append(accounts._new_session(uid, name)[1])
        return tokens
    finally:
        storage.close()


class Checkout(HostProcess):
    """A host started from another checkout's ``host.py``."""

    def __init__(self, folder: Path, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.script = folder / "host.py"


def from_histogram(before: dict, after: dict) -> dict:
    """Lateness p50 / p99 / max bounds over the ticks between two stats readings."""
    hist_b = before.get("lateness_histogram_ms") or {}
    hist_a = after.get("lateness_histogram_ms") or {}
    labels = [f"<={b}" for b in BUCKETS_MS] + [f">{BUCKETS_MS[-1]}"]
    counts = [hist_a.get(k, 0) - hist_b.get(k, 0) for k in labels]
    total = sum(counts)
    out = {"ticks": total}
    if not total:
        return out
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        need, seen = q * total, 0
        for label, n in zip(labels, counts):
            seen += n
            if seen >= need:
                out[f"lateness_{name}_ms"] = label
                break
    out["lateness_max_ms"] = next(label for label, n in reversed(list(zip(labels, counts))) if n)
    out["ticks_over_10ms"] = sum(n for label, n in zip(labels, counts)
                                 if label not in ("<=1", "<=2", "<=5", "<=10"))
    return out


def run_once(folder: Path, args: argparse.Namespace) -> dict:
    """One storm against the host of checkout ``folder``."""
    import psutil

    with tempfile.TemporaryDirectory(prefix="join-storm-") as tmp:
        db = Path(tmp) / "world.db"
        tokens = seed_accounts(db, args.walkers + args.players)
        host = Checkout(folder, db, log_path=Path(tmp) / "host.log")
        host.start(timeout=60)
        try:
            plan = {"url": host.url, "walkers": tokens[:args.walkers],
                    "joiners": tokens[args.walkers:], "spread_s": args.spread,
                    "settle_s": args.settle, "warmup_s": 2.0, "sample": 10}
            plan_path = Path(tmp) / "plan.json"
            plan_path.write_text(json.dumps(plan))
            proc = psutil.Process(host.proc.pid)
            gen = subprocess.Popen(["node", str(SCRIPT), str(plan_path)], cwd=LOADGEN,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            errors: list[str] = []
            threading.Thread(target=lambda: errors.extend(gen.stderr), daemon=True).start()
            storm = json.loads(gen.stdout.readline())["storm"]
            # Measured from the storm's start until every joiner has its welcome
            # and the settle time has passed (the generator then reports).
            time.sleep(max(0.0, storm["start_ms"] / 1000.0 - time.time()))
            spy = None
            if getattr(args, "profile", None):  # py-spy over the storm, collapsed stacks
                spy = subprocess.Popen(
                    ["py-spy", "record", "-p", str(proc.pid), "-r", "50", "-f", "raw", "-o",
                     args.profile, "-d", str(int(args.spread + args.settle))],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu0, t0, load0 = _cpu(proc), time.monotonic(), os.getloadavg()[0]
            before = host_stats(host.url)
            stats = None
            for line in gen.stdout:
                if line.startswith("{") and "stats" in json.loads(line):
                    stats = json.loads(line)["stats"]
                    break
            cpu1, t1 = _cpu(proc), time.monotonic()
            after = host_stats(host.url)
            if spy is not None:
                spy.wait(30)
            gen.wait(60)
            if stats is None:
                raise RuntimeError("the generator gave no figures:\n" + "".join(errors[-20:]))
        finally:
            host.stop()
    written = ("broadcast_packets_written", "broadcast_packets_queued")
    return {
        "host": str(folder),
        **{k: v for k, v in from_histogram(before, after).items()},
        "host_lateness_p50_ms": after.get("lateness_p50_ms"),
        "host_lateness_p99_ms": after.get("lateness_p99_ms"),
        "host_lateness_max_ms": after.get("lateness_max_ms"),
        "fanout_packets": sum(after.get(k, 0) - before.get(k, 0) for k in written),
        "host_cpu_pct": round(100.0 * (cpu1 - cpu0) / (t1 - t0), 1),
        "host_cpu_s": round(cpu1 - cpu0, 2),
        "window_s": round(t1 - t0, 2),
        "generator_log": [line.strip() for line in errors[:5]],
        "load_avg_1m": round((load0 + os.getloadavg()[0]) / 2, 2),
        **stats,
    }


def host_stats(url: str) -> dict:
    """/api/stats, waiting for a host busy with the storm (an older host
    answered only after seconds)."""
    import requests

    for _ in range(3):
        try:
            reply = requests.get(url + P.HTTP_STATS, timeout=20.0)
            if reply.ok:
                return reply.json()
        except (requests.RequestException, ValueError):
            pass
    raise RuntimeError(f"{url} gave no /api/stats")


def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def section(args: argparse.Namespace) -> dict:
    """The join storm's figures for ``bench.run``: {"runs": [...], ...}.
    ``args`` may leave out any of this module's flags (their defaults apply)."""
    args = argparse.Namespace(**{**vars(parse_args([])), **vars(args)})
    ensure_installed()
    runs = []
    before = Path(args.before).resolve() if args.before else None
    for _ in range(max(1, args.turns)):
        if before is not None:
            runs.append({"which": "before", **run_once(before, args)})
        runs.append({"which": "after", **run_once(ROOT, args)})
    return {"players": args.players, "walkers": args.walkers, "spread_s": args.spread,
            "settle_s": args.settle, "runs": runs}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--players", type=int, default=500, help="players joining in the storm")
    parser.add_argument("--walkers", type=int, default=50,
                        help="players already in the world, walking, before the storm")
    parser.add_argument("--spread", type=float, default=4.0,
                        help="seconds over which the joins start, evenly")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds measured after the last join started")
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="another checkout whose host runs in turns with this one")
    parser.add_argument("--turns", type=int, default=1, help="runs of each host, alternating")
    parser.add_argument("--profile", metavar="FILE",
                        help="record the host with py-spy over the storm (collapsed stacks)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = section(args)
    for r in result["runs"]:
        print(f"{r['which']:6} ({r['host']}): {r['joined']}/{r['joiners']} joined in "
              f"{r['all_joined_after_s']} s with {r['walkers']} walking; tick lateness over "
              f"the storm p50 {r.get('lateness_p50_ms')} p99 {r.get('lateness_p99_ms')} "
              f"max {r.get('lateness_max_ms')} ms ({r.get('ticks_over_10ms')} of "
              f"{r.get('ticks')} ticks over 10 ms); host since start p50 "
              f"{r['host_lateness_p50_ms']} p99 {r['host_lateness_p99_ms']} max "
              f"{r['host_lateness_max_ms']} ms")
        print(f"        presence packets received {r['presence_packets']} "
              f"({r['presence_bytes'] / 1e6:.1f} MB), fan-out packets {r['fanout_packets']}, "
              f"host CPU {r['host_cpu_s']} s in {r['window_s']} s ({r['host_cpu_pct']} % of a "
              f"core), welcome p50 {r['welcome_p50_ms']} p99 {r['welcome_p99_ms']} ms; "
              f"lists checked {r['rosters_checked']}, wrong "
              f"{r['roster_mismatches']}, problems {r['problems']}; corrections "
              f"{r['corrections']}, errors {r['errors']}, disconnects {r['disconnects']}; "
              f"load average {r['load_avg_1m']}")
        for line in r["generator_log"]:
            print(f"        generator: {line}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
