"""Overload: a host past its ceiling, before and after it learned to bend.

    python -m bench.overload --before /path/to/old-checkout --players 500 --rounds 2

A crowd of ``--players`` (default 500: about 1.5 times the crowd ceiling of
~350 players measured on a quiet machine, see docs/benchmarks.md) walks for
``--seconds`` with the Node load generator (``bench.node_load``), against
the host of ``--before`` and of this checkout in turns, each on a fresh
database (``bench.compare`` style: the machine's load moves between runs,
so the two alternate).  Each run reports what a player would notice:

- delivery of nearby moves (the sampled observers and the movers within
  their view; ``delivered_pct``), p50/p99 latency;
- corrections by reason (``too_fast`` ones are honest walkers refused: the
  generator walks every path at walking speed);
- the host's ``overloaded`` flag and tick rate at the end of the window, and
  every ``pace`` it announced; its log lines about overload;
- the host's CPU (% of one core) and the machine's load average.

Hosts older than the move's ``t`` get moves without it (``--no-move-time``).

On a machine shared with other work the host's ceiling is lower and moves
with that work: pick ``--players`` so that the old host falls behind (its
``too_fast`` corrections and its delivery show it), and read the load
average beside the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.compare import HostFailed, checkout_host  # noqa: E402

PLAYERS = 500
SECONDS = 10.0
FIELDS = ("joined", "delivered_pct", "pairs", "p50_ms", "p99_ms", "corrections",
          "host_cpu_pct", "host_overloaded", "host_tick_rate", "paces",
          "host_tick_lateness_p99_ms", "tool_cpu_pct", "machine_cpu_pct", "errors",
          "disconnects", "warning")


def knows_move_time(checkout: Path) -> bool:
    """Whether that checkout's host reads a move's ``t``."""
    rules = (checkout / "game" / "core" / "rules.py").read_text(encoding="utf-8")
    return "CLIENT_CLOCK_BANK_MAX_S" in rules


def run_once(checkout: Path, players: int, seconds: float, folder: Path) -> dict:
    """One host from ``checkout`` under the crowd; the figures of one run."""
    db = folder / "world.db"
    log_path = folder / "host.log"
    load_before = os.getloadavg()
    try:
        with checkout_host(checkout, db, log_path) as url:
            cmd = [sys.executable, "-m", "bench.node_load", "--server", url, "--db", str(db),
                   "--players", str(players), "--seconds", str(seconds), "--crowd",
                   "--prefix", "ovl"]
            if not knows_move_time(checkout):
                cmd.append("--no-move-time")
            run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
            load_after = os.getloadavg()
    except HostFailed as exc:
        return {"error": str(exc)}
    if run.returncode != 0:
        return {"error": run.stderr.strip()[-500:]}
    report = json.loads(run.stdout.strip().splitlines()[-1])
    lines = log_path.read_text(errors="replace").splitlines()
    figures = {field: report.get(field) for field in FIELDS}
    corrections = figures["corrections"] or {}
    figures["too_fast"] = corrections.get("too_fast", 0)
    figures["overload_log"] = [line for line in lines if "overloaded" in line][:6]
    figures["load_average"] = {"start": round(load_before[0], 2),
                               "end": round(load_after[0], 2)}
    return figures


def run(before: Path, after: Path, players: int = PLAYERS, seconds: float = SECONDS,
        rounds: int = 1, echo=None) -> list[dict]:
    """Both hosts in turns, ``rounds`` times; one dict per run."""
    runs = []
    for round_no in range(1, rounds + 1):
        for label, checkout in (("before", before), ("after", after)):
            with tempfile.TemporaryDirectory(prefix="pc-overload-") as tmp:
                figures = run_once(checkout.resolve(), players, seconds, Path(tmp))
            entry = {"host": label, "checkout": str(checkout), "round": round_no, **figures}
            runs.append(entry)
            if echo is not None:
                echo(entry)
    return runs


def section(args) -> dict:
    """The overload figures for ``bench.run``: ``args`` may carry
    ``overload_before`` (an older checkout; default: none, this host only),
    ``overload_players``, ``seconds`` and ``overload_rounds``."""
    before = getattr(args, "overload_before", None)
    players = getattr(args, "overload_players", PLAYERS)
    seconds = getattr(args, "seconds", SECONDS)
    rounds = getattr(args, "overload_rounds", 1)
    if before is None:
        with tempfile.TemporaryDirectory(prefix="pc-overload-") as tmp:
            runs = [{"host": "after", "checkout": str(ROOT), "round": 1,
                     **run_once(ROOT, players, seconds, Path(tmp))}]
    else:
        runs = run(Path(before), ROOT, players, seconds, rounds)
    return {"players": players, "seconds": seconds, "mode": "crowd", "runs": runs,
            "load_average_end": [round(v, 2) for v in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overload",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                        help="an older checkout to run in turns with this one "
                             "(default: this one only)")
    parser.add_argument("--players", type=int, default=PLAYERS, metavar="N",
                        help=f"crowd size (default {PLAYERS})")
    parser.add_argument("--seconds", type=float, default=SECONDS, metavar="S",
                        help=f"measured seconds (default {SECONDS:g})")
    parser.add_argument("--rounds", type=int, default=1, metavar="R", help="default: 1")
    args = parser.parse_args(argv)
    if args.before is not None and not (args.before / "host.py").is_file():
        parser.error(f"{args.before} has no host.py")
    echo = lambda entry: print(json.dumps(entry), flush=True)  # noqa: E731
    if args.before is None:
        with tempfile.TemporaryDirectory(prefix="pc-overload-") as tmp:
            echo({"host": "after", "checkout": str(ROOT), "round": 1,
                  **run_once(ROOT, args.players, args.seconds, Path(tmp))})
    else:
        run(args.before, ROOT, args.players, args.seconds, args.rounds, echo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
