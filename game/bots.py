"""Scripted players: fill a world with wandering bots, or measure a host.

    python -m game.bots --server http://127.0.0.1:5000 --players 20 --seconds 0
    python -m game.bots --server http://127.0.0.1:5000 --players 200 --rate 20 \\
        --seconds 20 --crowd --report

Every bot registers (or logs in to) the account ``<prefix><number>`` through
``game.net.HostClient``, the same client code the game uses, joins the world
and walks between random open spots at walking speed, sliding along walls with
``game.rules.step``.  It reports its position ``--rate`` times a second.

When the host goes away (a restart, a crash, a lost network) the bots
reconnect as the game does: every 0.5 s doubling to 5 s, joining again by
themselves, and logging in again when the host no longer accepts their
session.  The log says when they lose the host and when all are back.
Ctrl-C stops them in every mode within about a second (exit status 130).

With ``--report`` the tool prints one JSON line at the end (see ``REPORT``
below for the fields).  Move-to-delivery latency is the time from a bot
sending a position until another bot in the same process receives a snapshot
that contains that position (or a newer one of the same mover); all bots of a
process share one monotonic clock.  A (move, observer) pair is *expected* when
both stand within the host's guaranteed view of each other
(``protocol.AREA_GUARANTEED_PX`` less a margin) at the moment of the send; it
is *delivered* when the observer sees it within ``--deadline-ms``.  Only a
sample of bots (``--observers`` per process) check what they receive; the
others count their snapshots without parsing them, since their walk does not
depend on anyone else.

A load tool that runs out of CPU measures itself rather than the host: when any
worker process used more than ``SATURATED_CPU_PCT`` of a core, or sent its
moves more than ``SEND_LAG_LIMIT_MS`` late (p99), the report says
``"saturated": true`` and the figures are not valid; spread the bots over more
processes with ``--procs``.  Each process runs its bots on green threads
(eventlet), one OS thread for all of them.
"""
from __future__ import annotations

import argparse
import bisect
import heapq
import json
import logging
import math
import os
import queue
import random
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Callable

from . import protocol as P
from . import rules

# game.net, imported by _load_net() once eventlet has patched the standard
# library: each bot's HostClient then runs on green threads, so hundreds of
# bots cost one OS thread instead of two each.
net: Any = None

log = logging.getLogger("game.bots")

# A worker process above this share of one core is measuring itself.
SATURATED_CPU_PCT = 90.0
# Sends later than this against their schedule (p99) mean the tool is
# starved of CPU; a machine busier than this is reported as a warning.
SEND_LAG_LIMIT_MS = 50.0
MACHINE_BUSY_PCT = 95.0
# Crowd mode keeps every bot inside this box around the spawn (half width,
# half height, pixels): well inside one screen, so everyone sees everyone.
CROWD_HALF_W = 240
CROWD_HALF_H = 180
# Pairs closer than this to the edge of the guaranteed view are not counted
# (the host places an observer by its last accepted position).
VIEW_MARGIN_PX = 48
# Targets farther than this (in x plus y) are not checked for a clear line.
LINE_CHECK_PX = 800
# A bot whose loop stalled walks at most this long in one step (no teleports).
MAX_STEP_S = 0.25
LOGIN_THREADS = 8
DEFAULT_PASSWORD_SUFFIX = "-walks-around"
# After Ctrl-C, closing the bots' connections may take this long; the rest
# are dropped with the process (the host notices the closed sockets).
CLOSE_WAIT_S = 1.5
# A bot whose session the host no longer accepts logs in again, waiting
# this long between failed attempts (doubling up to the maximum).
RELOGIN_DELAY_S = 0.5
RELOGIN_DELAY_MAX_S = 5.0

REPORT = """fields of the --report line:
  players, rate, mode, seconds, procs   what was run
  joined                                bots that joined the world
  p50_ms, p99_ms, max_ms                move-to-delivery latency of delivered pairs
  delivered_pct                         expected (move, observer) pairs seen within
                                        --deadline-ms; deadline_ms says which
  pairs                                 how many expected pairs were counted
  snapshots_per_s                       snapshots one client receives a second (mean)
  bytes_per_s                           bytes one client receives a second (mean;
                                        Socket.IO text plus WebSocket header)
  tool_cpu_pct                          the tool's CPU, summed over its processes
                                        (100 = one core); tool_cpu_max_proc_pct the
                                        busiest process
  host_cpu_pct                          CPU of the process listening on the port,
                                        when the host runs on this machine
  machine_cpu_pct                       the whole machine (100 = all cores)
  host_tick_lateness_p99_ms             from the host's /api/stats as the window ends
                                        (its recent ticks, logins included), when
                                        it has one; ..._last_5s_max_ms the worst
                                        tick of the window's last five seconds
  send_lag_p99_ms                       how late the tool's own sends left (p99)
  corrections                           moves the host refused, by reason
  errors, disconnects                   what else the host pushed back
  saturated, warning                    true / a message when the figures are invalid"""


# -- stopping -------------------------------------------------------------------
class Stopped(Exception):
    """Ctrl-C (or the parent process) asked the bots to stop."""


class _Stop:
    """Set by Ctrl-C; every wait of the tool checks it at least every 0.2 s.

    The handler only sets a flag: it runs on whatever green thread the
    signal interrupts, where raising or blocking (as python-socketio's own
    SIGINT handler does, closing every client in place) hangs the process.
    """
    requested = False


def _on_sigint(signum: int, frame: Any) -> None:
    if _Stop.requested:
        raise KeyboardInterrupt  # a second Ctrl-C: stop at once
    _Stop.requested = True


def _take_sigint() -> None:
    """Make Ctrl-C set the stop flag (again after socketio.Client, which
    installs its own handler when the first client is made)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def _check(stop: Callable[[], bool] | None = None) -> None:
    if _Stop.requested or (stop is not None and stop()):
        raise Stopped


# -- movement ------------------------------------------------------------------
class Walker:
    """Picks open spots and walks towards them at walking speed."""

    def __init__(self, world: rules.WorldMap, targets: list[tuple[float, float]],
                 rng: random.Random):
        self.world = world
        self.targets = targets
        self.rng = rng

    def pick(self, x: float, y: float) -> tuple[float, float]:
        """A random target, preferably a near one in a straight line of sight
        (far ones are not checked: the bot slides along the walls on its way)."""
        for _ in range(4):
            choice = self.rng.choice(self.targets)
            if (abs(choice[0] - x) + abs(choice[1] - y) <= LINE_CHECK_PX
                    and self.world.segment_free(x, y, *choice)):
                break
        return choice

    def advance(self, bot: "Bot", dt: float) -> None:
        tx, ty = bot.target
        dx, dy = tx - bot.x, ty - bot.y
        dist = math.hypot(dx, dy)
        if dist < 4.0:
            bot.target = self.pick(bot.x, bot.y)
            return
        nx, ny = rules.step(self.world, bot.x, bot.y, dx / dist, dy / dist, min(dt, MAX_STEP_S))
        # Positions go out rounded to 0.1 px (as the host echoes them), so a
        # bot can recognise its own position in a snapshot.
        nx, ny = round(nx, 1), round(ny, 1)
        free = self.world.segment_free
        if not free(bot.x, bot.y, nx, ny):
            # Sliding round a corner: the straight line clips the wall, and
            # the host checks straight lines.  Take one axis this step.
            nx, ny = (nx, bot.y) if free(bot.x, bot.y, nx, bot.y) else (bot.x, ny)
            if not free(bot.x, bot.y, nx, ny):
                nx, ny = bot.x, bot.y
        if (nx, ny) == (bot.x, bot.y):
            bot.target = self.pick(bot.x, bot.y)  # stuck against a wall
            return
        bot.x, bot.y = nx, ny


def targets_for(world: rules.WorldMap, mode: str) -> list[tuple[float, float]]:
    ts = world.tile_size
    spots = [((tx + 0.5) * ts, (ty + 0.5) * ts) for tx, ty in world.walkable_tiles()]
    if mode == "crowd":
        sx, sy = world.spawn
        near = [(x, y) for x, y in spots
                if abs(x - sx) <= CROWD_HALF_W - ts and abs(y - sy) <= CROWD_HALF_H - ts]
        spots = near or [world.spawn]
    return spots


# -- one bot ---------------------------------------------------------------------
def _load_net(green: bool = True) -> None:
    """Import game.net, first switching the process to green threads
    (the process that runs bots; a parent that only coordinates stays plain)."""
    global net
    if net is None:
        if green:
            import warnings

            warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
            import eventlet

            eventlet.monkey_patch()
        from . import net as module

        net = module


def _parallel(fn: Callable[[Any], Any], items: list, workers: int,
              stop: Callable[[], bool] | None = None) -> list:
    """``[fn(item) for item in items]`` on ``workers`` threads; raises Stopped
    on Ctrl-C or when ``stop()`` says so (threads still running are left)."""
    results: list = [None] * len(items)
    order = iter(range(len(items)))
    lock = threading.Lock()
    stopped = False

    def work() -> None:
        while not _Stop.requested and not stopped:
            with lock:
                i = next(order, None)
            if i is None:
                return
            results[i] = fn(items[i])

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            try:
                _check(stop)
            except Stopped:
                stopped = True
                raise
            t.join(0.1)
    return results


class _Inbox:
    """Stands in for HostClient's queue: tags each event with its bot."""

    def __init__(self, index: int, shared: deque):
        self.index = index
        self.shared = shared

    def put(self, event: Any) -> None:
        self.shared.append((self.index, event))

    def get(self, timeout: float | None = None):  # HostClient.wait_for is not used
        raise queue.Empty

    def get_nowait(self):
        raise queue.Empty


@dataclass(eq=False)
class Bot:
    index: int
    name: str
    client: net.HostClient
    x: float = 0.0
    y: float = 0.0
    target: tuple[float, float] = (0.0, 0.0)
    player_id: int | None = None
    last_step: float = 0.0
    joined: bool = False
    observer: int | None = None  # slot among the sampled observers
    resync_seq: int = 0  # the newest seq sent when the bot last took a correction
    # Every position sent: seq -> (t_send, expected observer bitmask); and the
    # newest seq sent from each position.
    sent_t: list[float] = field(default_factory=list)
    sent_mask: list[int] = field(default_factory=list)
    seq_at: dict[tuple[float, float], int] = field(default_factory=dict)
    bytes_in: int = 0
    snapshots_in: int = 0
    relogging: bool = False  # logging in again after the host refused the session

    @property
    def password(self) -> str:
        return self.name + DEFAULT_PASSWORD_SUFFIX


def _tap(bot: Bot) -> None:
    """Count what this bot's socket receives, before the client handles it.

    A bot that is not a sampled observer walks without looking at anyone
    else, so its snapshots are counted and then dropped unparsed: decoding
    every snapshot for hundreds of bots would make the tool, not the host,
    the bottleneck.  Observers (and every other event) go through HostClient
    as in the game.
    """
    from engineio import packet

    eio = bot.client.sio.eio
    receive = eio._receive_packet
    snapshot_prefix = '2["' + P.SNAPSHOT + '"'  # a Socket.IO EVENT on the default namespace

    def tapped(pkt: Any) -> None:
        data = pkt.data
        if pkt.packet_type == packet.MESSAGE and isinstance(data, str):
            # engine.io type byte + WebSocket header (2 bytes, 4 above 125)
            size = len(data) + 1
            bot.bytes_in += size + (2 if size < 126 else 4)
            if bot.observer is None and data.startswith(snapshot_prefix):
                bot.snapshots_in += 1
                return
        receive(pkt)

    eio._receive_packet = tapped


# -- one process worth of bots ------------------------------------------------------
class Swarm:
    def __init__(self, server: str, indices: range, args: argparse.Namespace,
                 world: rules.WorldMap, seed: int):
        self.server = server
        self.args = args
        self.world = world
        self.inbox: deque = deque()
        self.rng = random.Random(seed)
        self.walker = Walker(world, targets_for(world, args.mode), self.rng)
        self.bots = [self._make_bot(i) for i in indices]
        self.by_pid: dict[int, Bot] = {}
        self.observers: list[Bot] = []
        # deliveries[o][mover_pid] = ([seq...], [t_recv...]) newest seq seen so far
        self.deliveries: list[dict[int, tuple[list[int], list[float]]]] = []
        self.stop = threading.Event()
        self.window = (math.inf, math.inf)  # measurement window, monotonic seconds
        self.corrections: dict[str, int] = {}  # reason -> count
        self.errors = 0
        self.disconnects = 0
        self.view = P.AREA_GUARANTEED_PX - VIEW_MARGIN_PX
        self.send_lag: list[float] = []  # how late each send was against its schedule
        self.relogins = 0  # bots that logged in again after the host refused their session

    def _make_bot(self, i: int) -> Bot:
        name = f"{self.args.prefix}{i:04d}"
        # Like the game: after a drop, socketio reconnects with backoff (0.5 s
        # doubling to 5 s) and the client joins again by itself.
        client = net.HostClient(self.server, reconnect=True)
        bot = Bot(i, name, client)
        client.events = _Inbox(i, self.inbox)  # type: ignore[assignment]
        # The host sends JSON text it built itself; checking its UTF-8 byte by
        # byte in Python would cost the tool more than parsing it.
        client.sio.eio.websocket_extra_options = {"skip_utf8_validation": True}
        _tap(bot)
        return bot

    # -- setup -------------------------------------------------------------------
    def log_in(self, stop: Callable[[], bool] | None = None) -> int:
        """Log every bot in and connect; returns how many made it."""
        def one(bot: Bot) -> bool:
            for attempt in range(3):
                try:
                    bot.client.login_or_register(bot.name, bot.password)
                    bot.client.connect(timeout=20.0)
                    return True
                except net.HostError as exc:
                    log.warning("%s: %s (attempt %d)", bot.name, exc.message, attempt + 1)
                    time.sleep(0.5 + attempt)
            return False

        return sum(_parallel(one, self.bots, LOGIN_THREADS, stop))

    def wait_joined(self, timeout: float, stop: Callable[[], bool] | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _check(stop)
            self.pump(0.05)
            if all(b.joined or not b.client.connected for b in self.bots):
                break
        return sum(b.joined for b in self.bots)

    def choose_observers(self, count: int) -> None:
        joined = [b for b in self.bots if b.joined]
        for slot, bot in enumerate(self.rng.sample(joined, min(count, len(joined)))):
            bot.observer = slot
            self.observers.append(bot)
            self.deliveries.append({})

    # -- the loops -------------------------------------------------------------------
    def pump(self, timeout: float) -> None:
        """Handle what the host sent (runs on the receiving thread).

        Events carry the time they arrived, so a late pump does not change
        the latency figures."""
        inbox = self.inbox
        if not inbox:
            time.sleep(timeout)
        while inbox:
            index, event = inbox.popleft()
            self._handle(index, event)

    def _handle(self, index: int, event: net.NetEvent) -> None:
        bot = self._bot(index)
        kind, data = event.kind, event.data
        if kind == P.SNAPSHOT:
            bot.snapshots_in += 1
            if bot.observer is not None and isinstance(data, dict):
                self._observe(bot, data.get("p"), event.at)
        elif kind == P.AREA:
            if bot.observer is not None and isinstance(data, dict):
                self._observe(bot, data.get("enter"), event.at)
        elif kind == P.WELCOME and isinstance(data, dict):
            you = data["you"]
            bot.player_id = you["id"]
            bot.x, bot.y = round(float(you["x"]), 1), round(float(you["y"]), 1)
            bot.target = self.walker.pick(bot.x, bot.y)
            bot.last_step = time.monotonic()
            self.by_pid[bot.player_id] = bot
            bot.joined = True
        elif kind == P.CORRECTION and isinstance(data, dict):
            reason = str(data.get("reason"))
            self.corrections[reason] = self.corrections.get(reason, 0) + 1
            seq = data.get("seq")
            if isinstance(seq, int) and seq <= bot.resync_seq:
                return  # about a move sent before the last correction we took
            bot.x, bot.y = round(float(data["x"]), 1), round(float(data["y"]), 1)
            bot.resync_seq = len(bot.sent_t)  # every move so far left from elsewhere
        elif kind == P.ERROR:
            self.errors += 1
            if self.errors <= 5:
                log.warning("%s: host error %s", bot.name, data)
        elif kind in (net.DISCONNECTED, P.SESSION_ENDED):
            if kind == net.DISCONNECTED:
                self.disconnects += 1
            bot.joined = False
        elif kind == net.CONNECT_FAILED and isinstance(data, dict):
            message = str(data.get("message", ""))
            if (P.E_INVALID_TOKEN in message or P.E_AUTH_REQUIRED in message) \
                    and not bot.relogging and not self.stop.is_set():
                bot.relogging = True
                threading.Thread(target=self._log_in_again, args=(bot, message),
                                 name=f"relogin-{bot.name}", daemon=True).start()

    def _log_in_again(self, bot: Bot, why: str) -> None:
        """The host no longer accepts the bot's session (a new database, an
        expired or revoked token): log in again, as a player would.  The
        client's own reconnect attempts then carry the new token."""
        log.debug("%s: the host refused the session (%s); logging in again", bot.name, why)
        delay = RELOGIN_DELAY_S
        try:
            while not self.stop.is_set() and not _Stop.requested:
                try:
                    bot.client.login_or_register(bot.name, bot.password)
                    self.relogins += 1
                    return
                except net.HostError as exc:
                    log.debug("%s: logging in again failed: %s", bot.name, exc.message)
                time.sleep(delay)
                delay = min(2 * delay, RELOGIN_DELAY_MAX_S)
        finally:
            bot.relogging = False

    def _bot(self, index: int) -> Bot:
        return self.bots[index - self.bots[0].index]

    def _observe(self, observer: Bot, flat: Any, at: float) -> None:
        if not isinstance(flat, list):
            return
        seen = self.deliveries[observer.observer]  # type: ignore[index]
        by_pid = self.by_pid
        for i in range(0, len(flat) - 2, 3):
            mover = by_pid.get(flat[i])
            if mover is None or mover is observer:
                continue
            seq = mover.seq_at.get((flat[i + 1], flat[i + 2]))
            if seq is None or mover.sent_t[seq - 1] > at:
                continue  # not ours, or a spot the mover came back to since
            log_ = seen.get(flat[i])
            if log_ is None:
                seen[flat[i]] = ([seq], [at])
            elif seq > log_[0][-1]:
                log_[0].append(seq)
                log_[1].append(at)

    def walk_and_send(self) -> None:
        """Move every bot and send its position, ``rate`` times a second."""
        period = 1.0 / self.args.rate
        start = time.monotonic()
        n = len(self.bots)
        due = [(start + period * k / max(1, n), k) for k in range(n)]
        heapq.heapify(due)
        observers = self.observers
        view = self.view
        while not self.stop.is_set():
            when, k = due[0]
            now = time.monotonic()
            if when > now:
                time.sleep(min(when - now, 0.05))
                continue
            heapq.heapreplace(due, (when + period if now - when < period else now + period, k))
            if self.window[0] <= now <= self.window[1]:
                self.send_lag.append(now - when)
            bot = self.bots[k]
            if not bot.joined:
                continue
            before = (bot.x, bot.y)
            self.walker.advance(bot, now - bot.last_step)
            bot.last_step = now
            if (bot.x, bot.y) == before:
                continue  # turning round at a wall: nothing new to report
            mask = 0
            if self.window[0] <= now <= self.window[1]:
                x, y = bot.x, bot.y
                for o in observers:
                    if o is not bot and abs(o.x - x) <= view and abs(o.y - y) <= view:
                        mask |= 1 << o.observer  # type: ignore[operator]
            t = time.monotonic()
            try:
                seq = bot.client.send_move(bot.x, bot.y)
            except Exception:  # the socket closed under us
                bot.joined = False
                continue
            # HostClient numbers moves 1, 2, 3...; keep the list aligned with seq.
            while len(bot.sent_t) < seq:
                bot.sent_t.append(math.nan)
                bot.sent_mask.append(0)
            bot.sent_t[seq - 1] = t
            bot.sent_mask[seq - 1] = mask
            bot.seq_at[(bot.x, bot.y)] = seq

    def run_receiver(self) -> threading.Thread:
        def loop() -> None:
            while not self.stop.is_set():
                self.pump(0.005)
        thread = threading.Thread(target=loop, name="bots-receive", daemon=True)
        thread.start()
        return thread

    def counters(self) -> tuple[int, int]:
        """Snapshots and bytes received so far by all bots."""
        return (sum(b.snapshots_in for b in self.bots), sum(b.bytes_in for b in self.bots))

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Close every connection and stop reconnecting; waits at most ``wait``
        seconds (the rest close with the process)."""
        self.stop.set()

        def shut(client: Any) -> None:
            client.sio.reconnection = False
            client.close()
            client.sio.shutdown()  # ends a reconnect loop in progress

        threads = [threading.Thread(target=shut, args=(b.client,), daemon=True) for b in self.bots]
        for t in threads:
            t.start()
        deadline = time.monotonic() + wait
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # -- results ---------------------------------------------------------------------
    def tally(self, deadline_s: float) -> dict:
        """Latencies (ms) of delivered pairs and the delivery counts."""
        start, end = self.window
        last_send = end - deadline_s
        latencies: list[float] = []
        expected = delivered = 0
        for mover in self.bots:
            if mover.player_id is None:
                continue
            for slot, observer in enumerate(self.observers):
                bit = 1 << slot
                seqs, times = self.deliveries[slot].get(mover.player_id, ([], []))
                for seq0, (t_send, mask) in enumerate(zip(mover.sent_t, mover.sent_mask)):
                    if not mask & bit or not start <= t_send <= last_send:
                        continue
                    expected += 1
                    j = bisect.bisect_left(seqs, seq0 + 1)
                    if j == len(seqs):
                        continue
                    latency = times[j] - t_send
                    latencies.append(latency * 1000.0)
                    if latency <= deadline_s:
                        delivered += 1
        return {"latencies": latencies, "expected": expected, "delivered": delivered,
                "joined": sum(b.player_id is not None for b in self.bots),
                "send_lag": sorted(self.send_lag)[-max(1, len(self.send_lag) // 100):],
                "sends": len(self.send_lag),
                "corrections": self.corrections, "errors": self.errors,
                "disconnects": self.disconnects}


# -- running ---------------------------------------------------------------------------
def run_worker(server: str, indices: range, args: argparse.Namespace, seed: int,
               link: Any = None) -> dict | None:
    """Run one process worth of bots.

    ``link`` is the worker's end of a pipe to the parent when the bots are
    spread over processes: the worker sends ("ready", joined), receives the
    measurement window, and sends ("stats", figures).  Without it the worker
    measures on its own.
    """
    import psutil

    _load_net()
    # Bots send text only: skip Socket.IO's search of every payload for bytes.
    import socketio.packet

    socketio.packet.Packet.uses_binary_events = False
    world = rules.load_world(args.map) if args.map else rules.load_world()
    swarm = Swarm(server, indices, args, world, seed)
    if isinstance(link, Connection):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
        # Once this worker said it is ready and got the window, the parent
        # writes again only to stop it (before that, only to stop it too).
        stop: Callable[[], bool] | None = link.poll
    else:
        _take_sigint()  # the clients just made installed socketio's handler
        stop = None
    stats = None
    try:
        swarm.log_in(stop)
        swarm.wait_joined(30.0, stop)
        swarm.choose_observers(args.observers if args.report else 0)
        swarm.run_receiver()
        if link is not None:
            link.send(("ready", sum(b.joined for b in swarm.bots)))
            while not link.poll():  # a blocking recv would stall every green thread
                _check()
                time.sleep(0.05)
            window = link.recv()
        else:
            window = _window(args)
        swarm.window = window
        sender = threading.Thread(target=swarm.walk_and_send, name="bots-send", daemon=True)
        sender.start()
        me = psutil.Process()
        if math.isinf(window[1]):
            _wait_forever(swarm, stop)
            return None
        _sleep_until(window[0], stop)
        cpu0, counts0 = _cpu(me), swarm.counters()
        _sleep_until(window[1], stop)
        cpu1, counts1 = _cpu(me), swarm.counters()
        _sleep_until(window[1] + args.deadline_ms / 1000.0 + 0.1, stop)
        swarm.stop.set()
        sender.join(2.0)
        stats = swarm.tally(args.deadline_ms / 1000.0)
        seconds = max(1e-9, window[1] - window[0])
        stats["cpu_pct"] = 100.0 * (cpu1 - cpu0) / seconds
        stats["snapshots"] = (counts1[0] - counts0[0]) / seconds
        stats["bytes"] = (counts1[1] - counts0[1]) / seconds
    except Stopped:
        return None
    finally:
        swarm.close()
        if link is not None:
            try:
                link.send(("stats", stats))
            except OSError:
                pass  # the parent is gone
    return stats


def _window(args: argparse.Namespace) -> tuple[float, float]:
    start = time.monotonic() + args.warmup
    return (start, start + args.seconds) if args.seconds > 0 else (start, math.inf)


def _sleep_until(t: float, stop: Callable[[], bool] | None = None) -> None:
    """Sleep until monotonic time ``t``; raises Stopped on Ctrl-C or when
    ``stop()`` says so."""
    while True:
        _check(stop)
        delay = t - time.monotonic()
        if delay <= 0:
            return
        time.sleep(min(delay, 0.2))


def _wait_forever(swarm: Swarm, stop: Callable[[], bool] | None) -> None:
    """Walk until Ctrl-C (or, in a worker process, until the parent says stop),
    saying in the log when the bots lose the host and when they are back."""
    total = len(swarm.bots)
    last_note = time.monotonic()
    lost_at: float | None = None
    relogins = 0
    while True:
        _sleep_until(time.monotonic() + 1.0, stop)
        walking = sum(b.joined for b in swarm.bots)
        now = time.monotonic()
        if walking < total and lost_at is None and swarm.disconnects:
            lost_at = now
            log.warning("lost the connection to the host: %d of %d bots walking, the rest "
                        "reconnecting (every 0.5 to 5 s)", walking, total)
        elif walking == total and lost_at is not None:
            log.warning("reconnected: all %d bots walking again after %.0f s",
                        total, now - lost_at)
            lost_at = None
        if swarm.relogins > relogins:
            log.warning("%d bots logged in again (the host no longer accepted their session)",
                        swarm.relogins - relogins)
            relogins = swarm.relogins
        if now - last_note >= 10.0:
            last_note = now
            if lost_at is None:
                log.info("%d bots walking", walking)
            else:
                log.warning("%d of %d bots walking, the rest reconnecting for %.0f s",
                            walking, total, now - lost_at)


def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def host_process(server: str):
    """The local process listening on the server's port, if there is one."""
    import psutil
    from urllib.parse import urlsplit

    parts = urlsplit(net.normalise_url(server))
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    port = parts.port or 80
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port \
                    and conn.pid:
                return psutil.Process(conn.pid)
    except (psutil.Error, OSError):
        return None
    return None


def host_stats(server: str) -> dict:
    import requests

    try:
        reply = requests.get(net.normalise_url(server) + P.HTTP_STATS, timeout=2.0)
        return reply.json() if reply.ok else {}
    except (requests.RequestException, ValueError):
        return {}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def run(args: argparse.Namespace) -> dict | None:
    server = net.normalise_url(args.server)
    host = host_process(server) if args.report else None
    slices = _slices(args.first, args.players, args.procs)
    if args.procs == 1:
        holder: dict = {}
        stats = _run_single(server, slices[0], args, holder, host)
        stats_list = [stats] if stats else []
        window = holder.get("window")
    else:
        stats_list, window, holder = _run_procs(server, slices, args, host)
    if not stats_list or window is None:
        return None
    return _report(args, stats_list, holder, window, server)


def _run_single(server, indices, args, holder, host) -> dict | None:
    """One process: bots in this process, the host measured on a side thread."""

    class _Link:
        def send(self, message) -> None:
            pass

        def poll(self) -> bool:
            return True

        def recv(self):
            window = _window(args)
            holder["window"] = window
            if not math.isinf(window[1]):
                threading.Thread(target=_measure_host, args=(host, window, holder, server),
                                 daemon=True).start()
            return window

    return run_worker(server, indices, args, args.seed, _Link())


def _run_procs(server, slices, args, host):
    """Bots spread over worker processes that start walking together."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    links, procs = [], []
    for n, indices in enumerate(slices):
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=run_worker, args=(server, indices, args, args.seed + n, theirs),
                           daemon=True)
        proc.start()
        links.append(mine)
        procs.append(proc)
    try:
        for link, proc in zip(links, procs):
            while not link.poll(0.2):
                _check()
                if not proc.is_alive():
                    raise RuntimeError(f"a bot process exited with {proc.exitcode}")
            link.recv()
        window = _window(args)
        for link in links:
            link.send(window)
        holder: dict = {}
        if math.isinf(window[1]):
            while any(proc.is_alive() for proc in procs):
                _check()
                time.sleep(0.2)
            return [], None, holder
        _measure_host(host, window, holder, server)
        stats_list = []
        for link in links:
            deadline = time.monotonic() + 120
            while not link.poll(0.2) and time.monotonic() < deadline:
                _check()
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


def _measure_host(host, window: tuple[float, float], holder: dict, server: str) -> None:
    """CPU of the host and the machine over the window; the host's tick
    figures as the window ends."""
    import psutil

    try:
        _sleep_until(window[0])
        psutil.cpu_percent(None)
        h0 = _cpu(host) if host else None
        _sleep_until(window[1])
    except Stopped:
        if threading.current_thread() is threading.main_thread():
            raise
        return
    holder["machine_cpu_pct"] = psutil.cpu_percent(None)
    if host is not None:
        try:
            holder["host_cpu_pct"] = 100.0 * (_cpu(host) - h0) / (window[1] - window[0])
        except Exception:
            pass
    holder["stats"] = host_stats(server)
    holder["done"] = True


def _merge_counts(dicts) -> dict[str, int]:
    total: dict[str, int] = {}
    for d in dicts:
        for key, n in d.items():
            total[key] = total.get(key, 0) + n
    return total


def _slices(first: int, players: int, procs: int) -> list[range]:
    procs = max(1, min(procs, players))
    base, extra = divmod(players, procs)
    out, start = [], first
    for n in range(procs):
        size = base + (1 if n < extra else 0)
        out.append(range(start, start + size))
        start += size
    return out


def judge_run(*, busiest_cpu_pct: float, send_lag_p99_ms: float | None,
              machine_cpu_pct: float | None, joined: int, players: int, expected: int,
              busiest: str, advice: str = "") -> tuple[bool, list[str]]:
    """(whether the load tool measured itself rather than the host, and every
    reason to doubt the figures), for any load tool: ``busiest`` names its
    busiest process in the message, ``advice`` follows it."""
    lag = send_lag_p99_ms or 0.0
    saturated = busiest_cpu_pct > SATURATED_CPU_PCT or lag > SEND_LAG_LIMIT_MS
    warnings = []
    if busiest_cpu_pct > SATURATED_CPU_PCT:
        warnings.append(f"{busiest} used {busiest_cpu_pct:.0f}% of a core: the figures measure "
                        f"the load tool, not the host{advice}")
    if lag > SEND_LAG_LIMIT_MS:
        warnings.append(f"the tool sent moves up to {lag:.0f} ms late (p99): it did "
                        f"not get enough CPU, so the latencies include its own backlog")
    if machine_cpu_pct is not None and machine_cpu_pct > MACHINE_BUSY_PCT:
        warnings.append(f"the machine was {machine_cpu_pct:.0f}% busy: the tool and the host "
                        f"competed for CPU")
    if joined < players:
        warnings.append(f"only {joined} of {players} players joined")
    if expected == 0:
        warnings.append("no expected deliveries were measured")
    return saturated, warnings


def _report(args, stats_list: list[dict], holder: dict, window, server: str) -> dict:
    # The host measurement thread finishes at the window's end; wait for it.
    for _ in range(50):
        if holder.get("done"):
            break
        time.sleep(0.1)
    latencies = sorted(v for s in stats_list for v in s["latencies"])
    expected = sum(s["expected"] for s in stats_list)
    delivered = sum(s["delivered"] for s in stats_list)
    joined = sum(s["joined"] for s in stats_list)
    cpus = [s["cpu_pct"] for s in stats_list]
    tick = holder.get("stats") or {}
    round_ = lambda v, n=1: None if v is None else round(v, n)
    # p99 of how late sends left against their schedule, over all processes
    # (each process passes on its slowest 1%).
    lags = sorted(v for s in stats_list for v in s["send_lag"])
    sends = sum(s["sends"] for s in stats_list)
    send_lag_p99 = lags[-min(len(lags), max(1, sends // 100))] * 1000.0 if lags else None
    saturated, warnings = judge_run(
        busiest_cpu_pct=max(cpus), send_lag_p99_ms=send_lag_p99,
        machine_cpu_pct=holder.get("machine_cpu_pct"), joined=joined, players=args.players,
        expected=expected, busiest="a load process", advice="; use more --procs")
    report = {
        "players": args.players, "rate": args.rate, "mode": args.mode,
        "seconds": args.seconds, "procs": len(stats_list), "joined": joined,
        "p50_ms": round_(percentile(latencies, 0.50)),
        "p99_ms": round_(percentile(latencies, 0.99)),
        "max_ms": round_(latencies[-1] if latencies else None),
        "delivered_pct": round_(100.0 * delivered / expected if expected else None, 2),
        "deadline_ms": args.deadline_ms, "pairs": expected,
        "snapshots_per_s": round_(sum(s["snapshots"] for s in stats_list) / max(1, joined)),
        "bytes_per_s": round_(sum(s["bytes"] for s in stats_list) / max(1, joined), 0),
        "tool_cpu_pct": round_(sum(cpus)), "tool_cpu_max_proc_pct": round_(max(cpus)),
        "host_cpu_pct": round_(holder.get("host_cpu_pct")),
        "machine_cpu_pct": round_(holder.get("machine_cpu_pct")),
        "host_tick_lateness_p99_ms": tick.get("lateness_p99_ms"),
        "host_tick_lateness_last_5s_max_ms": tick.get("lateness_last_5s_max_ms"),
        "send_lag_p99_ms": round_(send_lag_p99),
        "corrections": _merge_counts(s["corrections"] for s in stats_list),
        "errors": sum(s["errors"] for s in stats_list),
        "disconnects": sum(s["disconnects"] for s in stats_list),
        "saturated": saturated,
        "warning": "; ".join(warnings) or None,
    }
    return report


# -- command line -----------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m game.bots",
        description="Scripted players that log in, walk around and, with --report,\n"
                    "measure how fast the host delivers their moves.  When the host\n"
                    "goes away they reconnect as the game does (every 0.5 to 5 s,\n"
                    "logging in again if it no longer knows their session) and say so\n"
                    "in the log.  Ctrl-C stops them.",
        epilog=REPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="http://127.0.0.1:5000", metavar="URL",
                        help="the host to join (default: %(default)s)")
    parser.add_argument("--players", type=int, default=10, metavar="N",
                        help="how many bots join (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=20.0, metavar="HZ",
                        help="position updates each bot sends per second while walking"
                             " (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=0.0, metavar="S",
                        help="how long to walk after everyone joined (and --warmup); "
                             "0 (the default) walks until Ctrl-C")
    area = parser.add_mutually_exclusive_group()
    area.add_argument("--crowd", dest="mode", action="store_const", const="crowd",
                      help=f"keep every bot within {2 * CROWD_HALF_W}x{2 * CROWD_HALF_H} px "
                           "around the spawn, so everyone sees everyone (the default)")
    area.add_argument("--spread", dest="mode", action="store_const", const="spread",
                      help="wander over the whole map instead")
    parser.set_defaults(mode="crowd")
    parser.add_argument("--report", action="store_true",
                        help="measure and print one JSON line at the end (fields below)")
    parser.add_argument("--procs", type=int, default=1, metavar="P",
                        help="spread the bots over P processes (latency is measured "
                             "between bots of the same process) (default: %(default)s)")
    parser.add_argument("--observers", type=int, default=12, metavar="K",
                        help="bots per process whose received snapshots are checked for "
                             "latency and delivery (the rest only walk and receive)"
                             " (default: %(default)s)")
    parser.add_argument("--deadline-ms", type=float, default=500.0, metavar="MS",
                        help="a move seen later than this counts as not delivered"
                             " (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, metavar="S",
                        help="seconds of walking after everyone joined before measuring"
                             " (default: %(default)s)")
    parser.add_argument("--prefix", default="bot", metavar="NAME",
                        help="account names are NAME0000, NAME0001, ... (password: the "
                             f"name followed by '{DEFAULT_PASSWORD_SUFFIX}'); an existing "
                             "account is logged in, a missing one registered "
                             "(default: %(default)s)")
    parser.add_argument("--first", type=int, default=0, metavar="I",
                        help="number of the first account, to run several tools at once"
                             " (default: %(default)s)")
    parser.add_argument("--map", default=None, metavar="PATH",
                        help="the host's Tiled map, for walls and the spawn "
                             "(default: the game's own map)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed for the walks (default: %(default)s)")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging detail; INFO also says every 10 s how many bots walk"
                             " (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.players < 1 or args.rate <= 0 or args.seconds < 0 or args.procs < 1:
        parser.error("--players, --rate and --procs must be positive, --seconds not negative")
    if args.rate > P.MOVES_PER_SECOND:
        parser.error(f"the host accepts at most {P.MOVES_PER_SECOND} moves a second")
    if args.report and args.seconds == 0:
        parser.error("--report needs --seconds above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _Stop.requested = False
    _take_sigint()
    _load_net(green=args.procs == 1)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("game.bots").setLevel(min(logging.INFO, logging.getLevelName(args.log_level)))
    if not net.probe(args.server, timeout=3.0):
        print(f"no Pixel Commons host answers at {args.server}", file=sys.stderr)
        return 2
    try:
        report = run(args)
    except (Stopped, KeyboardInterrupt):
        report = None
    if _Stop.requested:
        print("stopped (Ctrl-C)", file=sys.stderr, flush=True)
        return 130
    if args.report:
        if report is None:
            print("no report: the run was interrupted", file=sys.stderr)
            return 1
        print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
