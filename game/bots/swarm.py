"""Many scripted players in one process: logging in, walking, reconnecting, stopping.

One thread handles what the host sends to every player, one walks them all
and sends their positions on schedule; the players' clients run on green
threads when the process was switched to them (``player.load_net``).
"""
from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import deque
from typing import Any, Callable

from game.core import protocol as P
from game.core import rules

from . import player
from .player import Bot, Inbox
from .stop import Stop, check, parallel, sleep_until
from .walker import Walker, targets_for

log = logging.getLogger("game.bots")

LOGIN_THREADS = 8
# After Ctrl-C, closing the players' connections may take this long; the rest
# are dropped with the process (the host notices the closed sockets).
CLOSE_WAIT_S = 1.5
# How often the log says how many players walk (at INFO).
NOTE_EVERY_S = 10.0
# Talking players (--talk) say a line this often by default, taking turns
# with these lines.
TALK_EVERY_S = 10.0
LINES = ("hello!", "anyone up for a walk to the lake?", "nice day in the plaza",
         "has anyone seen the new map by the river? I heard there is a cave behind the "
         "waterfall", "brb", "who wants to race to the bridge?")


class Swarm:
    """One process worth of players walking on the host at ``server``.

    Subclasses measure: they get every snapshot and area event with the
    time it arrived (``on_snapshot``, ``on_area``), and every send
    (``on_due``, ``expected_mask``, ``on_sent``).
    """
    bot_class = Bot

    def __init__(self, server: str, indices: range, world: rules.WorldMap, *, mode: str,
                 rate: float, prefix: str, seed: int, talk: float = 0.0,
                 talk_every: float = TALK_EVERY_S):
        self.server = server
        self.world = world
        self.rate = rate
        self.prefix = prefix
        self.inbox: deque = deque()
        self.rng = random.Random(seed)
        self.mode = mode
        self.walker = Walker(world, targets_for(world, mode), self.rng)
        # Walkers of the other maps of the world, made when a player first
        # walks through an exit onto one (see on_map_changed).
        self.walkers: dict[str, Walker] = {world.name: self.walker}
        self.maps: Any = None  # game.bots.maps.HostMaps, made on the first map change
        self.bots = [self.make_bot(i) for i in indices]
        self.by_pid: dict[int, Bot] = {}
        self.stop = threading.Event()
        self.corrections: dict[str, int] = {}  # reason -> count
        self.errors = 0
        self.disconnects = 0
        self.relogins = 0  # players that logged in again after the host refused their session
        # A share ``talk`` of the players say a line aloud every ``talk_every`` s.
        self.talk = talk
        self.talk_every = talk_every
        self.seed = seed
        self.said = 0   # lines our players said
        self.heard = 0  # lines said aloud that reached our players (theirs included)

    def make_bot(self, i: int) -> Bot:
        name = f"{self.prefix}{i:04d}"
        # Like the game: after a drop, socketio reconnects with backoff (0.5 s
        # doubling to 5 s) and the client joins again by itself.
        client = player.net.HostClient(self.server, reconnect=True)
        bot = self.bot_class(i, name, client)
        client.events = Inbox(i, self.inbox)  # type: ignore[assignment]
        return bot

    # -- setup -------------------------------------------------------------------
    def log_in(self, stop: Callable[[], bool] | None = None) -> int:
        """Log every player in and connect, LOGIN_THREADS at a time; returns
        how many made it."""
        return sum(parallel(lambda bot: bot.log_in(), self.bots, LOGIN_THREADS, stop))

    def wait_joined(self, timeout: float, stop: Callable[[], bool] | None = None) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            check(stop)
            self.pump(0.05)
            if all(b.joined or not b.client.connected for b in self.bots):
                break
        return sum(b.joined for b in self.bots)

    # -- what the host sends -------------------------------------------------------
    def pump(self, timeout: float) -> None:
        """Handle what the host sent (runs on the receiving thread).

        Events carry the time they arrived, so a late pump does not change
        the latency figures."""
        inbox = self.inbox
        if not inbox:
            time.sleep(timeout)
        while inbox:
            index, event = inbox.popleft()
            self.handle(self.bots[index - self.bots[0].index], event)

    def handle(self, bot: Bot, event: Any) -> None:
        net = player.net
        kind, data = event.kind, event.data
        if kind == P.SNAPSHOT:
            self.on_snapshot(bot, data, event.at)
        elif kind == P.AREA:
            self.on_area(bot, data, event.at)
        elif kind == P.WELCOME and isinstance(data, dict):
            you = data["you"]
            bot.player_id = you["id"]
            bot.x, bot.y = round(float(you["x"]), 1), round(float(you["y"]), 1)
            bot.map_name = str(you.get("map") or "")
            if isinstance(data.get("map"), dict) and bot.map_name not in self.walkers:
                self.walker_for(bot, data["map"])  # came back on another map than the start
            bot.target = self.walker_of(bot).pick(bot.x, bot.y)
            bot.last_step = time.monotonic()
            self.by_pid[bot.player_id] = bot
            bot.joined = True
        elif kind == P.SAID:
            self.heard += 1
        elif kind == P.MAP_CHANGED and isinstance(data, dict):
            self.on_map_changed(bot, data)
        elif kind == P.CORRECTION and isinstance(data, dict):
            reason = str(data.get("reason"))
            self.corrections[reason] = self.corrections.get(reason, 0) + 1
            seq = data.get("seq")
            if isinstance(seq, int) and seq <= bot.resync_seq:
                return  # about a move sent before the last correction we took
            bot.x, bot.y = round(float(data["x"]), 1), round(float(data["y"]), 1)
            bot.resync_seq = bot.last_seq  # every move so far left from elsewhere
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

    def on_map_changed(self, bot: Bot, data: dict) -> None:
        """The player walked through an exit: walk on from where the host put
        it, with the walls of the map it is on now."""
        desc, you = data.get("map"), data.get("you")
        if not isinstance(desc, dict) or not isinstance(you, dict):
            return
        walker = self.walker_for(bot, desc)
        if walker is None:
            return
        bot.map_name = str(desc.get("name", ""))
        bot.x, bot.y = round(float(you["x"]), 1), round(float(you["y"]), 1)
        bot.target = walker.pick(bot.x, bot.y)
        bot.resync_seq = bot.last_seq  # moves sent on the old map are refused

    def walker_for(self, bot: Bot, desc: dict) -> Walker | None:
        """The walker of the map ``desc`` describes, fetching the map the first
        time; None when it cannot be fetched."""
        name = str(desc.get("name", ""))
        walker = self.walkers.get(name)
        if walker is None:
            from .maps import HostMaps

            if self.maps is None:
                self.maps = HostMaps(self.server)
            try:
                world = self.maps.world(desc)
            except Exception as exc:
                log.warning("%s: cannot fetch map %s: %s", bot.name, name, exc)
                return None
            walker = self.walkers[name] = Walker(world, targets_for(world, self.mode), self.rng)
        return walker

    def walker_of(self, bot: Bot) -> Walker:
        return self.walkers.get(bot.map_name, self.walker) if bot.map_name else self.walker

    def on_snapshot(self, bot: Bot, data: Any, at: float) -> None:
        """A snapshot ``bot`` received at monotonic time ``at``."""

    def on_area(self, bot: Bot, data: Any, at: float) -> None:
        """An area change ``bot`` received at monotonic time ``at``."""

    def _log_in_again(self, bot: Bot, why: str) -> None:
        log.debug("%s: the host refused the session (%s); logging in again", bot.name, why)
        try:
            if bot.log_in_again(lambda: not self.stop.is_set() and not Stop.requested):
                self.relogins += 1
        finally:
            bot.relogging = False

    def run_receiver(self) -> threading.Thread:
        def loop() -> None:
            while not self.stop.is_set():
                self.pump(0.005)
        thread = threading.Thread(target=loop, name="bots-receive", daemon=True)
        thread.start()
        return thread

    # -- walking -------------------------------------------------------------------
    def walk_and_send(self) -> None:
        """Move every player and send its position, ``rate`` times a second
        (or as often as the host's ``pace`` asks, when that is less)."""
        start = time.monotonic()
        n = len(self.bots)
        due = [(start + k / self.rate / max(1, n), k) for k in range(n)]
        heapq.heapify(due)
        while not self.stop.is_set():
            when, k = due[0]
            now = time.monotonic()
            if when > now:
                time.sleep(min(when - now, 0.05))
                continue
            bot = self.bots[k]
            period = 1.0 / min(self.rate, bot.client.tick_rate)
            heapq.heapreplace(due, (when + period if now - when < period else now + period, k))
            self.on_due(now, when)
            if not bot.joined:
                continue
            before = (bot.x, bot.y)
            self.walker_of(bot).advance(bot, now - bot.last_step)
            bot.last_step = now
            if (bot.x, bot.y) == before:
                continue  # turning round at a wall: nothing new to report
            mask = self.expected_mask(bot, now)
            t = time.monotonic()
            try:
                seq = bot.client.send_move(bot.x, bot.y, int(now * 1000.0))
            except Exception:  # the socket closed under us
                bot.joined = False
                continue
            bot.last_seq = seq
            self.on_sent(bot, seq, t, mask)

    def on_due(self, now: float, when: float) -> None:
        """A send scheduled for ``when`` comes up at ``now``."""

    def expected_mask(self, bot: Bot, now: float) -> int:
        """Which observers should see the position ``bot`` is about to send."""
        return 0

    def on_sent(self, bot: Bot, seq: int, t: float, mask: int) -> None:
        """``bot`` sent move ``seq`` at monotonic time ``t``."""

    def start_walking(self) -> threading.Thread:
        sender = threading.Thread(target=self.walk_and_send, name="bots-send", daemon=True)
        sender.start()
        if self.talk > 0:
            threading.Thread(target=self.talk_aloud, name="bots-talk", daemon=True).start()
        return sender

    # -- talking -------------------------------------------------------------------
    def talkers(self) -> list[Bot]:
        """The players who talk: a seeded sample of ``talk`` of them."""
        count = round(self.talk * len(self.bots))
        return random.Random(self.seed + 17).sample(self.bots, count) if count else []

    def talk_aloud(self) -> None:
        """Each talker says a line every ``talk_every`` seconds (``say``), their
        turns spread evenly over the interval, until the swarm stops."""
        talkers = self.talkers()
        if not talkers:
            return
        start = time.monotonic()
        due = [(start + self.talk_every * (k + 0.5) / len(talkers), k)
               for k in range(len(talkers))]
        heapq.heapify(due)
        turn = 0
        while not self.stop.is_set():
            when, k = due[0]
            now = time.monotonic()
            if when > now:
                time.sleep(min(when - now, 0.1))
                continue
            heapq.heapreplace(due, (when + self.talk_every, k))
            bot = talkers[k]
            if not bot.joined:
                continue
            try:
                bot.client.emit(P.SAY, {"text": LINES[turn % len(LINES)]})
            except Exception:  # the socket closed under us; it reconnects by itself
                continue
            turn += 1
            self.said += 1

    def walk_until_stopped(self, stop: Callable[[], bool] | None = None) -> None:
        """Walk until Ctrl-C (or until ``stop()`` says so), saying in the log
        when the players lose the host and when they are back.  Raises Stopped."""
        total = len(self.bots)
        last_note = time.monotonic()
        lost_at: float | None = None
        relogins = 0
        while True:
            sleep_until(time.monotonic() + 1.0, stop)
            walking = sum(b.joined for b in self.bots)
            now = time.monotonic()
            if walking < total and lost_at is None and self.disconnects:
                lost_at = now
                log.warning("lost the connection to the host: %d of %d bots walking, the rest "
                            "reconnecting (every 0.5 to 5 s)", walking, total)
            elif walking == total and lost_at is not None:
                log.warning("reconnected: all %d bots walking again after %.0f s",
                            total, now - lost_at)
                lost_at = None
            if self.relogins > relogins:
                log.warning("%d bots logged in again (the host no longer accepted their session)",
                            self.relogins - relogins)
                relogins = self.relogins
            if now - last_note >= NOTE_EVERY_S:
                last_note = now
                if lost_at is None:
                    log.info("%d bots walking", walking)
                else:
                    log.warning("%d of %d bots walking, the rest reconnecting for %.0f s",
                                walking, total, now - lost_at)

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
