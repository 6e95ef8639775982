"""When the host calls itself overloaded, and when no longer (server.overload)."""
from __future__ import annotations

from server.overload import (ENTER_LATENESS_MS, ENTER_READ_DELAY_MS, LEAVE_READ_DELAY_MS, HOLD_MAX_S, HOLD_S, LEAVE_WINDOW_S,
                             OVERLOAD_RATE_DIVISOR, OverloadWatch)

RATE = 20.0


class Clock:
    """Feeds a watch ticks at its current rate."""

    def __init__(self, watch: OverloadWatch):
        self.watch, self.now, self.cpu = watch, 0.0, 0.0
        self.changes: list[tuple[float, bool]] = []

    def run(self, seconds: float, late_ms: float = 0.0, work_ms: float = 1.0,
            cpu_share: float = 0.1, read_delay_ms: float = 0.0) -> None:
        end = self.now + seconds
        while self.now < end:
            period = 1.0 / self.watch.tick_rate
            self.now += period
            self.cpu += cpu_share * period
            for k in range(20):  # moves read since the last tick; one in ten on time
                self.watch.read_delay(0.0 if k % 10 == 0 else read_delay_ms / 1000.0)
            if self.watch.record(self.now, late_ms / 1000.0, work_ms / 1000.0, self.cpu):
                self.changes.append((self.now, self.watch.overloaded))


def test_a_quiet_host_is_never_overloaded():
    clock = Clock(OverloadWatch(RATE))
    clock.run(60.0, late_ms=3.0, work_ms=5.0, cpu_share=0.5)
    assert clock.changes == [] and clock.watch.tick_rate == RATE


def test_late_ticks_slow_the_tick_and_it_comes_back_when_they_stop():
    watch = OverloadWatch(RATE)
    clock = Clock(watch)
    clock.run(3.0)
    clock.run(3.0, late_ms=ENTER_LATENESS_MS + 10)
    assert watch.overloaded and watch.tick_rate == RATE / OVERLOAD_RATE_DIVISOR
    assert watch.describe() == {"tick_rate": RATE / 2, "overloaded": True}
    entered = clock.changes[0][0]
    assert entered <= 3.0 + 2.5
    clock.run(30.0)
    assert clock.changes[1][1] is False and not watch.overloaded and watch.tick_rate == RATE
    assert clock.changes[1][0] - entered >= max(HOLD_S, LEAVE_WINDOW_S)


def test_long_ticks_count_as_overload():
    watch = OverloadWatch(RATE)
    Clock(watch).run(5.0, work_ms=40.0)
    assert watch.overloaded


def test_it_stays_slow_while_the_host_is_busy_at_the_slower_rate():
    # Quiet ticks but most of a core spent at 10 Hz: at 20 Hz it would be
    # overloaded again, so it stays at 10 Hz.
    watch = OverloadWatch(RATE)
    clock = Clock(watch)
    clock.run(5.0, late_ms=60.0)
    clock.run(60.0, late_ms=1.0, cpu_share=0.7)
    assert watch.overloaded and len(clock.changes) == 1


def test_a_host_at_the_edge_waits_longer_each_time_before_speeding_up():
    watch = OverloadWatch(RATE)
    clock = Clock(watch)
    holds = []
    for _ in range(6):
        clock.run(4.0, late_ms=60.0)
        assert watch.overloaded
        holds.append(watch.hold_s)
        clock.run(watch.hold_s + LEAVE_WINDOW_S + 1.0)
        assert not watch.overloaded
    assert holds[0] == HOLD_S and holds == sorted(holds)
    assert holds[-1] == HOLD_MAX_S
    assert watch.times_overloaded == 6


def test_a_host_reading_moves_late_is_overloaded_though_its_ticks_are_on_time():
    # Short of CPU: ticks fire on time, but moves wait to be read.
    watch = OverloadWatch(RATE)
    clock = Clock(watch)
    clock.run(5.0, read_delay_ms=ENTER_READ_DELAY_MS + 50)
    assert watch.overloaded
    # Still behind (though less): it stays slow.
    clock.run(30.0, read_delay_ms=LEAVE_READ_DELAY_MS + 20)
    assert watch.overloaded and len(clock.changes) == 1
    clock.run(30.0, read_delay_ms=5.0)
    assert not watch.overloaded


def test_it_says_what_tipped_it():
    watch = OverloadWatch(RATE)
    Clock(watch).run(5.0, late_ms=3.0, work_ms=40.0)
    assert watch.overloaded
    assert watch.reason.startswith("ticks late 3 ms, tick work 40 ms, moves read late 0 ms")
