"""What a crowd costs the host's upload: bytes per client and per mover.

    python -m bench.bandwidth [--players 150] [--seconds 10] [--old-ref REF | --old CHECKOUT]

A real host (``python host.py`` on a fresh world, 127.0.0.1 only) and N
players of the Node load generator (``bench.node_load``, crowd: everyone
within one screen of the spawn, so everyone is in everyone's area) walking
at 20 Hz.  The players count what their sockets receive (every Socket.IO,
Engine.IO and WebSocket byte of every event); the sampled observers also
decode their snapshots and count the movers listed in them, which gives the
bytes a client receives per mover per snapshot (area events and everything
else a client receives included).  A 10 Mbit/s upload then carries

    N = sqrt(10e6 / (8 * tick_rate * bytes_per_mover))

players standing together (each of N clients receives the N movers every
tick), at the measured per-mover cost.

The same is measured for the host of JSON snapshots it replaced: the
checkout ``--old``, or a temporary ``git worktree`` of ``--old-ref``
(default: the last commit with JSON snapshots), removed afterwards;
``--no-old`` skips it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import node_load  # noqa: E402
from bench.compare import HostFailed, checkout_host  # noqa: E402
from bench.overload import knows_move_time  # noqa: E402

# The last commit whose host sent snapshots and areas as JSON text.
JSON_REF = "8aa14a4ed28afc6a7564102e57eb739aba2a3139"
UPLINK_BITS_PER_S = 10_000_000


def players_carried(bytes_per_mover: float | None, tick_rate: float,
                    uplink: float = UPLINK_BITS_PER_S) -> int | None:
    """Players standing together whose snapshots fit the uplink."""
    if not bytes_per_mover:
        return None
    return int(math.sqrt(uplink / (8.0 * tick_rate * bytes_per_mover)))


def measure(checkout: Path, args: argparse.Namespace, folder: Path) -> dict:
    """One run: a host from ``checkout``, the players from this checkout."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "world.db"
    try:
        with checkout_host(checkout, db, folder / "host.log") as url:
            print(f"  node bench/loadgen/loadgen.mjs: {args.players} players, crowd",
                  file=sys.stderr, flush=True)
            report = node_load.run_node(url, args.players, args.rate, args.seconds, "crowd",
                                        "band", db_path=db,
                                        # an older host refuses a move's t
                                        move_time=knows_move_time(Path(checkout)))
    except HostFailed as exc:
        return {"error": str(exc)}
    except (RuntimeError, OSError, ValueError) as exc:
        return {"error": str(exc)[-500:]}
    per_mover = report.get("bytes_per_mover")
    bytes_per_s = report.get("bytes_per_s")
    return {
        "players": args.players, "joined": report.get("joined"),
        "bytes_per_client_per_s": bytes_per_s,
        "bytes_per_mover_per_snapshot": per_mover,
        "uplink_mbit_s": None if bytes_per_s is None
        else round(bytes_per_s * (report.get("joined") or 0) * 8 / 1e6, 2),
        "players_in_10_mbit_s": players_carried(per_mover, args.rate),
        "snapshots_per_s": report.get("snapshots_per_s"),
        "movers_per_snapshot": report.get("movers_per_snapshot"),
        "undecoded": report.get("undecoded"),
        "p99_ms": report.get("p99_ms"), "delivered_pct": report.get("delivered_pct"),
        "host_cpu_pct": report.get("host_cpu_pct"), "warning": report.get("warning"),
    }


# -- the alternatives, on a model crowd (no host) ---------------------------------------
FRAMING_BYTES = len('451-["snapshot",{"_placeholder":true,"num":0}]') + 2 + 4  # two frames


def model_crowd(players: int = 150, ticks: int = 400, seed: int = 15) -> dict:
    """Bytes per mover per snapshot of each encoding considered, framing
    included, for ``players`` walkers of the bots' crowd (``game.bots.Walker``)
    all in one area, each moving once a tick except when a move slips into
    the next tick (one in ten): the choices behind ``protocol.encode_snapshot``
    (every binary variant codes a delta as the change of the mover's step,
    except "plain deltas")."""
    import random
    import zlib

    from game.bots.walker import Walker, targets_for
    from game.core import protocol as P
    from game.core import rules

    world = rules.load_world()
    rng = random.Random(seed)
    walker = Walker(world, targets_for(world, "crowd"), rng)

    class Dot:
        pass

    dots = []
    for pid in range(1, players + 1):
        dot = Dot()
        dot.x, dot.y = world.spawn
        dot.target = walker.pick(dot.x, dot.y)
        dots.append((pid, dot))
    variants = ("json", "binary", "binary+deflate", "binary+deflate, plain deltas",
                "binary+deflate 1/8 px", "binary+deflate 1/2 px", "binary+deflate level 1",
                "binary+deflate level 9", "binary+deflate keyframe 40")
    totals = dict.fromkeys(variants, 0)
    entries = 0
    sent: dict[tuple, tuple[int, int]] = {}  # (variant, id) -> units last sent
    steps: dict[tuple, tuple[int, int]] = {}  # (variant, id) -> step last sent
    held: set[int] = set()
    pairs = ring = 0  # (receiver, mover) pairs in one area; those two cells apart
    for tick in range(1, ticks + 1):
        if tick % 10 == 0:
            cells = [(int(d.x // P.AREA_CELL_PX), int(d.y // P.AREA_CELL_PX)) for _, d in dots]
            for c in cells:
                for o in cells:
                    apart = max(abs(c[0] - o[0]), abs(c[1] - o[1]))
                    if apart <= P.AREA_RADIUS_CELLS:
                        pairs += 1
                        ring += apart == P.AREA_RADIUS_CELLS
        moved = []
        for pid, dot in dots:
            walker.advance(dot, 0.05)
            if pid in held or rng.random() >= 0.1:
                held.discard(pid)
                moved.append((pid, dot.x, dot.y))
            else:
                held.add(pid)  # this move arrives with the next one
        entries += len(moved)
        flat = P.pack_positions(moved)
        text = ('42["snapshot",{"tick":%d,"t":%d,"p":%s}]'
                % (tick, 1795625575887 + tick * 50, json.dumps(flat, separators=(",", ":"))))
        totals["json"] += len(text) + (2 if len(text) < 126 else 4)

        def encoded(name: str, scale: int, deflate: bool, level: int = P.DEFLATE_LEVEL,
                    keyframe: int = P.KEYFRAME_TICKS, stepped: bool = True) -> int:
            absolute, deltas = [], []
            for pid, x, y in moved:
                q = (max(0, round(x * scale)), max(0, round(y * scale)))
                last = sent.get((name, pid))
                step = steps.get((name, pid), (0, 0)) if stepped else (0, 0)
                d = (q[0] - last[0], q[1] - last[1]) if last else (0, 0)
                change = (d[0] - step[0], d[1] - step[1])
                if last is not None and (tick + pid) % keyframe \
                        and max(map(abs, d + change)) <= P.DELTA_MAX:
                    deltas.append((pid, *change))
                else:
                    absolute.append((pid, *q))
                    d = (0, 0)
                sent[(name, pid)], steps[(name, pid)] = q, d
            data = P.encode_snapshot(tick, 1795625575887 + tick * 50, absolute, deltas,
                                     deflate=False)
            if deflate:
                data = data[:2] + zlib.compress(data[2:], level, -15)
            return len(data) + FRAMING_BYTES

        totals["binary"] += encoded("binary", 4, False)
        totals["binary+deflate"] += encoded("binary+deflate", 4, True)
        totals["binary+deflate, plain deltas"] += encoded("plain", 4, True, stepped=False)
        totals["binary+deflate 1/8 px"] += encoded("1/8", 8, True)
        totals["binary+deflate 1/2 px"] += encoded("1/2", 2, True)
        totals["binary+deflate level 1"] += encoded("l1", 4, True, 1)
        totals["binary+deflate level 9"] += encoded("l9", 4, True, 9)
        totals["binary+deflate keyframe 40"] += encoded("k40", 4, True, keyframe=40)
    return {"players": players, "ticks": ticks, "movers_per_snapshot": round(entries / ticks, 1),
            # what thinning the outer ring of the area could save at most
            "outer_ring_share": round(ring / pairs, 3) if pairs else None,
            "bytes_per_mover_per_snapshot": {k: round(v / entries, 2) for k, v in totals.items()}}


def old_checkout(args: argparse.Namespace, folder: Path) -> tuple[Path | None, bool]:
    """(the JSON host's checkout, whether it is a temporary worktree)."""
    if args.no_old:
        return None, False
    if args.old:
        return args.old, False
    path = folder / "json-host"
    made = subprocess.run(["git", "worktree", "add", "--detach", str(path), args.old_ref],
                          cwd=ROOT, capture_output=True, text=True)
    if made.returncode != 0:
        print(f"no checkout of {args.old_ref}: {made.stderr.strip()}", file=sys.stderr)
        return None, False
    return path, True


def section(args: argparse.Namespace) -> dict:
    """The figures: ``binary`` (this host), ``json`` (the old one) and
    ``model``.  ``args`` may be another command's: what it lacks of this
    one's flags takes this one's defaults."""
    defaults = vars(parse_args([]))
    args = argparse.Namespace(**{**defaults, **{k: v for k, v in vars(args).items()
                                                if k in defaults}})
    out: dict = {"players": args.players, "tick_rate": args.rate,
                 "load_average": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bandwidth-") as tmp:
        folder = Path(tmp)
        print(f"binary snapshots (this checkout), {args.players} players", file=sys.stderr)
        out["binary"] = measure(ROOT, args, folder / "binary")
        old, temporary = old_checkout(args, folder)
        if old is not None:
            try:
                print(f"JSON snapshots ({old}), {args.players} players", file=sys.stderr)
                out["json"] = measure(old, args, folder / "json")
            finally:
                if temporary:
                    subprocess.run(["git", "worktree", "remove", "--force", str(old)],
                                   cwd=ROOT, capture_output=True)
    out["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    out["model"] = model_crowd(args.players)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bandwidth",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", type=int, default=150,
                        help="players in the crowd (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="moves per second per player; also the tick rate the "
                             "uplink figure assumes (the host ticks at its default 20 Hz) "
                             "(default: %(default)s)")
    parser.add_argument("--old", type=Path, metavar="CHECKOUT",
                        help="a checkout of the JSON host to measure beside this one")
    parser.add_argument("--old-ref", default=JSON_REF, metavar="REF",
                        help="without --old: the commit to check out for it "
                             "(default: %(default)s)")
    parser.add_argument("--no-old", action="store_true", help="measure this host only")
    parser.add_argument("--model-only", action="store_true",
                        help="only the encodings considered, on a model crowd without a host")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model_only:
        print(json.dumps(model_crowd(args.players), indent=2))
        return 0
    result = section(args)
    print(json.dumps(result, indent=2))
    return 0 if "error" not in result["binary"] else 1


if __name__ == "__main__":
    sys.exit(main())
