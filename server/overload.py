"""Overload: when the host cannot keep up, it slows its tick instead of breaking.

The tick loop reports every tick: how late it fired (the event loop's lag as
the tick sees it: every green thread that ran too long, under eventlet, or
the time the tick thread waited for the interpreter, under threading) and how
long the tick's own work took.  The move handler reports how late the host
reads each move stamped with its client's clock (``read_delay``): the gap
between the host's clock and the move's ``t``, less the smallest such gap
seen on that connection (the network's own delay and the clocks' offset).
A host short of CPU falls behind reading moves while its ticks still fire on
time; this is what shows it.  Per tick the 90th percentile over the moves
read since the last one counts.  ``OverloadWatch`` keeps the last seconds of
those and decides, with hysteresis:

- **enter** when, over the last ``ENTER_WINDOW_S``, the 90th percentile of
  lateness is at least ``ENTER_LATENESS_MS``, that of the tick's work at
  least ``ENTER_WORK_SHARE`` of the normal tick period, or that of the
  moves' read delay at least ``ENTER_READ_DELAY_MS``;
- **leave** after at least ``hold_s`` overloaded, when over the last
  ``LEAVE_WINDOW_S`` the 90th percentile of lateness is at most
  ``LEAVE_LATENESS_MS``, that of the work at most ``LEAVE_WORK_SHARE`` of the
  normal period, that of the read delay at most ``LEAVE_READ_DELAY_MS``, and
  the host's CPU time at the lower rate at most
  ``LEAVE_CPU_SHARE`` of one core (at the normal rate it would be about twice
  that).  ``hold_s`` starts at ``HOLD_S`` and doubles, up to ``HOLD_MAX_S``,
  each time the host is overloaded again within ``RELAPSE_S`` of leaving,
  so a host at the edge does not flap.

While overloaded the tick runs at the normal rate divided by
``OVERLOAD_RATE_DIVISOR`` (20 Hz -> 10 Hz): half the snapshots to write, and
the clients, told by a ``pace`` event, send half the moves.  Pure: time and
CPU time are given by the caller.
"""
from __future__ import annotations

from collections import deque

ENTER_WINDOW_S = 2.0
ENTER_LATENESS_MS = 25.0
ENTER_WORK_SHARE = 0.6
ENTER_READ_DELAY_MS = 100.0
LEAVE_WINDOW_S = 5.0
LEAVE_LATENESS_MS = 5.0
LEAVE_WORK_SHARE = 0.25
LEAVE_READ_DELAY_MS = 25.0
LEAVE_CPU_SHARE = 0.4
HOLD_S = 5.0
HOLD_MAX_S = 60.0
RELAPSE_S = 30.0
OVERLOAD_RATE_DIVISOR = 2.0
# Below this many ticks in a window nothing is decided (just started).
MIN_SAMPLES = 10


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


class OverloadWatch:
    """Decides from tick timings whether the host is overloaded."""

    def __init__(self, tick_rate: float):
        self.normal_rate = tick_rate
        self.overloaded = False
        self.since: float | None = None  # when the current state began
        self.hold_s = HOLD_S
        self.left_at: float | None = None
        self.times_overloaded = 0
        # (host time, lateness ms, work ms, process CPU seconds, read delay ms)
        self._samples: deque[tuple[float, float, float, float, float]] = deque()
        self._delays: list[float] = []  # read delays (s) since the last tick
        # What tipped it, the last time the host became overloaded: the
        # 90th percentiles of the window (for the log).
        self.reason = ""

    def read_delay(self, seconds: float) -> None:
        """How late the host read one move (see the module's docstring)."""
        self._delays.append(seconds)

    @property
    def tick_rate(self) -> float:
        return self.normal_rate / OVERLOAD_RATE_DIVISOR if self.overloaded else self.normal_rate

    def record(self, now: float, lateness_s: float, work_s: float, cpu_s: float) -> bool:
        """One tick's figures; True when this changed ``overloaded``."""
        samples = self._samples
        delays, self._delays = self._delays, []
        delay_ms = p90(delays) * 1000.0 if delays else 0.0
        samples.append((now, lateness_s * 1000.0, work_s * 1000.0, cpu_s, delay_ms))
        while samples and samples[0][0] < now - LEAVE_WINDOW_S:
            samples.popleft()
        if self.since is None:
            self.since = now
        if not self.overloaded:
            recent = [s for s in samples if s[0] >= now - ENTER_WINDOW_S]
            if len(recent) < MIN_SAMPLES or now - self.since < ENTER_WINDOW_S:
                return False
            period_ms = 1000.0 / self.normal_rate
            late, work, delay = (p90([s[i] for s in recent]) for i in (1, 2, 4))
            if (late >= ENTER_LATENESS_MS or work >= ENTER_WORK_SHARE * period_ms
                    or delay >= ENTER_READ_DELAY_MS):
                self.reason = (f"ticks late {late:.0f} ms, tick work {work:.0f} ms, moves "
                               f"read late {delay:.0f} ms (p90s; over {ENTER_LATENESS_MS:g}, "
                               f"{ENTER_WORK_SHARE * period_ms:g} or {ENTER_READ_DELAY_MS:g} ms "
                               f"tips it)")
                relapse = self.left_at is not None and now - self.left_at < RELAPSE_S
                self.hold_s = min(HOLD_MAX_S, self.hold_s * 2) if relapse else HOLD_S
                self._switch(now, True)
                self.times_overloaded += 1
                return True
            return False
        if now - self.since < max(self.hold_s, LEAVE_WINDOW_S) or len(samples) < MIN_SAMPLES:
            return False
        period_ms = 1000.0 / self.normal_rate
        span = samples[-1][0] - samples[0][0]
        cpu_share = (samples[-1][3] - samples[0][3]) / span if span > 0 else 1.0
        if (p90([s[1] for s in samples]) <= LEAVE_LATENESS_MS
                and p90([s[2] for s in samples]) <= LEAVE_WORK_SHARE * period_ms
                and p90([s[4] for s in samples]) <= LEAVE_READ_DELAY_MS
                and cpu_share <= LEAVE_CPU_SHARE):
            self.left_at = now
            self._switch(now, False)
            return True
        return False

    def _switch(self, now: float, overloaded: bool) -> None:
        self.overloaded = overloaded
        self.since = now
        self._samples.clear()  # judge the new rate by its own ticks

    def describe(self) -> dict:
        return {"tick_rate": self.tick_rate, "overloaded": self.overloaded}
