"""The join desk: joins enter the world in order, a few ms of them per turn
of the event loop under eventlet, at once under threading."""
from __future__ import annotations

import functools
import threading
import time

import eventlet
import pytest

from server.presence import JoinDesk


def busy(ms: float) -> None:
    """Hold the loop (no green switch) for ``ms`` milliseconds."""
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


def test_joins_keep_their_order_and_let_the_loop_turn_between_slices():
    desk = JoinDesk("eventlet", slice_s=0.003)
    done: list[int] = []
    seen_by_loop: list[int] = []

    def work(i: int) -> int:
        busy(1.0)
        done.append(i)
        return i * 10

    def other_work() -> None:  # stands for the tick: runs whenever the loop turns
        while len(done) < 20:
            seen_by_loop.append(len(done))
            eventlet.sleep(0)

    joins = [eventlet.spawn(desk.run, functools.partial(work, i)) for i in range(20)]
    loop = eventlet.spawn(other_work)
    assert [g.wait() for g in joins] == [i * 10 for i in range(20)]
    loop.wait()
    assert done == list(range(20))
    # About three joins per slice, and the loop got a turn between slices.
    assert desk.yields >= 4
    assert len(set(seen_by_loop)) >= 4
    assert max(b - a for a, b in zip(seen_by_loop, seen_by_loop[1:])) <= 5


def test_a_failing_join_fails_only_its_caller():
    desk = JoinDesk("eventlet")

    def fails() -> None:
        raise ValueError("no room")

    bad = eventlet.spawn(desk.run, fails)
    good = eventlet.spawn(desk.run, lambda: "welcome")
    with pytest.raises(ValueError, match="no room"):
        bad.wait()
    assert good.wait() == "welcome"
    assert desk.run(lambda: "again") == "again"  # the desk still serves


def test_under_threading_a_join_runs_at_once_in_its_own_thread():
    desk = JoinDesk("threading")
    assert desk.run(threading.get_ident) == threading.get_ident()
    assert desk.yields == 0
