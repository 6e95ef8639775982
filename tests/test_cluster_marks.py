"""A process's tick waits for the marks of the others ticking with it, and
stops waiting a while for one whose marks keep coming late (a clock off,
an overloaded host).  The waiting side alone, with no Redis behind it."""
from __future__ import annotations

import time
from types import SimpleNamespace

from game.core import rules
from server.cluster.bus import Bus
from server.cluster.world import MARK, MISSES_TO_SKIP, WAIT_MAX_S, ClusterWorld, node_tag
from server.live import LiveWorld
from server.presence import Presence


def cluster_world() -> ClusterWorld:
    world = LiveWorld(rules.load_world())
    ctx = SimpleNamespace(world=world, presence=Presence(world, None),
                          config=SimpleNamespace(tick_rate=20.0),
                          sio=SimpleNamespace(sleep=time.sleep), connected_at={})
    return ClusterWorld(ctx, Bus("redis://127.0.0.1:1/0", "threading", node="here"))


def mark(cw: ClusterWorld, node: str, tick: int, following: int) -> None:
    cw._on_mark(node_tag(node) + MARK.pack(tick, following))


def timed_wait(cw: ClusterWorld, tick: int) -> float:
    started = time.monotonic()
    cw._wait_for_marks(tick)
    return time.monotonic() - started


def test_a_tick_waits_only_for_processes_due_now_and_not_for_ever_for_a_late_one():
    cw = cluster_world()
    cw._roster_of("there")
    mark(cw, "there", 100, 101)
    assert timed_wait(cw, 100) < WAIT_MAX_S / 2  # its tick 100 is out already
    mark(cw, "there", 101, 103)  # it ticks at half the rate: not due at 102
    assert timed_wait(cw, 102) < WAIT_MAX_S / 2
    for tick in range(103, 103 + MISSES_TO_SKIP):
        assert timed_wait(cw, tick) >= WAIT_MAX_S  # due, and late
        mark(cw, "there", tick, tick + 1)  # its mark comes after the wait
    assert cw.late_marks == MISSES_TO_SKIP
    mark(cw, "there", 106, 107)
    assert timed_wait(cw, 107) < WAIT_MAX_S / 2  # no longer waited for, for a while
