"""Measure a host with the Node load generator (``bench/loadgen/loadgen.mjs``).

    python -m bench.node_load --server http://127.0.0.1:5000 --db world.db \\
        --players 500 --seconds 10 --spread

``python -m bench.load`` spends about a core on 500 players (python-socketio's
cost per message), so on a small machine it measures itself.  The Node
generator only walks and measures: Python reads where every account stands
from the host's database, precomputes each player's walk with
``game.bots.Walker`` (the same walks the bots take), and hands Node a plan;
Node logs the players in, sends the moves on schedule and applies the bots'
definitions of latency and delivery.  Python measures the host and the
machine over the same window and returns a report with the fields of
``python -m bench.load --report`` (see ``bench.load.REPORT``), plus
``"generator": "node"``.

With ``--talk F`` a share F of the players also says a line aloud every
``--talk-every`` seconds (``say``); the report then carries ``talk``,
``talkers``, ``said_per_s`` (lines said a second, all talkers) and
``heard_per_s`` (lines received a second, all players).

The host must run on this machine with the database given (``--db``), since
the paths start where the host will place each player.

Uniform spread (``--uniform-world DB``) prepares a world once: a host on
``DB`` registers the accounts (``--players``, ``--prefix``), and once it has
stopped, every account's saved position is written straight into ``DB``,
uniformly at random over the tiles a player can reach on foot from the spawn
(one player a tile while there are tiles enough).  ``python -m bench.compare
--spread --world DB`` (or this module with ``--spread --db`` a copy of it)
then measures players who start spread as evenly as the map allows, and the
report states the density: players per 1,000 of those tiles and how many
movers each player has in view at the start.
"""
from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load import (VIEW_MARGIN_PX, host_process, judge_run,  # noqa: E402
                        measure_host, wait_measured)
from game.core import protocol as P  # noqa: E402
from game.core import rules  # noqa: E402
from game.bots import DEFAULT_PASSWORD_SUFFIX, LOGIN_THREADS, Walker, targets_for  # noqa: E402

LOADGEN = Path(__file__).resolve().parent / "loadgen"
SCRIPT = LOADGEN / "loadgen.mjs"
# Paths run this long past the measurement deadline; after that a player stands.
PATH_SLACK_S = 2.0


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_installed() -> None:
    """Install the generator's packages (``npm ci``) when they are missing."""
    if not node_available():
        raise RuntimeError("the Node load generator needs node (18 or newer) and npm on PATH; "
                           "install Node.js or use --generator python")
    if (LOADGEN / "node_modules" / "socket.io-client").is_dir():
        return
    print(f"  $ npm ci  (in {LOADGEN.relative_to(ROOT)})", file=sys.stderr, flush=True)
    result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LOADGEN,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"npm ci failed in {LOADGEN}:\n{result.stderr.strip()[-1000:]}")


# -- the plan -------------------------------------------------------------------------
def account_name(prefix: str, index: int) -> str:
    return f"{prefix}{index:04d}"  # as game.bots names its players


def stored_positions(db_path: Path, names: list[str]) -> dict[str, tuple[float, float]]:
    """Saved positions by account name (read-only; the host keeps the
    database in WAL mode and may be running)."""
    if not Path(db_path).exists():
        return {}
    conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True, timeout=10.0)
    try:
        rows = conn.execute(
            "SELECT users.name_key, positions.x, positions.y FROM positions "
            "JOIN users ON users.id = positions.user_id").fetchall()
    except sqlite3.OperationalError:  # a database the host has not set up yet
        return {}
    finally:
        conn.close()
    wanted = {name.lower(): name for name in names}
    return {wanted[key]: (x, y) for key, x, y in rows if key in wanted}


@dataclass
class _Walk:
    """What ``Walker.advance`` moves: a position and a target."""
    x: float
    y: float
    target: tuple[float, float] = (0.0, 0.0)


def start_positions(world: rules.WorldMap,
                    stored: list[tuple[float, float] | None]) -> list[tuple[float, float]]:
    """Where the host places players who join one after another in this
    order with nobody else in the world (each moved aside from those already
    there), rounded to 0.1 px as the welcome reports it.  The load generator
    joins its players in plan order, and none moves before all have joined."""
    occupied: list[tuple[float, float]] = []
    for spot in stored:
        occupied.append(world.start_position(spot, occupied))
    return [(round(x, 1), round(y, 1)) for x, y in occupied]


def walk_path(walker: Walker, start: tuple[float, float], steps: int,
              dt: float) -> list[float]:
    """Positions every ``dt`` seconds, flattened ``[x0, y0, x1, y1, ...]``."""
    walk = _Walk(*start)
    walk.target = walker.pick(walk.x, walk.y)
    path = [walk.x, walk.y]
    for _ in range(steps - 1):
        walker.advance(walk, dt)  # type: ignore[arg-type]
        path += (walk.x, walk.y)
    return path


def skippable(world: rules.WorldMap, path: list[float]) -> str:
    """For each step i, "1" when the straight line from step i-1 to step i+1
    is walkable, so a player sending moves at half the rate (the host's
    ``pace`` while it is overloaded) may leave step i out; else "0"."""
    flags = ["0"]
    for i in range(1, len(path) // 2 - 1):
        x0, y0, x1, y1 = path[2 * i - 2], path[2 * i - 1], path[2 * i + 2], path[2 * i + 3]
        flags.append("1" if world.segment_free(x0, y0, x1, y1) else "0")
    flags.append("0")
    return "".join(flags)


def make_plan(url: str, players: int, rate: float, seconds: float, mode: str, prefix: str,
              db_path: Path, *, warmup: float, deadline_ms: float, observers: int, seed: int,
              first: int = 0, map_path: str | None = None,
              reuse_sessions: bool = False, move_time: bool = True, talk: float = 0.0,
              talk_every: float = 10.0) -> dict:
    world = rules.load_world(map_path) if map_path else rules.load_world()
    walker = Walker(world, targets_for(world, mode), random.Random(seed))
    names = [account_name(prefix, first + i) for i in range(players)]
    stored = stored_positions(db_path, names)
    steps = math.ceil((warmup + seconds + deadline_ms / 1000.0 + PATH_SLACK_S) * rate) + 1
    entries = []
    starts = start_positions(world, [stored.get(name) for name in names])
    spread = density(world, starts) if mode == "spread" else {}
    tokens = stored_sessions(db_path, names) if reuse_sessions else {}
    for name, start in zip(names, starts):
        path = walk_path(walker, start, steps, 1.0 / rate)
        entries.append({"name": name, "password": name + DEFAULT_PASSWORD_SUFFIX,
                        "path": path, "skip": skippable(world, path),
                        **({"token": tokens[name]} if name in tokens else {})})
    return {"url": url, "rate": rate, "warmup_s": warmup, "seconds": seconds,
            "deadline_ms": deadline_ms, "view_px": P.AREA_GUARANTEED_PX - VIEW_MARGIN_PX,
            "observers": observers, "seed": seed, "logins_in_flight": LOGIN_THREADS,
            "move_time": move_time, "talk": {"fraction": talk, "every_s": talk_every},
            "players": entries, "density": spread}


# -- uniform spread --------------------------------------------------------------------
def reachable_tiles(world: rules.WorldMap) -> list[tuple[int, int]]:
    """The walkable tiles a player can reach on foot from the spawn (steps
    between side-by-side tiles whose centres see each other), exits left out
    (a player placed on one would leave the map)."""
    ts = world.tile_size
    walkable = set(world.walkable_tiles())
    start = (int(world.spawn[0] // ts), int(world.spawn[1] // ts))
    if start not in walkable:
        start = min(walkable, key=lambda t: abs(t[0] - start[0]) + abs(t[1] - start[1]))
    centre = lambda t: ((t[0] + 0.5) * ts, (t[1] + 0.5) * ts)  # noqa: E731
    seen, todo = {start}, [start]
    while todo:
        tile = todo.pop()
        for step in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            near = (tile[0] + step[0], tile[1] + step[1])
            if near in walkable and near not in seen \
                    and world.segment_free(*centre(tile), *centre(near)):
                seen.add(near)
                todo.append(near)
    return sorted(t for t in seen if world.exit_at(*centre(t)) is None)


def uniform_spots(world: rules.WorldMap, count: int, seed: int = 1) -> list[tuple[float, float]]:
    """``count`` tile centres drawn uniformly from ``reachable_tiles``: each
    tile at most once while there are tiles enough, then again."""
    tiles = reachable_tiles(world)
    rng = random.Random(seed)
    chosen: list[tuple[int, int]] = []
    while len(chosen) < count:
        chosen += rng.sample(tiles, min(len(tiles), count - len(chosen)))
    ts = world.tile_size
    return [((tx + 0.5) * ts, (ty + 0.5) * ts) for tx, ty in chosen]


def write_positions(db_path: Path, spots: dict[str, tuple[float, float]]) -> int:
    """Store each account's position (by name) in a stopped host's database;
    how many accounts were found."""
    conn = sqlite3.connect(str(db_path), timeout=30.0)
    try:
        ids = dict(conn.execute("SELECT name_key, id FROM users").fetchall())
        now = time.time()
        rows = [(ids[name.lower()], x, y, now) for name, (x, y) in spots.items()
                if name.lower() in ids]
        with conn:
            conn.executemany("DELETE FROM positions WHERE user_id = ?", [(r[0],) for r in rows])
            conn.executemany("INSERT INTO positions (user_id, x, y, updated_at, map) "
                             "VALUES (?, ?, ?, ?, NULL)", rows)
        return len(rows)
    finally:
        conn.close()


def stored_sessions(db_path: Path, names: list[str]) -> dict[str, str]:
    """Tokens for sessions the host behind ``db_path`` already gave these
    accounts (signed with the key beside the database), by name: a run on a
    prepared world then skips the password checks of its logins, which the
    measurement does not cover anyway (``bench.login_burst`` measures them)."""
    key_path = Path(str(db_path) + ".key")
    if not key_path.is_file() or not Path(db_path).exists():
        return {}
    from itsdangerous import URLSafeTimedSerializer

    conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True, timeout=10.0)
    try:
        rows = conn.execute(
            "SELECT users.name_key, sessions.id FROM sessions JOIN users "
            "ON users.id = sessions.user_id WHERE sessions.revoked_at IS NULL "
            "AND sessions.expires_at > ? ORDER BY sessions.expires_at",
            (time.time() + 3600,)).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    # Signed as server/accounts.py signs a login's session.
    serializer = URLSafeTimedSerializer(key_path.read_bytes().strip(),
                                        salt="pixel-commons-session")
    wanted = {name.lower(): name for name in names}
    return {wanted[key]: serializer.dumps({"s": sid}) for key, sid in rows if key in wanted}


def density(world: rules.WorldMap, starts: list[tuple[float, float]]) -> dict:
    """How dense a spread run is: players per 1,000 reachable tiles, and the
    movers each player has in view (within the measured view) at the start."""
    view = P.AREA_GUARANTEED_PX - VIEW_MARGIN_PX
    order = sorted(range(len(starts)), key=lambda i: starts[i][0])
    xs = [starts[i][0] for i in order]
    seen = 0
    for i, (x, y) in enumerate(starts):
        lo, hi = bisect.bisect_left(xs, x - view), bisect.bisect_right(xs, x + view)
        seen += sum(1 for j in order[lo:hi] if j != i and abs(starts[j][1] - y) <= view)
    tiles = len(reachable_tiles(world))
    return {"reachable_tiles": tiles,
            "players_per_1000_tiles": round(1000.0 * len(starts) / max(1, tiles), 1),
            "movers_seen_per_client": round(seen / max(1, len(starts)), 1)}


def prepare_uniform_world(db_path: Path, players: int, prefix: str, *, seed: int = 1,
                          first: int = 0, map_path: str | None = None) -> dict:
    """Register ``players`` accounts on a host of ``db_path`` (started and
    stopped here), then place them uniformly (see ``uniform_spots``)."""
    from game.client.host_process import HostProcess

    names = [account_name(prefix, first + i) for i in range(players)]
    extra = ("--login-failures", "1000000") + (("--map", map_path) if map_path else ())
    with HostProcess(Path(db_path), extra_args=extra, stop_with_parent=True) as host:
        try:
            run_node(host.url, players, 5.0, 0.5, "crowd", prefix, db_path=Path(db_path),
                     warmup=0.5, observers=1, seed=seed, first=first, map_path=map_path,
                     timeout=3600.0)
        except RuntimeError as exc:  # the walk is not needed: "placed" counts the accounts
            print(f"  (the registering run ended badly: {str(exc)[:200]})", file=sys.stderr)
    world = rules.load_world(map_path) if map_path else rules.load_world()
    spots = uniform_spots(world, players, seed)
    placed = write_positions(Path(db_path), dict(zip(names, spots)))
    return {"world": str(db_path), "players": players, "placed": placed,
            **density(world, start_positions(world, spots))}


# -- running ---------------------------------------------------------------------------
def run_node(url: str, players: int, rate: float, seconds: float, mode: str,
             prefix: str = "bench", *, db_path: Path, warmup: float = 2.0,
             deadline_ms: float = 500.0, observers: int = 12, seed: int = 1, first: int = 0,
             map_path: str | None = None, timeout: float = 900.0,
             reuse_sessions: bool = False, move_time: bool = True, talk: float = 0.0,
             talk_every: float = 10.0, urls: list[str] | None = None,
             on_window: Callable[[tuple[float, float]], None] | None = None) -> dict:
    """Walk ``players`` accounts on the host at ``url`` and measure it.

    ``urls``: the processes of a world served by several (``url`` among
    them); player i plays on ``urls[i % len(urls)]``, every process is
    measured, and the report adds ``processes``, ``host_cpu_pct`` summed
    over them, ``host_cpu_max_proc_pct`` and the latency of moves seen
    across processes (``across_p50_ms``, ``across_p99_ms``).
    ``on_window(window)`` is called with the measured window (monotonic
    seconds) as soon as the generator names it.

    New accounts are registered by the generator and start at the spawn;
    existing ones start where ``db_path`` (the host's database) has them.
    Returns the ``bench.load --report`` fields plus ``generator``."""
    ensure_installed()
    plan = make_plan(url, players, rate, seconds, mode, prefix, db_path, warmup=warmup,
                     deadline_ms=deadline_ms, observers=observers, seed=seed, first=first,
                     map_path=map_path, reuse_sessions=reuse_sessions, move_time=move_time,
                     talk=talk, talk_every=talk_every)
    spread = plan.pop("density")
    urls = list(urls or [url])
    plan["urls"] = urls
    hosts = [host_process(u) for u in urls]
    holders: list[dict] = [{} for _ in urls]
    stats: dict | None = None
    with tempfile.TemporaryDirectory(prefix="pc-loadgen-") as tmp:
        plan_path = Path(tmp) / "plan.json"
        plan_path.write_text(json.dumps(plan, separators=(",", ":")), encoding="utf-8")
        del plan
        err_path = Path(tmp) / "stderr.txt"
        with open(err_path, "w+", encoding="utf-8", errors="replace") as err:
            proc = subprocess.Popen(["node", str(SCRIPT), str(plan_path)], cwd=LOADGEN,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
            watchdog = threading.Timer(timeout, proc.kill)
            watchdog.start()
            try:
                for line in proc.stdout:  # type: ignore[union-attr]
                    message = json.loads(line)
                    if "window" in message:
                        window = _monotonic_window(message["window"])
                        if on_window is not None:
                            on_window(window)
                        for host, holder, u in zip(hosts, holders, urls):
                            threading.Thread(target=measure_host, args=(host, window, holder, u),
                                             daemon=True).start()
                    elif "stats" in message:
                        stats = message["stats"]
                code = proc.wait()
            finally:
                watchdog.cancel()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            err.seek(0)
            errors = err.read()
    if stats is None:
        raise RuntimeError(f"the load generator exited with {code} without figures:\n"
                           f"{errors.strip()[-1500:]}")
    for holder in holders:
        wait_measured(holder)  # the host measurement ends with the window
    result = report(players, rate, mode, seconds, deadline_ms, stats, _combined(holders))
    if len(urls) > 1:
        cpus = [h.get("host_cpu_pct") for h in holders]
        result.update(processes=len(urls), across_pairs=stats.get("across_pairs"),
                      across_p50_ms=stats.get("across_p50_ms"),
                      across_p99_ms=stats.get("across_p99_ms"),
                      host_cpu_max_proc_pct=None if None in cpus else round(max(cpus), 1),
                      host_cpu_per_proc=[None if c is None else round(c, 1) for c in cpus])
    result.update(spread)
    if talk > 0:
        result.update(talk=talk, talk_every_s=talk_every, talkers=stats.get("talkers"),
                      said_per_s=round(stats.get("said_per_s") or 0.0, 2),
                      heard_per_s=round(stats.get("heard_per_s") or 0.0, 1))
    if result["warning"] or result["corrections"] or result["errors"] or result["disconnects"]:
        for line in errors.strip().splitlines()[-10:]:
            print("    loadgen:", line, file=sys.stderr)
    return result


def _combined(holders: list[dict]) -> dict:
    """One measurement of several processes: CPU summed, the worst tick."""
    if len(holders) == 1:
        return holders[0]
    cpus = [h.get("host_cpu_pct") for h in holders]
    stats = [h.get("stats") or {} for h in holders]
    worst = lambda key: max((s[key] for s in stats if s.get(key) is not None),  # noqa: E731
                            default=None)
    tick = dict(stats[0])
    for key in ("lateness_p99_ms", "lateness_last_5s_max_ms"):
        tick[key] = worst(key)
    tick["overloaded"] = any(s.get("overloaded") for s in stats)
    rates = [s["tick_rate"] for s in stats if s.get("tick_rate") is not None]
    tick["tick_rate"] = min(rates) if rates else None
    return {"machine_cpu_pct": holders[0].get("machine_cpu_pct"),
            "host_cpu_pct": None if None in cpus else sum(cpus), "stats": tick}


def _monotonic_window(window: dict) -> tuple[float, float]:
    """The generator's window (Unix ms) on this process's monotonic clock."""
    offset = time.monotonic() - time.time()
    return window["start_ms"] / 1000.0 + offset, window["end_ms"] / 1000.0 + offset


def report(players: int, rate: float, mode: str, seconds: float, deadline_ms: float,
           stats: dict, holder: dict) -> dict:
    """The fields of ``bench.load --report``, judged by the same thresholds."""
    round_ = lambda v, n=1: None if v is None else round(v, n)  # noqa: E731
    cpu = stats["cpu_pct"]
    lag = stats["send_lag_p99_ms"]
    machine = holder.get("machine_cpu_pct")
    joined, expected = stats["joined"], stats["expected"]
    tick = holder.get("stats") or {}
    saturated, warnings = judge_run(
        busiest_cpu_pct=cpu, send_lag_p99_ms=lag, machine_cpu_pct=machine, joined=joined,
        players=players, expected=expected, busiest="the load generator")
    if stats.get("start_mismatch"):
        warnings.append(f"{stats['start_mismatch']} players did not start where their "
                        f"path does")
    return {
        "players": players, "rate": rate, "mode": mode, "seconds": seconds, "procs": 1,
        "joined": joined,
        "p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"], "max_ms": stats["max_ms"],
        "delivered_pct": round_(100.0 * stats["delivered"] / expected if expected else None, 2),
        "deadline_ms": deadline_ms, "pairs": expected,
        "snapshots_per_s": round_(stats["snapshots_per_s"] / max(1, joined)),
        "bytes_per_s": round_(stats["bytes_per_s"] / max(1, joined), 0),
        "bytes_per_mover": stats.get("bytes_per_mover"),
        "movers_per_snapshot": stats.get("movers_per_snapshot"),
        "undecoded": stats.get("undecoded", 0),
        "unreadable": stats.get("unreadable", 0),
        "tool_cpu_pct": round_(cpu), "tool_cpu_max_proc_pct": round_(cpu),
        "host_cpu_pct": round_(holder.get("host_cpu_pct")),
        "machine_cpu_pct": round_(machine),
        "host_tick_lateness_p99_ms": tick.get("lateness_p99_ms"),
        "host_tick_lateness_last_5s_max_ms": tick.get("lateness_last_5s_max_ms"),
        "send_lag_p99_ms": round_(lag),
        "corrections": stats["corrections"],
        "errors": stats["errors"],
        "disconnects": stats["disconnects"],
        "saturated": saturated,
        "warning": "; ".join(warnings) or None,
        "generator": "node",
        "start_mismatch": stats.get("start_mismatch", 0),
        # At the end of the window: whether the host called itself overloaded
        # and its tick rate (absent from hosts that do not say), and every
        # pace the host announced during the run.
        "host_overloaded": tick.get("overloaded"),
        "host_tick_rate": tick.get("tick_rate"),
        "paces": stats.get("paces", []),
    }


# -- command line ----------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.node_load",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:5000", metavar="URL")
    parser.add_argument("--db", type=Path, default=None, metavar="PATH",
                        help="the host's database (host.py --db), for the start positions")
    parser.add_argument("--players", type=int, default=10, metavar="N")
    parser.add_argument("--rate", type=float, default=20.0, metavar="HZ")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="measured seconds, after a --warmup")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S")
    area = parser.add_mutually_exclusive_group()
    area.add_argument("--crowd", dest="mode", action="store_const", const="crowd")
    area.add_argument("--spread", dest="mode", action="store_const", const="spread")
    parser.set_defaults(mode="crowd")
    parser.add_argument("--observers", type=int, default=12, metavar="K")
    parser.add_argument("--deadline-ms", type=float, default=500.0, metavar="MS")
    parser.add_argument("--prefix", default="bot", metavar="NAME")
    parser.add_argument("--first", type=int, default=0, metavar="I")
    parser.add_argument("--map", default=None, metavar="PATH")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse-sessions", action="store_true",
                        help="log in with the sessions the database already holds for the "
                             "accounts (a prepared world copied with its .key) instead of "
                             "their passwords")
    parser.add_argument("--uniform-world", type=Path, default=None, metavar="DB",
                        help="only prepare DB for uniform spread runs: register the accounts "
                             "on a host of it, then place them uniformly over the map")
    parser.add_argument("--no-move-time", dest="move_time", action="store_false",
                        help="send moves without t (for hosts older than the move's t)")
    parser.add_argument("--talk", type=float, default=0.0, metavar="F",
                        help="share of the players (0 to 1) that also say a line aloud "
                             "every --talk-every seconds")
    parser.add_argument("--talk-every", type=float, default=10.0, metavar="S",
                        help="seconds between two lines of one talking player")
    args = parser.parse_args(argv)
    if not 0.0 <= args.talk <= 1.0 or args.talk_every <= 0:
        parser.error("--talk must be between 0 and 1, --talk-every above 0")
    if args.uniform_world is not None:
        print(json.dumps(prepare_uniform_world(args.uniform_world, args.players, args.prefix,
                                               seed=args.seed, first=args.first,
                                               map_path=args.map)), flush=True)
        return 0
    if args.db is None:
        parser.error("--db is required (the host's database)")
    if args.rate > P.MOVES_PER_SECOND:
        parser.error(f"the host accepts at most {P.MOVES_PER_SECOND} moves a second")
    result = run_node(args.server.rstrip("/"), args.players, args.rate, args.seconds, args.mode,
                      args.prefix, db_path=args.db, warmup=args.warmup,
                      deadline_ms=args.deadline_ms, observers=args.observers, seed=args.seed,
                      first=args.first, map_path=args.map, reuse_sessions=args.reuse_sessions,
                      move_time=args.move_time, talk=args.talk, talk_every=args.talk_every)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
