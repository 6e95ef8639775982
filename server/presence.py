"""Who joined and who left the world, told to everyone once per tick.

Telling everyone online about every join on its own costs a packet per
player per join: 500 players joining within a few seconds wrote about
125,000 packets and made ticks up to 200 ms late.  Joins and leaves are
instead written down as they happen and the tick sends, at most once each,
``players_left`` and then ``players_joined`` with everything since the last
tick, encoded once and written to everyone through the transport's fan-out.

What each player hears follows from the order of events in the tick:

* a player who joins and leaves within one tick is never mentioned;
* a player who leaves and joins again (a reconnect, or a takeover from
  another connection) is in both batches, and ``players_left`` comes first;
* a player's data in ``players_joined`` is as of the tick (position, look,
  map and role then), not as of the join.

A player who joined during this tick already got everyone then in the world
in its ``welcome``; it is left out of the shared batches and gets its own,
built from only the events after its welcome, so nobody is missed or listed
twice between a welcome and the batches that follow it.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

from game.core import protocol as P

from .live import WORLD_ROOM, LivePlayer, LiveWorld
from .runtime import green_event, green_spawn, green_yield

JOIN, LEAVE = "join", "leave"


class Presence:
    """The joins and leaves of the current tick, and the newcomers among them."""

    def __init__(self, world: LiveWorld, transport: Any):
        self.world = world
        self.transport = transport
        # Held while a join builds and sends its welcome, while a leave takes
        # a player out of the world, and while the tick sends the batches, so
        # that the welcome and the batches agree (the tick runs beside the
        # handlers under --async-mode threading).
        self.lock = threading.RLock()
        self._events: list[tuple[str, int, str]] = []  # (JOIN or LEAVE, id, name)
        # (sid, how many events came before its welcome) of this tick's joiners.
        self._newcomers: list[tuple[str, int]] = []
        self.batches_sent = 0
        # In a cluster, told of each join and leave of this process's own
        # players (JOIN or LEAVE, the player): server.cluster.world tells the
        # world's other processes.
        self.listener: Callable[[str, LivePlayer], None] | None = None

    def joined(self, player: LivePlayer) -> None:
        """Note a join; call with ``lock`` held, right after the player's
        welcome went out."""
        self._events.append((JOIN, player.user_id, player.name))
        self._newcomers.append((player.sid, len(self._events)))
        if self.listener is not None:
            self.listener(JOIN, player)

    def left(self, player: LivePlayer) -> None:
        """Note a leave; call with ``lock`` held, as the player is taken out."""
        self._events.append((LEAVE, player.user_id, player.name))
        if self.listener is not None and player.node is None:
            self.listener(LEAVE, player)

    def remote_joined(self, player: LivePlayer) -> None:
        """Note that a player of another process of the world is now shown
        here (a join there, or a process learnt of); call with ``lock`` held."""
        self._events.append((JOIN, player.user_id, player.name))

    def flush(self) -> None:
        """Send this tick's ``players_left`` and ``players_joined``."""
        with self.lock:
            if not self._events:
                return
            events, self._events = self._events, []
            newcomers, self._newcomers = self._newcomers, []
            publics: dict[int, dict] = {}
            left, joined = self._batches(events, publics)
            skip = {sid for sid, _ in newcomers}
            transport = self.transport
            if left is not None:
                transport.emit(P.PLAYERS_LEFT, left, WORLD_ROOM, skip_sids=skip)
            if joined is not None:
                transport.emit(P.PLAYERS_JOINED, joined, WORLD_ROOM, skip_sids=skip)
            self.batches_sent += (left is not None) + (joined is not None)
            for sid, start in newcomers:
                if start == len(events) or sid not in self.world.by_sid:
                    continue
                left, joined = self._batches(events[start:], publics)
                if left is not None:
                    transport.emit(P.PLAYERS_LEFT, left, sid)
                if joined is not None:
                    transport.emit(P.PLAYERS_JOINED, joined, sid)

    def _batches(self, events: list[tuple[str, int, str]],
                 publics: dict[int, dict]) -> tuple[dict | None, dict | None]:
        """The left and joined payloads for someone who saw the world as it
        was just before ``events`` (None: nothing to send)."""
        first: dict[int, str] = {}
        last: dict[int, str] = {}
        names: dict[int, str] = {}
        for kind, uid, name in events:
            first.setdefault(uid, kind)
            last[uid] = kind
            if kind == LEAVE:
                names.setdefault(uid, name)
        # Known before (its first event is a leave) and gone at some point.
        gone = [uid for uid, kind in first.items() if kind == LEAVE]
        by_uid = self.world.everyone
        players = []
        for uid, kind in last.items():
            player = by_uid.get(uid)
            if kind == JOIN and player is not None:
                if uid not in publics:
                    publics[uid] = player.public()
                players.append(publics[uid])
        left = {"ids": gone, "names": [names[uid] for uid in gone]} if gone else None
        return left, ({"players": players} if players else None)


# How long (seconds) joins may hold the event loop before letting it turn.
JOIN_SLICE_S = 0.004
# How long after a tick's due time a join that waited for it looks again.
TICK_WAIT_MARGIN_S = 0.0005


class JoinDesk:
    """Where joins enter the world, a few milliseconds of them at a time.

    A join's reads come back from the storage thread in bursts, and under
    eventlet a burst of twenty placed its players and sent their welcomes
    back to back (a few ms each with hundreds online), with no room for a
    tick that fell due.  Under eventlet, ``run`` hands the work to one green
    thread that does at most ``JOIN_SLICE_S`` of it before letting the loop
    turn, and does not start a join that would still run when the next tick
    falls due (judging by how long the last join took: ``next_tick_in``), so
    the tick goes first; the order of joins is kept.  Under
    threading the work runs at once, in the caller's thread.
    """

    def __init__(self, async_mode: str, slice_s: float = JOIN_SLICE_S):
        self.green = async_mode == "eventlet"
        self.slice_s = slice_s
        self._waiting: collections.deque = collections.deque()
        self._worker: Any = None
        self.yields = 0  # how often the desk let the loop turn
        # Seconds until the next tick falls due (set by the ticker).
        self.next_tick_in: Callable[[], float] = lambda: float("inf")

    def run(self, work: Callable[[], Any]) -> Any:
        """``work()``'s result (or exception), run in its turn."""
        if not self.green:
            return work()
        done = green_event()
        self._waiting.append((work, done))
        if self._worker is None:
            self._worker = green_spawn(self._serve)
        return done.wait()

    def _serve(self) -> None:
        try:
            started = time.perf_counter()
            last = 0.0  # how long the last join took: the next one takes about as long
            while self._waiting:
                if time.perf_counter() - started >= self.slice_s:
                    self.yields += 1
                    green_yield()
                    started = time.perf_counter()
                due_in = self.next_tick_in()
                if due_in < last:
                    # The join would still run when the tick falls due: let the
                    # tick go first.
                    self.yields += 1
                    green_yield(max(0.0, due_in) + TICK_WAIT_MARGIN_S)
                    started = time.perf_counter()
                work, done = self._waiting.popleft()
                begun = time.perf_counter()
                try:
                    result = work()
                except BaseException as exc:  # handed to the join that waits
                    done.send_exception(exc)
                else:
                    done.send(result)
                last = time.perf_counter() - begun
        finally:
            self._worker = None
