"""The cluster: how many players one host process holds, and two.

    python -m bench.scaleout                          # the section of python -m bench.run
    python -m bench.scaleout --crowd 200 --spread 0 --seconds 5

Loads one host process, then two processes serving one world (one
redis-server started here, one SQLite file shared on this machine, as
``host.py --redis`` runs them), with the Node generator: player i plays on
process ``i % n``.  Each count runs while the one before it held
(``bench.load.report.held``: p99 at most 100 ms, at least 99 % delivered,
no process above one core, the generator not out of CPU, snapshots still at
the rate asked).  Per run: latency, delivery, host CPU summed and per
process, the latency of moves an observer saw across processes (the hop
through Redis), and Redis's own counters over the measured window: messages
published and bytes in and out a second.

Every process shares the machine with the others, Redis and the generator:
on a two-core machine two processes are not two machines.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import node_load  # noqa: E402
from bench.load.report import held  # noqa: E402
from game.client.host_process import HostProcess  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

CROWD = "300,400,500,600"
SPREAD = "500,750,1000"


def redis_counters(url: str) -> dict:
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("stats")
        commands = client.info("commandstats")
    finally:
        client.close()
    return {"published": commands.get("cmdstat_publish", {}).get("calls", 0),
            "commands": sum(v.get("calls", 0) for v in commands.values()),
            "in": stats.get("total_net_input_bytes", 0),
            "out": stats.get("total_net_output_bytes", 0)}


def moves_received(urls: list[str]) -> int:
    """Remote movers the processes took from Redis so far (their /api/health)."""
    import requests

    total = 0
    for url in urls:
        try:
            cluster = requests.get(url + "/api/health", timeout=2).json().get("cluster") or {}
        except (requests.RequestException, ValueError):
            continue
        total += int(cluster.get("moves_received") or 0)
    return total


def watch_redis(server: RedisServer, urls: list[str], window: tuple[float, float],
                into: dict) -> None:
    """Redis's counters and CPU, and the remote moves the processes received,
    over the monotonic ``window``, per second, into ``into``."""
    import psutil

    process = psutil.Process(server.proc.pid)

    def cpu() -> float:
        times = process.cpu_times()
        return times.user + times.system

    def run() -> None:
        time.sleep(max(0.0, window[0] - time.monotonic()))
        before, c0, t0 = redis_counters(server.url), cpu(), time.monotonic()
        before["remote_moves"] = moves_received(urls)
        time.sleep(max(0.0, window[1] - time.monotonic()))
        after, c1, t1 = redis_counters(server.url), cpu(), time.monotonic()
        after["remote_moves"] = moves_received(urls)
        span = max(1e-9, t1 - t0)
        into.update({f"redis_{k}_per_s": round((after[k] - before[k]) / span, 1)
                     for k in before})
        into["redis_cpu_pct"] = round(100.0 * (c1 - c0) / span, 1)
        into["remote_moves_per_s"] = into.pop("redis_remote_moves_per_s")
    threading.Thread(target=run, daemon=True).start()


def run_world(db: Path, processes: int, players: int, mode: str, args: argparse.Namespace,
              redis: RedisServer | None) -> dict:
    """One measured run against ``processes`` host processes on ``db``."""
    cluster = ("--redis", redis.url) if processes > 1 else ()
    hosts: list[HostProcess] = []
    counters: dict = {}
    if cluster:
        forget_everything(redis)
    try:
        for i in range(processes):
            hosts.append(HostProcess(db, log_path=db.with_name(f"{db.stem}-{i}.log"),
                                     extra_args=cluster).start())
        print(f"  {mode} {players} players on {processes} process(es)", file=sys.stderr,
              flush=True)
        report = node_load.run_node(
            hosts[0].url, players, args.rate, args.seconds, mode, "bench", db_path=db,
            reuse_sessions=True, urls=[h.url for h in hosts],
            on_window=(lambda w: watch_redis(redis, [h.url for h in hosts], w, counters))
            if cluster else None)
    except (RuntimeError, OSError, ValueError) as exc:
        return {"kind": mode, "players": players, "processes": processes,
                "error": str(exc)[-300:]}
    finally:
        for host in hosts:
            host.stop()
    deadline = time.monotonic() + 5.0
    while cluster and not counters and time.monotonic() < deadline:
        time.sleep(0.1)
    report.update(counters)
    report["processes"] = processes
    report["kind"] = mode
    keep = ("kind", "players", "processes", "joined", "p50_ms", "p99_ms", "delivered_pct",
            "host_cpu_pct", "host_cpu_per_proc", "host_cpu_max_proc_pct", "tool_cpu_pct",
            "machine_cpu_pct", "across_pairs", "across_p50_ms", "across_p99_ms",
            "host_tick_rate", "saturated", "warning", "corrections", "disconnects",
            "movers_seen_per_client", "players_per_1000_tiles", *sorted(counters))
    print("   ", json.dumps({k: report.get(k) for k in keep}), file=sys.stderr, flush=True)
    return {k: report.get(k) for k in keep}


def forget_everything(redis: RedisServer) -> None:
    """Empty Redis between runs: the positions a run's processes kept there
    (a day-to-day world's players come back where Redis last saw them) must
    not place the next run's players."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url)
    try:
        client.flushall()
    finally:
        client.close()


def prepare_crowd_world(db: Path, players: int) -> None:
    """Register ``players`` accounts (their sessions stored) and stand them
    on the tiles nearest the spawn, every other row, so that no one stands
    within another's personal space: every crowd run, on one process or
    two, starts from a copy with each player where the database has them,
    whichever process places them and in whatever order."""
    from game.core import rules

    with HostProcess(db, extra_args=("--login-failures", "1000000"),
                     stop_with_parent=True) as host:
        node_load.run_node(host.url, players, 5.0, 0.5, "crowd", "bench", db_path=db,
                           warmup=0.5, observers=1, timeout=3600.0)
    world = rules.load_world()
    ts = world.tile_size
    sx, sy = int(world.spawn[0] // ts), int(world.spawn[1] // ts)
    tiles = sorted((t for t in node_load.reachable_tiles(world) if (t[1] - sy) % 2 == 0),
                   key=lambda t: (t[0] - sx) ** 2 + (t[1] - sy) ** 2)
    names = [node_load.account_name("bench", i) for i in range(players)]
    node_load.write_positions(db, {name: ((tx + 0.5) * ts, (ty + 0.5) * ts)
                                   for name, (tx, ty) in zip(names, tiles)})


def series(kind: str, counts: list[int], processes: int, args: argparse.Namespace,
           tmp: Path, redis: RedisServer, worlds: dict) -> list[dict]:
    """Runs at each count while the one before held, each on a fresh copy
    of the prepared world."""
    runs: list[dict] = []
    for n in counts:
        db = tmp / f"{kind}-{n}-{processes}.db"
        for suffix in ("", ".key"):
            shutil.copy(str(worlds[kind, n]) + suffix, str(db) + suffix)
        runs.append(run_world(db, processes, n, kind, args, redis))
        if not held(runs[-1], args.rate):
            break
    return runs


def section(args: argparse.Namespace) -> dict[str, Any]:
    node_load.ensure_installed()
    out: dict[str, Any] = {"rate": args.rate, "seconds": args.seconds, "runs": []}
    with tempfile.TemporaryDirectory(prefix="pc-scaleout-") as tmp:
        tmp = Path(tmp)
        redis = RedisServer().start()
        try:
            worlds: dict[tuple[str, int], Path] = {}
            if args.crowd:
                print(f"  preparing a crowd of {max(args.crowd)} players", file=sys.stderr,
                      flush=True)
                crowd = tmp / "crowd.db"
                prepare_crowd_world(crowd, max(args.crowd))
                worlds.update({("crowd", n): crowd for n in args.crowd})
            for n in args.spread:
                print(f"  preparing a uniform world of {n} players", file=sys.stderr, flush=True)
                worlds["spread", n] = tmp / f"uniform-{n}.db"
                node_load.prepare_uniform_world(worlds["spread", n], n, "bench")
            for kind, counts in (("crowd", args.crowd), ("spread", args.spread)):
                for processes in (1, 2):
                    out["runs"] += series(kind, counts, processes, args, tmp, redis, worlds)
        finally:
            redis.close()
    for kind in ("crowd", "spread"):
        for processes in (1, 2):
            ok = [r["players"] for r in out["runs"]
                  if r.get("kind") == kind and r["processes"] == processes
                  and held(r, args.rate)]
            out[f"{kind}_held_{processes}"] = max(ok) if ok else None
    return out


# -- markdown --------------------------------------------------------------------------
def fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}"
    if isinstance(v, int):
        return f"{v:,}{unit}"
    return f"{v}{unit}"


def markdown(result: dict[str, Any]) -> list[str]:
    if not result:
        return []
    if "error" in result:
        return ["## The cluster: one process and two", "", f"Failed: {result['error']}", ""]
    lines = ["## The cluster: one process and two", "",
             "`python -m bench.scaleout`: one host process, then two processes of one world "
             "(`host.py --redis`, one redis-server, one SQLite file shared on this machine), "
             f"at {fmt(result.get('rate'))} Hz for {fmt(result.get('seconds'))} s a run; "
             "player i plays on process i mod n. A count *held* when p99 <= 100 ms, >= 99 % "
             "delivered, no process above one core, the generator not out of CPU and the "
             "snapshots still at that rate (not slowed by overload). "
             "*Across*: moves an observer saw from a player on the other process. *Remote "
             "moves*: movers of the other process the processes took from Redis (all "
             "processes together). Redis: its own counters over the measured window.", "",
             "| players held | one process | two processes |", "|---|---:|---:|",
             f"| crowd | {fmt(result.get('crowd_held_1'))} | {fmt(result.get('crowd_held_2'))} |",
             f"| spread (uniform) | {fmt(result.get('spread_held_1'))} "
             f"| {fmt(result.get('spread_held_2'))} |", "",
             "| run | processes | p50 ms | p99 ms | delivered | across p50 / p99 ms "
             "| host CPU (per process) | remote moves/s | Redis msgs/s "
             "| Redis bytes in / out per s | Redis CPU |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result.get("runs") or []:
        name = f"{r.get('kind')} {r.get('players')}"
        if "error" in r:
            lines.append(f"| {name} | {r.get('processes')} | failed: "
                         f"{str(r['error']).splitlines()[-1][:60]} |||||||||")
            continue
        per = r.get("host_cpu_per_proc")
        cpu = fmt(r.get("host_cpu_pct"), " %") + (
            f" ({' + '.join(fmt(c, ' %') for c in per)})" if per else "")
        across = (f"{fmt(r.get('across_p50_ms'))} / {fmt(r.get('across_p99_ms'))}"
                  if r.get("across_pairs") else "–")
        flag = " ⚠" if r.get("saturated") else ""
        lines.append(
            f"| {name}{flag} | {r.get('processes')} | {fmt(r.get('p50_ms'))} | "
            f"{fmt(r.get('p99_ms'))} | {fmt(r.get('delivered_pct'), ' %')} | {across} | {cpu} | "
            f"{fmt(r.get('remote_moves_per_s'))} | "
            f"{fmt(r.get('redis_published_per_s'))} | {fmt(r.get('redis_in_per_s'))} / "
            f"{fmt(r.get('redis_out_per_s'))} | {fmt(r.get('redis_cpu_pct'), ' %')} |")
    lines.append("")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--crowd", default=CROWD, metavar="COUNTS", help="crowd counts (0: none)")
    parser.add_argument("--spread", default=SPREAD, metavar="COUNTS",
                        help="uniform spread counts (0: none)")
    parser.add_argument("--rate", type=float, default=20.0, metavar="HZ")
    parser.add_argument("--seconds", type=float, default=10.0)
    return parser


def parse_counts(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip() and int(v) > 0]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.crowd, args.spread = parse_counts(args.crowd), parse_counts(args.spread)
    result = section(args)
    print("\n".join(markdown(result)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
