"""Drawing other players smoothly from the host's snapshots (20 Hz, or
10 Hz while the host is overloaded; see ``Interpolator.set_tick_period``).

Pure (no pygame).  Each remote player has a short buffer of (host time,
position) samples.  They are drawn ``delay`` seconds in the past, between the
two samples around that moment, so they glide instead of jumping from one
snapshot to the next.

Host times come from the snapshot's ``t`` (host wall clock, ms).  The client
learns the gap between its own clock and the host's from the arrival times:
the smallest gap seen is the one with the least network delay, so jitter does
not make remote players speed up and slow down.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

INTERP_DELAY_S = 0.1
# Players are drawn at least this many snapshot periods in the past, so there
# is a newer sample to glide towards even when one snapshot comes late.
DELAY_PERIODS = 2.0
# When the snapshot rate changes the drawing delay moves to its new value at
# this many seconds per second (drawn players slow down or speed up by 20 %
# for a moment rather than jump).
DELAY_EASE_PER_S = 0.2
# A player not in any snapshot for this many tick periods had stopped; their
# next move starts from where they stood, one tick earlier, instead of sliding
# slowly across the whole pause.
STOP_GAP_TICKS = 4
# Samples this much older than the time being drawn are dropped.
KEEP_S = 1.0
# How fast the clock offset may creep up (seconds per second) when arrival
# gaps grow, so a drifting clock is followed without reacting to jitter.
OFFSET_CREEP = 0.05


@dataclass(frozen=True)
class Pose:
    """Where to draw a remote player and which way they walk."""

    x: float
    y: float
    vx: float = 0.0  # pixels per second, for facing and the walk animation
    vy: float = 0.0

    @property
    def moving(self) -> bool:
        return abs(self.vx) > 1.0 or abs(self.vy) > 1.0


class SnapshotBuffer:
    """Timed positions of one player, oldest first."""

    def __init__(self, tick_period: float = 0.05):
        self.tick_period = tick_period
        self.times: list[float] = []
        self.points: list[tuple[float, float]] = []

    def __len__(self) -> int:
        return len(self.times)

    def add(self, t: float, x: float, y: float) -> None:
        """Add a sample; older-than-newest samples (reordered packets) are dropped."""
        if self.times:
            last_t = self.times[-1]
            if t <= last_t:
                if t == last_t:
                    self.points[-1] = (x, y)
                return
            if t - last_t > STOP_GAP_TICKS * self.tick_period:
                # They had stopped: hold still until one tick before this sample.
                self.times.append(t - self.tick_period)
                self.points.append(self.points[-1])
        self.times.append(t)
        self.points.append((x, y))

    def sample(self, t: float) -> Pose:
        """The position at host time t (held at the ends, never extrapolated)."""
        if not self.times:
            raise LookupError("empty buffer")
        i = bisect_right(self.times, t)
        if i == 0:
            x, y = self.points[0]
            return Pose(x, y)
        if i >= len(self.times):
            x, y = self.points[-1]
            return Pose(x, y)
        t0, t1 = self.times[i - 1], self.times[i]
        (x0, y0), (x1, y1) = self.points[i - 1], self.points[i]
        span = t1 - t0
        a = (t - t0) / span
        return Pose(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a, (x1 - x0) / span, (y1 - y0) / span)

    def prune(self, before: float) -> None:
        """Forget samples no longer needed to draw times after ``before``."""
        i = bisect_right(self.times, before) - 1  # the sample at or before `before` is kept
        if i > 0:
            del self.times[:i]
            del self.points[:i]


class Interpolator:
    """All remote players' buffers plus the local-to-host clock offset."""

    def __init__(self, delay: float = INTERP_DELAY_S, tick_period: float = 0.05):
        self.base_delay = delay
        self.tick_period = tick_period
        self.delay = self.target_delay = max(delay, DELAY_PERIODS * tick_period)
        self._eased_at: float | None = None
        self.offset: float | None = None  # local seconds minus host seconds
        self.buffers: dict[int, SnapshotBuffer] = {}

    def set_tick_period(self, tick_period: float) -> None:
        """The host changed its snapshot rate (``pace``): draw further in the
        past at a lower rate (eased, see ``DELAY_EASE_PER_S``) and take a
        longer gap between samples for a stop."""
        self.tick_period = tick_period
        self.target_delay = max(self.base_delay, DELAY_PERIODS * tick_period)
        for buf in self.buffers.values():
            buf.tick_period = tick_period

    def _ease(self, local_now: float) -> None:
        last, self._eased_at = self._eased_at, local_now
        if self.delay == self.target_delay or last is None:
            return
        change = DELAY_EASE_PER_S * max(0.0, local_now - last)
        if self.delay < self.target_delay:
            self.delay = min(self.target_delay, self.delay + change)
        else:
            self.delay = max(self.target_delay, self.delay - change)

    def sync(self, local_now: float, host_t_ms: float) -> None:
        """Learn the clock offset from a message stamped by the host."""
        gap = local_now - host_t_ms / 1000.0
        if self.offset is None or gap < self.offset:
            self.offset = gap
        else:
            # Creep up slowly so a clock that drifts apart is followed too.
            self.offset = min(gap, self.offset + OFFSET_CREEP * self.tick_period)

    def host_now(self, local_now: float) -> float:
        return local_now - (self.offset or 0.0)

    def render_time(self, local_now: float) -> float:
        self._ease(local_now)
        return self.host_now(local_now) - self.delay

    def add_snapshot(self, local_now: float, host_t_ms: float,
                     entries: list[tuple[int, float, float]], skip: int | None = None) -> None:
        """Record a snapshot's positions (``skip`` is our own id)."""
        self.sync(local_now, host_t_ms)
        t = host_t_ms / 1000.0
        for pid, x, y in entries:
            if pid == skip or not (math.isfinite(x) and math.isfinite(y)):
                continue
            buf = self.buffers.get(pid)
            if buf is None:
                buf = self.buffers[pid] = SnapshotBuffer(self.tick_period)
            buf.add(t, x, y)

    def place(self, local_now: float, pid: int, x: float, y: float) -> None:
        """A player appears (welcome, join): they stand at (x, y) from now on."""
        buf = SnapshotBuffer(self.tick_period)
        buf.add(self.host_now(local_now) - self.delay - self.tick_period, x, y)
        self.buffers[pid] = buf

    def remove(self, pid: int) -> None:
        self.buffers.pop(pid, None)

    def clear(self) -> None:
        self.buffers.clear()

    def poses(self, local_now: float) -> dict[int, Pose]:
        """Where every remote player is drawn now (also prunes old samples)."""
        t = self.render_time(local_now)
        out = {}
        for pid, buf in self.buffers.items():
            buf.prune(t - KEEP_S)
            out[pid] = buf.sample(t)
        return out
