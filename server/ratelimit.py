"""Generic limiters: how many events in a sliding window, how many refusals,
and how a host that stood still judges the packets it reads afterwards.

Used by the connection guard (``server.limits``) and by the players' own
limits (``server.live``); nothing here knows about sockets or players.
"""
from __future__ import annotations

import logging
import time
from collections import deque

log = logging.getLogger("server.limits")

# The host counts as having stood still (suspended, SIGSTOP, a machine out of
# memory) when none of it ran for this long; the tick alone runs every 50 ms.
STALL_THRESHOLD_S = 0.5
# After a stall, a connection's packets are judged as sent at the pace it had
# before (at least this many packets a second): see Pace.
CATCH_UP_MIN_RATE = 20.0


class _RecentTimes:
    """Times of events in the last ``window_s`` seconds, checked against ``limit``."""

    __slots__ = ("limit", "window_s", "_times")

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def _recent(self, now: float) -> deque[float]:
        times = self._times
        cutoff = now - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def count(self, now: float) -> int:
        """How many events fall in the window ending at ``now``."""
        return len(self._recent(now))

    @property
    def recent(self) -> int:
        """How many events were counted, without forgetting old ones first."""
        return len(self._times)


class SlidingWindow(_RecentTimes):
    """Allows at most ``limit`` events in any ``window_s`` seconds."""

    __slots__ = ()

    def allow(self, now: float) -> bool:
        times = self._recent(now)
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Strikes(_RecentTimes):
    """Counts refusals; a client that keeps flooding after being told is dropped."""

    __slots__ = ()

    def add(self, now: float) -> bool:
        """Record a refusal; True when the client has now earned a disconnect."""
        times = self._recent(now)
        times.append(now)
        return len(times) >= self.limit


class StallClock:
    """Notices when the whole host stood still, and for how long.

    Whatever runs (the tick, the connection checks, every packet) calls
    ``alive``; a gap longer than ``threshold_s`` between two calls means
    nothing of the host ran meanwhile.  The packets clients sent during such a
    stall are read in a burst afterwards; ``Pace`` uses ``last_stall`` so the
    rate limits do not take that burst for a flood, and the transport uses
    ``stalled_within`` so Engine.IO's timeouts do not take it for dead clients.
    """

    def __init__(self, threshold_s: float = STALL_THRESHOLD_S, now: float | None = None):
        self.threshold_s = threshold_s
        self._alive = time.monotonic() if now is None else now
        self.last_stall: tuple[float, float] | None = None  # (froze at, ran again at)
        self.stalls = 0
        self.longest_s = 0.0

    def alive(self, now: float) -> None:
        last = self._alive
        if now - last > self.threshold_s:
            if self.last_stall is None or self.last_stall[1] < now - self.threshold_s:
                self.stalls += 1
                self.longest_s = max(self.longest_s, now - last)
                log.warning("the host stood still for %.1f s; packets sent meanwhile are "
                            "judged at their senders' pace", now - last)
            self.last_stall = (last, now)
        if now > last:
            self._alive = now

    def stalled_within(self, seconds: float, now: float) -> bool:
        """Whether the host stood still at some point in the last ``seconds``."""
        stall = self.last_stall
        return stall is not None and stall[1] >= now - seconds


class Pace:
    """The time a connection's packets are judged at by the rate limits.

    Normally the time the host reads them.  After a stall (see StallClock)
    the packets a client sent meanwhile arrive together; they are judged as
    sent one after another at the pace the connection had before the stall
    (``step`` apart), never later than the host read them, and catching up
    with the clock within as long as the stall lasted.  So a client is judged
    by what it sent, not by when a frozen host got round to reading it.
    """

    __slots__ = ("judged", "read_at", "step", "stall")

    def __init__(self) -> None:
        self.judged = -1e9
        self.read_at = -1e9
        self.step = 1.0 / CATCH_UP_MIN_RATE
        self.stall: tuple[float, float] | None = None

    def judge(self, now: float, clock: StallClock, recent_packets: int) -> float:
        stall = clock.last_stall
        if stall is not None and stall is not self.stall and self.read_at < stall[1]:
            # Packets from before the stall ended: read at the pace of the
            # last second before it.
            self.stall = stall
            self.step = 1.0 / max(float(recent_packets), CATCH_UP_MIN_RATE)
        judged = now
        if self.stall is not None:
            froze, resumed = self.stall
            behind = (resumed - froze) - (now - resumed)  # what is left to catch up
            if behind > 0:
                judged = min(now, max(self.judged + self.step, now - behind))
        judged = max(judged, self.judged)
        self.judged, self.read_at = judged, now
        return judged
