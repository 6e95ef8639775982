"""The game follows the host's pace: moves at the host's tick rate, and other
players drawn smoothly from 10 Hz snapshots as from 20 Hz ones."""
from __future__ import annotations

import pytest

from game.client.interpolation import Interpolator
from game.client.prediction import MoveSender
from game.core import protocol as P

from .helpers_client import Harness, StandIn


def drawn_path(interp: Interpolator, rate: float, seconds: float = 3.0, jitter_s: float = 0.03):
    """A player walking east at 160 px/s, one snapshot per 1/rate s arriving
    up to ``jitter_s`` late; where they are drawn at 60 frames a second."""
    period, speed = 1.0 / rate, 160.0
    arrivals = []
    for k in range(int(seconds * rate)):
        host_t = 10.0 + k * period
        late = jitter_s if k % 3 == 1 else 0.0
        arrivals.append((host_t + 0.02 + late, host_t, speed * k * period))
    arrivals.sort()
    frames, i = [], 0
    for f in range(int(seconds * 60)):
        now = 10.0 + f / 60.0
        while i < len(arrivals) and arrivals[i][0] <= now:
            at, host_t, x = arrivals[i]
            interp.add_snapshot(at, host_t * 1000.0, [(7, x, 0.0)])
            i += 1
        if 7 in interp.buffers:
            frames.append((now, interp.poses(now)[7]))
    return frames


@pytest.mark.parametrize("rate", [20.0, 10.0])
def test_remote_players_glide_at_the_hosts_rate(rate):
    interp = Interpolator()
    interp.set_tick_period(1.0 / rate)
    frames = drawn_path(interp, rate)
    steady = frames[len(frames) // 3:]  # after the first samples
    # Always between two samples, walking: never held still at the newest one.
    assert all(pose.moving and pose.vx == pytest.approx(160.0) for _, pose in steady)
    xs = [pose.x for _, pose in steady]
    assert all(b > a for a, b in zip(xs, xs[1:]))


def test_at_10_hz_the_old_delay_would_hold_players_still():
    # What the game did before: 100 ms behind at any rate.  At 10 Hz a late
    # snapshot leaves nothing to glide towards and the player stops.
    interp = Interpolator(tick_period=0.1)
    interp.delay = interp.target_delay = 0.1
    steady = drawn_path(interp, 10.0)[60:]
    assert not all(pose.moving for _, pose in steady)


def test_a_change_of_rate_eases_the_delay_instead_of_jumping():
    interp = Interpolator()
    assert interp.delay == pytest.approx(0.1)
    interp.render_time(0.0)
    interp.set_tick_period(0.1)
    times = [interp.render_time(f / 60.0) for f in range(1, 120)]
    steps = [b - a for a, b in zip(times, times[1:])]
    assert all(step > 0 for step in steps)  # never goes back in time
    assert interp.delay == pytest.approx(0.2)
    interp.set_tick_period(0.05)
    for f in range(120, 240):
        interp.render_time(f / 60.0)
    assert interp.delay == pytest.approx(0.1)


def test_move_sender_follows_the_hosts_rate():
    sender = MoveSender()
    sender.set_rate(10.0)
    assert sender.interval == pytest.approx(0.1)
    sender.set_rate(60.0)  # never more often than the game's own 20 a second
    assert sender.interval == pytest.approx(0.05)


def test_the_world_scene_sends_moves_at_the_pace_the_host_asks(tmp_path):
    h = Harness(tmp_path)
    try:
        client = StandIn()
        scene = h.enter_world(client)
        scene.held.add("down")

        def moves_in_one_second() -> int:
            before = len(client.moves)
            h.frames(60)
            return len(client.moves) - before

        assert 18 <= moves_in_one_second() <= 21
        client.put(P.PACE, {"tick_rate": 10.0, "overloaded": True})
        h.frames(1)
        assert scene.interp.tick_period == pytest.approx(0.1)
        assert 9 <= moves_in_one_second() <= 11
        client.put(P.PACE, {"tick_rate": 20.0, "overloaded": False})
        h.frames(1)
        assert 18 <= moves_in_one_second() <= 21
    finally:
        h.close()
