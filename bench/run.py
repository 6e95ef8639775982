"""Benchmark: the naive re-broadcast host against this host, side by side.

    python -m bench.run                      # the full run; writes docs/benchmarks.md
    python -m bench.run --counts 10,25 --seconds 5 --spread 0 --out /tmp/b.md
    python -m bench.run --generator python   # load from python -m bench.load instead

Starts the naive host (``bench/naive_host.py``: every move re-sent to everyone
at once) and the real host (``host.py``: batched, interest-managed snapshots)
on free localhost ports with throwaway databases, loads each with players at
every count, runs the spread case against the real host, times the client's
world scene drawing 200 avatars, and writes the tables with the command that
produced them.

The load comes from the Node generator (``bench/node_load.py`` driving
``bench/loadgen/loadgen.mjs``) when ``node`` and ``npm`` are installed, else
from ``python -m bench.load --report``.  Both walk the same paths and measure
latency the same way; the Node one costs a fraction of the CPU, which matters
because the load shares the machine with the host: 500 players from the Python
tool take about a core of a two-core machine.  Each row says how busy the
machine was and whether the load tool ran out of CPU (then the row is not
valid).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import node_load, speed  # noqa: E402
from bench.load.report import held  # noqa: E402
from game.client.host_process import HostProcess  # noqa: E402

DEFAULT_COUNTS = "10,25,50,100,200,300,400,500"
# A design whose p99 passes this (or that delivers less than COLLAPSE_DELIVERED
# per cent) has collapsed; bigger counts are not run against it.
COLLAPSE_P99_MS = 1000.0
COLLAPSE_DELIVERED = 50.0


def run_load(host: HostProcess, players: int, args: argparse.Namespace, mode: str) -> dict:
    """One measured run against ``host`` with the chosen load generator,
    with the machine's speed just before it (``loop_ms``)."""
    speed_ms = loop_ms()
    if args.generator == "node":
        report = run_node(host, players, args, mode)
    else:
        report = run_bots(host.url, players, args, mode, procs_for(players, args))
    report["loop_ms"] = speed_ms
    return report


def run_node(host: HostProcess, players: int, args: argparse.Namespace, mode: str) -> dict:
    print(f"  $ node bench/loadgen/loadgen.mjs  ({players} players, {mode}, via bench.node_load)",
          file=sys.stderr, flush=True)
    try:
        report = node_load.run_node(host.url, players, args.rate, args.seconds, mode, "bench",
                                    db_path=host.db_path, reuse_sessions=mode == "spread")
    except (RuntimeError, OSError, ValueError) as exc:
        return {"players": players, "error": str(exc)[-300:] or type(exc).__name__}
    print("   ", json.dumps(report), file=sys.stderr, flush=True)
    return report


def run_bots(url: str, players: int, args: argparse.Namespace, mode: str,
             procs: int) -> dict:
    cmd = [sys.executable, "-m", "bench.load", "--server", url, "--players", str(players),
           "--rate", str(args.rate), "--seconds", str(args.seconds), f"--{mode}", "--report",
           "--procs", str(procs), "--prefix", "bench"]
    print("  $", " ".join(cmd[1:]), file=sys.stderr, flush=True)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        return {"players": players, "error": result.stderr.strip()[-300:]}
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["generator"] = "python"
    print("   ", json.dumps(report), file=sys.stderr, flush=True)
    return report


def procs_for(players: int, args: argparse.Namespace) -> int:
    return args.procs or (1 if players <= 100 else 2)


def ceiling(fast: dict[int, dict], rate: float) -> int | None:
    """The largest crowd this host held at ``rate`` (``report.held``)."""
    ok = [n for n, r in fast.items() if held(r, rate)]
    return max(ok) if ok else None


def collapsed(report: dict) -> bool:
    if "error" in report:
        return True
    p99, delivered = report.get("p99_ms"), report.get("delivered_pct")
    return (p99 is None or p99 > COLLAPSE_P99_MS
            or delivered is None or delivered < COLLAPSE_DELIVERED)


def frame_time(url: str | None, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "bench.frametime", "--seconds", str(args.frame_seconds)]
    cmd += ["--server", url] if url else ["--synthetic", str(args.frame_avatars)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, SDL_VIDEODRIVER="dummy"))
    if result.returncode != 0:
        return {"error": result.stderr.strip()[-300:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "?"


def loop_ms() -> float:
    """Milliseconds one fixed pure-Python loop takes here (best of 5): the
    same figure on the same machine means the same speed, so two runs whose
    host figures differ can be told apart from a machine that was slower."""
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.perf_counter() - t)
    return round(1000 * best, 1)


def cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs so far (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def speed_note(loops: tuple[float, float], times: tuple) -> str:
    """The header's line on the machine's own speed over the run."""
    note = (f"- Machine speed: a fixed pure-Python loop (`bench.run.loop_ms`) took "
            f"{loops[0]} ms at the start and {loops[1]} ms at the end")
    if times[0] is not None and times[1] is not None and times[1][1] > times[0][1]:
        stolen = 100 * (times[1][0] - times[0][0]) / (times[1][1] - times[0][1])
        note += (f"; the hypervisor took {stolen:.1f} % of the CPUs' time during the run "
                 "(steal, /proc/stat)")
    return note + "."


# -- the markdown --------------------------------------------------------------------------
def fmt(value, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
    return f"{value}{suffix}"


def row_cells(r: dict | None) -> list[str]:
    if r is None:
        return ["not run (collapsed)"] + [""] * 4
    if "error" in r:
        return ["failed: " + r["error"].splitlines()[-1][:60]] + [""] * 4
    if r.get("disconnects") and r.get("disconnects") >= r.get("joined", 0) and not r.get("pairs"):
        return [f"collapsed: all {r['disconnects']} players were disconnected"] + [""] * 2 + [
            fmt(r.get("host_cpu_pct"), " %"), fmt(r.get("tool_cpu_pct"), " %")]
    flag = " ⚠" if r.get("saturated") else ""
    return [fmt(r.get("p50_ms")) + flag, fmt(r.get("p99_ms")), fmt(r.get("delivered_pct"), " %"),
            fmt(r.get("host_cpu_pct"), " %"), fmt(r.get("tool_cpu_pct"), " %")]


def write_markdown(path: Path, args: argparse.Namespace, command: str, started: str,
                   loads: tuple[str, str], naive: dict, fast: dict, spread: list[dict],
                   frames: list[dict], wall_s: float, sections: dict | None = None,
                   speed_line: str = "") -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by the benchmark script; do not edit by hand. Produced by:",
        "",
        "```",
        command,
        "```",
        "",
        f"- When: {started}, {wall_s / 60:.1f} minutes",
        f"- Machine: {machine()}",
        f"- Load average (1/5/15 min) at the start: {loads[0]}; at the end: {loads[1]}. "
        "Other work on the machine competes with both the host and the load tool.",
        *([speed_line] if speed_line else []),
        f"- Every player sends its position {args.rate:g} times a second for {args.seconds:g} s "
        "(after a 2 s warm-up); the load tool and the host share the machine's cores.",
        generator_note(args),
        "- **Latency** is move-to-delivery: from a bot sending a position until another bot of "
        "the same load process receives a snapshot with that position (or a newer one of the "
        "same mover), including the wait for the tick. **Delivered** is the share of expected "
        "(move, observer) pairs seen within 500 ms; a pair is expected when the two stand "
        f"within the host's guaranteed view of each other ({_guaranteed()} px on both axes, "
        "less a margin). Latency is checked by a sample of observers (12 per load process) "
        "against every mover; the observers are drawn before anyone joins and read every "
        "snapshot from then on, so they can read every mover's deltas (see protocol.md, "
        "\"Binary snapshots and areas\").",
        "- **Host CPU** is the host process (100 % = one core); **tool CPU** is the load tool, "
        "summed over its processes. ⚠ marks a run where the tool itself ran out of CPU or sent "
        "late: its latencies measure the tool, not the host.",
        "",
        "## Against the goals",
        "",
        "| goal | measured | met? |",
        "|---|---|---|",
        *goal_rows(args, fast, spread, frames),
        "",
        "## Crowd: everyone in one view",
        "",
        f"All players walk within {_crowd()} px around the spawn, so everyone sees everyone.",
        "",
        "| players | naive p50 ms | naive p99 ms | naive delivered | naive host CPU | naive tool CPU "
        "| host p50 ms | host p99 ms | host delivered | host CPU | tool CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in args.counts:
        cells = [str(n)] + row_cells(naive.get(n)) + row_cells(fast.get(n))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Per-run details (snapshots and bytes one client receives a second, machine "
              "CPU, the host's tick lateness p99 from `/api/stats`; every run has a fresh host "
              "process, so it covers that run's logins, walking and position saves; *loop ms*: "
              "the header's fixed loop timed just before the run, higher on a slower machine):",
              "",
              "| design | players | snapshots/s | bytes/s per client | machine CPU | "
              "tick lateness p99 ms | tool send lag p99 ms | loop ms | warning |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, table in (("naive", naive), ("host", fast), ("host, spread", {r["players"]: r for r in spread})):
        for n, r in sorted(table.items()):
            if r is None or "error" in r:
                continue
            lines.append(f"| {name} | {n} | {fmt(r.get('snapshots_per_s'))} | "
                         f"{fmt(r.get('bytes_per_s'))} | {fmt(r.get('machine_cpu_pct'), ' %')} | "
                         f"{fmt(r.get('host_tick_lateness_p99_ms'))} | "
                         f"{fmt(r.get('send_lag_p99_ms'))} | {fmt(r.get('loop_ms'))} | "
                         f"{r.get('warning') or ''} |")
    lines += ["", "## Spread over the map", "",
              "Players start spread uniformly at random over the tiles a player can reach on "
              "foot from the spawn (one player a tile while there are tiles enough; "
              "`python -m bench.node_load --uniform-world`), then wander over the whole map; "
              "each client receives only the players in the cells around it. Density: players "
              "per 1,000 reachable tiles, and the other players each has within its guaranteed "
              "view at the start.", "",
              "| players | p50 ms | p99 ms | delivered | host CPU | tool CPU | snapshots/s | "
              "bytes/s per client | players per 1,000 tiles | players in view |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in spread:
        if "error" in r:
            lines.append(f"| {r['players']} | failed: {r['error'].splitlines()[-1][:80]} ||||||| ")
            continue
        density = r.get("density") or {}
        lines.append("| " + " | ".join([str(r["players"])] + row_cells(r) +
                                        [fmt(r.get("snapshots_per_s")), fmt(r.get("bytes_per_s")),
                                         fmt(density.get("players_per_1000_tiles")),
                                         fmt(density.get("movers_seen_per_client"))])
                     + " |")
    lines += ["", "## Client frame time", "",
              "The game's own `WorldScene` on the real `App`, headless (SDL dummy video driver), "
              "frames paced at 60 Hz; the time is the work of one frame (draining the network "
              "queue, fixed steps, interpolation, drawing map, avatars and name tags), not the "
              "sleep. *Synthetic* feeds the scene 20 Hz snapshots of walkers without a host; "
              "*live host* watches bots walking on the real host on this same machine.", "",
              "| mode | avatars on screen (mean) | frames | p50 ms | p99 ms | max ms |",
              "|---|---:|---:|---:|---:|---:|"]
    for f in frames:
        if "error" in f:
            lines.append(f"| failed | {f['error'].splitlines()[-1][:80]} |||||")
            continue
        lines.append(f"| {f['mode']} ({f['size']}) | {f['avatars_on_screen_mean']} | {f['frames']} | "
                     f"{f['frame_p50_ms']} | {f['frame_p99_ms']} | {f['frame_max_ms']} |")
    lines += ["", *speed.markdown(sections or {})]
    lines += ["## Raw reports", "", "```"]
    for name, table in (("naive", naive), ("host", fast)):
        for n, r in sorted(table.items()):
            if r is not None:
                lines.append(f"{name} {json.dumps(r)}")
    for r in spread:
        lines.append(f"spread {json.dumps(r)}")
    for f in frames:
        lines.append(f"frames {json.dumps(f)}")
    lines += ["```", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    # The soak section belongs to python -m bench.soak: carry it over as it is.
    # So does the nearby-talk section, python -m bench.talk's.
    from bench import soak, talk
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    carried = [(soak.DOC_START, soak.DOC_END)]
    if "talk" not in (sections or {}):
        carried.append((talk.DOC_START, talk.DOC_END))
    for start, end in carried:
        if start in old and end in old:
            kept = start + old.split(start, 1)[1].split(end, 1)[0] + end
            lines += [kept, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def generator_note(args: argparse.Namespace) -> str:
    """Which load generator produced the figures, and how to run it alone."""
    if args.generator == "node":
        return ("- **Load generator: Node** (`bench/loadgen/loadgen.mjs`, socket.io-client, one "
                "process), driven by `bench/node_load.py`; on its own: `python -m bench.node_load "
                "--server URL --db HOST_DB --players N --seconds S [--crowd|--spread] "
                "--prefix bench`. Each player walks a path precomputed with `game.bots.Walker` "
                "(the walk of `python -m game.bots`) from where the host's database has it, and "
                "latency and delivery are defined as in `python -m bench.load --report`; it costs "
                "far less CPU per player, so the figures describe the host rather than the tool. "
                "Python's `bench.load` only registers and walks out the spread players first.")
    return ("- **Load generator: Python** (`python -m bench.load --report --procs P`, "
            "python-socketio on green threads; P is 1 up to 100 players, else 2 unless "
            "`--procs` says otherwise). It needs about a core for 500 players, so large counts "
            "on a small machine measure the tool as much as the host.")


def goal_rows(args: argparse.Namespace, fast: dict, spread: list, frames: list) -> list[str]:
    """The issue's goals next to this run's figures (a saturated run meets nothing)."""
    def verdict(ok: bool | None, r: dict | None = None) -> str:
        if r is not None and r.get("saturated"):
            return "not measurable: the load tool ran out of CPU"
        return "–" if ok is None else ("yes" if ok else "**no**")

    rows = []
    crowd = fast.get(max(args.counts)) if args.counts else None
    if crowd and "error" not in crowd:
        ok = held(crowd, args.rate)
        rows.append(f"| crowd: {crowd['players']} players at {args.rate:g} Hz, p99 <= 100 ms, "
                    f">= 99 % delivered, host <= one core | p99 {fmt(crowd.get('p99_ms'))} ms, "
                    f"{fmt(crowd.get('delivered_pct'), ' %')}, host {fmt(crowd.get('host_cpu_pct'), ' %')}"
                    f" | {verdict(ok, crowd)} |")
    for r in spread:
        if "error" in r:
            continue
        ok = held(r, args.rate)
        rows.append(f"| spread: {r['players']} players uniform over the map at {args.rate:g} Hz, "
                    f"p99 <= 100 ms, >= 99 % delivered, host <= one core "
                    f"| p99 {fmt(r.get('p99_ms'))} ms, "
                    f"{fmt(r.get('delivered_pct'), ' %')}, host {fmt(r.get('host_cpu_pct'), ' %')} "
                    f"| {verdict(ok, r)} |")
    lateness = [r.get("host_tick_lateness_p99_ms") for r in list(fast.values()) + spread
                if r and "error" not in r and r.get("host_tick_lateness_p99_ms") is not None]
    if lateness:
        rows.append(f"| tick lateness p99 <= 10 ms while players log in and positions are saved "
                    f"| {min(lateness):.1f} to {max(lateness):.1f} ms over the host's runs "
                    f"| {verdict(max(lateness) <= 10)} |")
    synthetic = [f for f in frames if "error" not in f and f["mode"].startswith("synthetic")]
    for f in synthetic:
        rows.append(f"| client: {f['avatars_on_screen_mean']:g} avatars on screen, frame p99 <= 16.7 ms "
                    f"| p99 {f['frame_p99_ms']} ms | {verdict(f['frame_p99_ms'] <= 16.7)} |")
    return rows


def _guaranteed() -> int:
    from game.core import protocol as P
    return P.AREA_GUARANTEED_PX


def _crowd() -> str:
    from game.bots import CROWD_HALF_H, CROWD_HALF_W
    return f"{2 * CROWD_HALF_W}x{2 * CROWD_HALF_H}"


# -- running ----------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--counts", default=DEFAULT_COUNTS,
                        help="crowd player counts, run against both designs")
    parser.add_argument("--spread", default="500,1000", metavar="COUNTS",
                        help="spread player counts, run against this host (0: none); the "
                             "players start uniformly over the tiles reachable from the spawn")
    parser.add_argument("--rate", type=float, default=20.0, metavar="HZ",
                        help="moves each player sends a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--generator", choices=["node", "python"],
                        default="node" if node_load.node_available() else "python",
                        help="load generator for the measured runs: the Node one "
                             "(bench/loadgen, needs node and npm) or python -m bench.load")
    parser.add_argument("--procs", type=int, default=0,
                        help="python load tool processes (0: 1 up to 100 players, else 2); "
                             "also used to place the spread players")
    parser.add_argument("--frame-avatars", type=int, default=200,
                        help="avatars for the client frame-time measurement")
    parser.add_argument("--frame-seconds", type=float, default=10.0,
                        help="seconds of frames to time")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help="markdown file to write")
    speed.add_arguments(parser)
    args = parser.parse_args(argv)
    args.sections = speed.parse_sections(args.sections)
    args.counts = [int(v) for v in args.counts.split(",") if v.strip()]
    args.spread = [int(v) for v in args.spread.split(",") if v.strip() and int(v) > 0]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shown = sys.argv[1:] if argv is None else argv
    if not any(a == "--generator" or a.startswith("--generator=") for a in shown):
        shown = [*shown, "--generator", args.generator]  # the default depends on the machine
    command = " ".join(["python -m bench.run", *map(shlex.quote, shown)])
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = load()
    loop_start, times_start = loop_ms(), cpu_times()
    t0 = time.monotonic()
    if args.generator == "node":
        node_load.ensure_installed()
    naive: dict[int, dict | None] = {}
    fast: dict[int, dict] = {}
    spread: list[dict] = []
    frames: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="pc-bench-") as tmp:
        tmp = Path(tmp)
        # A fresh host process for every run (on the same database, so the
        # accounts stay): its tick-lateness figures then cover exactly this
        # run's logins, walking and position saves.
        print("naive host (every move re-sent to everyone at once)", file=sys.stderr)
        dead = False
        for n in args.counts:
            if dead:
                naive[n] = None
                continue
            with NaiveHost(tmp / "naive.db") as host:
                naive[n] = run_load(host, n, args, "crowd")
            dead = collapsed(naive[n])
        print("this host (batched, interest-managed snapshots)", file=sys.stderr)
        for n in args.counts:
            with HostProcess(tmp / "host.db") as host:
                fast[n] = run_load(host, n, args, "crowd")
        for n in args.spread:
            # The players start spread uniformly over the tiles reachable from
            # the spawn: a world of its own is prepared for each count (its
            # accounts registered, then their positions written), and the
            # measured run logs them in with the sessions it stored.
            world = tmp / f"spread-{n}.db"
            print(f"  preparing a uniform world of {n} players", file=sys.stderr, flush=True)
            placed = node_load.prepare_uniform_world(world, n, "bench")
            with HostProcess(world) as host:
                r = run_load(host, n, args, "spread")
            r.setdefault("density", {k: placed.get(k) for k in
                                     ("reachable_tiles", "players_per_1000_tiles",
                                      "movers_seen_per_client")})
            spread.append(r)
        print("client frame time", file=sys.stderr)
        frames.append(frame_time(None, args))
        with HostProcess(tmp / "host.db") as host:
            walkers = subprocess.Popen(
                [sys.executable, "-m", "bench.load", "--server", host.url, "--players",
                 str(args.frame_avatars), "--crowd", "--seconds", "0", "--prefix", "bench"],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                _wait_players(host.url, args.frame_avatars)
                frames.append(frame_time(host.url, args))
            finally:
                walkers.terminate()
                walkers.wait(30)
    sections = speed.run_sections(args, ceiling(fast, args.rate)) if args.sections else {}
    wall_s = time.monotonic() - t0
    speed_line = speed_note((loop_start, loop_ms()), (times_start, cpu_times()))
    write_markdown(args.out, args, command, started, (load_start, load()), naive, fast, spread,
                   frames, wall_s, sections, speed_line)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


class NaiveHost(HostProcess):
    """``bench/naive_host.py`` (same flags as host.py) instead of ``host.py``."""

    script = ROOT / "bench" / "naive_host.py"


def _wait_players(url: str, n: int, timeout: float = 180.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/api/health", timeout=2).json().get("players_online", 0) >= n:
                time.sleep(3.0)
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
