"""Running the measuring players: in this process, or spread over worker processes.

Each process runs its players on green threads (eventlet), one OS thread for
all of them.  With several processes the parent only coordinates: every
worker logs its players in and says it is ready; the parent then hands all
of them the same measurement window (monotonic clocks are shared on one
machine), measures the host over it, and merges the workers' figures.
"""
from __future__ import annotations

import argparse
import math
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Callable

from game.core import rules
from game.bots import load_net
from game.bots.maps import HostMaps
from game.bots.stop import Stopped, check, sleep_until, take_sigint
from game.bots.swarm import CLOSE_WAIT_S

from . import transport
from .host import cpu_seconds, host_process, measure_host, normalise_url, wait_measured
from .measure import MeasuringSwarm
from .report import build_report

JOIN_TIMEOUT_S = 30.0
STATS_TIMEOUT_S = 120.0  # how long the parent waits for a worker's figures


def run(args: argparse.Namespace) -> dict | None:
    """Run the players as ``args`` say; the report, or None without one
    (no --seconds, or no worker gave figures)."""
    server = normalise_url(args.server)
    host = host_process(server) if args.report else None
    parts = slices(args.first, args.players, args.procs)
    if args.procs == 1:
        holder: dict = {}
        stats = run_single(server, parts[0], args, holder, host)
        stats_list = [stats] if stats else []
        window = holder.get("window")
    else:
        stats_list, window, holder = run_procs(server, parts, args, host)
    if not stats_list or window is None:
        return None
    wait_measured(holder)
    return build_report(args, stats_list, holder)


def slices(first: int, players: int, procs: int) -> list[range]:
    """Account numbers for each process, as even as they divide."""
    procs = max(1, min(procs, players))
    base, extra = divmod(players, procs)
    out, start = [], first
    for n in range(procs):
        size = base + (1 if n < extra else 0)
        out.append(range(start, start + size))
        start += size
    return out


def measurement_window(args: argparse.Namespace) -> tuple[float, float]:
    """From the end of the warm-up, --seconds long (endless without)."""
    start = time.monotonic() + args.warmup
    return (start, start + args.seconds) if args.seconds > 0 else (start, math.inf)


def run_worker(server: str, indices: range, args: argparse.Namespace, seed: int,
               link: Any) -> dict | None:
    """Run one process worth of players.

    ``link`` is the worker's end of a pipe to the parent when the players are
    spread over processes (in one process, ``run_single`` stands in for the
    parent): the worker sends ("ready", joined), receives the measurement
    window, and sends ("stats", figures).
    """
    import psutil

    load_net()
    transport.send_text_only()
    world = rules.load_world(args.map) if args.map else HostMaps(server).start_map()
    swarm = MeasuringSwarm(server, indices, world, mode=args.mode, rate=args.rate,
                           prefix=args.prefix, seed=seed, talk=getattr(args, "talk", 0.0),
                           talk_every=getattr(args, "talk_every", 10.0))
    if isinstance(link, Connection):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        # Once this worker said it is ready and got the window, the parent
        # writes again only to stop it (before that, only to stop it too).
        stop: Callable[[], bool] | None = link.poll
    else:
        take_sigint()  # the clients just made installed socketio's handler
        stop = None
    stats = None
    try:
        swarm.choose_watchers(args.observers if args.report else 0)
        swarm.log_in(stop)
        swarm.wait_joined(JOIN_TIMEOUT_S, stop)
        swarm.choose_observers(args.observers if args.report else 0)
        swarm.run_receiver()
        link.send(("ready", sum(b.joined for b in swarm.bots)))
        while not link.poll():  # a blocking recv would stall every green thread
            check()
            time.sleep(0.05)
        window = link.recv()
        if not isinstance(window, tuple):  # "stop": Ctrl-C came before the window
            return None
        swarm.window = window
        sender = swarm.start_walking()
        me = psutil.Process()
        if math.isinf(window[1]):
            swarm.walk_until_stopped(stop)
            return None
        sleep_until(window[0], stop)
        cpu0, counts0 = cpu_seconds(me), swarm.counters()
        sleep_until(window[1], stop)
        cpu1, counts1 = cpu_seconds(me), swarm.counters()
        sleep_until(window[1] + args.deadline_ms / 1000.0 + 0.1, stop)
        swarm.stop.set()
        sender.join(2.0)
        stats = swarm.tally(args.deadline_ms / 1000.0)
        seconds = max(1e-9, window[1] - window[0])
        stats["cpu_pct"] = 100.0 * (cpu1 - cpu0) / seconds
        stats["snapshots"] = (counts1[0] - counts0[0]) / seconds
        stats["bytes"] = (counts1[1] - counts0[1]) / seconds
        stats["observer_bytes"] = counts1[2] - counts0[2]
        stats["observer_entries"] = counts1[3] - counts0[3]
        stats["unreadable"] = swarm.unreadable()
    except Stopped:
        return None
    finally:
        swarm.close()
        try:
            link.send(("stats", stats))
        except OSError:
            pass  # the parent is gone
    return stats


def run_single(server: str, indices: range, args: argparse.Namespace, holder: dict,
               host: Any) -> dict | None:
    """One process: the players here, the host measured on a side thread."""

    class Parent:
        """Stands in for the pipe to a parent process."""

        def send(self, message: Any) -> None:
            pass

        def poll(self) -> bool:
            return True

        def recv(self) -> tuple[float, float]:
            window = measurement_window(args)
            holder["window"] = window
            if not math.isinf(window[1]):
                threading.Thread(target=measure_host, args=(host, window, holder, server),
                                 daemon=True).start()
            return window

    return run_worker(server, indices, args, args.seed, Parent())


def run_procs(server: str, parts: list[range], args: argparse.Namespace,
              host: Any) -> tuple[list[dict], tuple[float, float] | None, dict]:
    """Players spread over worker processes that start walking together."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    links, procs = [], []
    for n, indices in enumerate(parts):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=run_worker, args=(server, indices, args, args.seed + n, theirs),
                           daemon=True)
        proc.start()
        links.append(mine)
        procs.append(proc)
    try:
        for link, proc in zip(links, procs):
            while not link.poll(0.2):
                check()
                if not proc.is_alive():
                    raise RuntimeError(f"a bot process exited with {proc.exitcode}")
            link.recv()
        window = measurement_window(args)
        for link in links:
            link.send(window)
        holder: dict = {}
        if math.isinf(window[1]):
            while any(proc.is_alive() for proc in procs):
                check()
                time.sleep(0.2)
            return [], None, holder
        measure_host(host, window, holder, server)
        stats_list = []
        for link in links:
            deadline = time.monotonic() + STATS_TIMEOUT_S
            while not link.poll(0.2) and time.monotonic() < deadline:
                check()
            if link.poll():
                kind, stats = link.recv()
                if stats:
                    stats_list.append(stats)
        for proc in procs:
            proc.join(30)
        return stats_list, window, holder
    finally:
        for link in links:
            try:
                link.send("stop")
            except OSError:
                pass
        # Workers check for "stop" every 0.2 s and close within CLOSE_WAIT_S.
        deadline = time.monotonic() + CLOSE_WAIT_S + 0.5
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
