"""Unit tests for the client's pure parts: camera, interpolation, prediction."""
from __future__ import annotations

import math

import pytest

from game.core import rules
from game.client.camera import Camera
from game.client.interpolation import Interpolator, SnapshotBuffer
from game.client.prediction import DOWN, LEFT, RIGHT, UP, MoveSender, Predictor, facing_for

ROOM = rules.WorldMap.from_rows([
    "##########",
    "#S.......#",
    "#........#",
    "#....#...#",
    "##########",
])


# -- camera -----------------------------------------------------------------------
def test_camera_centres_on_the_target_inside_the_map():
    cam = Camera(200, 100, 1000, 1000)
    cam.centre_on(500, 500)
    assert cam.offset() == (400, 450)
    assert cam.to_screen(500, 500) == (100, 50)
    assert cam.to_world(100, 50) == (500, 500)


def test_camera_stops_at_the_map_edges():
    cam = Camera(200, 100, 1000, 1000)
    cam.centre_on(10, 10)
    assert cam.offset() == (0, 0)
    cam.centre_on(990, 995)
    assert cam.offset() == (800, 900)


def test_camera_centres_a_map_smaller_than_the_view():
    cam = Camera(800, 600, 400, 300)
    cam.centre_on(0, 0)
    assert cam.offset() == (-200, -150)


def test_camera_follow_converges_without_overshoot():
    cam = Camera(200, 100, 10_000, 10_000)
    cam.centre_on(500, 500)
    xs = []
    for _ in range(120):
        cam.follow(900, 500, 1 / 60)
        xs.append(cam.x)
    assert xs == sorted(xs)  # moves one way only
    assert cam.offset() == (800, 450)


def test_camera_visibility_test_uses_margin():
    cam = Camera(200, 100, 1000, 1000)
    cam.centre_on(500, 500)
    assert cam.sees(500, 500)
    assert not cam.sees(390, 500)
    assert cam.sees(390, 500, margin=20)


# -- interpolation ----------------------------------------------------------------
def test_buffer_interpolates_between_the_two_samples_around_a_time():
    buf = SnapshotBuffer(tick_period=0.05)
    buf.add(1.00, 0.0, 0.0)
    buf.add(1.05, 10.0, 20.0)
    pose = buf.sample(1.025)
    assert (pose.x, pose.y) == pytest.approx((5.0, 10.0))
    assert (pose.vx, pose.vy) == pytest.approx((200.0, 400.0))
    assert pose.moving


def test_buffer_holds_at_the_ends_and_never_extrapolates():
    buf = SnapshotBuffer()
    buf.add(1.0, 0.0, 0.0)
    buf.add(1.05, 10.0, 0.0)
    assert (buf.sample(0.5).x, buf.sample(5.0).x) == (0.0, 10.0)
    assert not buf.sample(5.0).moving


def test_buffer_ignores_late_packets():
    buf = SnapshotBuffer()
    buf.add(1.0, 0.0, 0.0)
    buf.add(1.1, 10.0, 0.0)
    buf.add(1.05, 99.0, 0.0)
    assert buf.sample(1.05).x == pytest.approx(5.0)


def test_buffer_after_a_pause_starts_walking_from_where_the_player_stood():
    buf = SnapshotBuffer(tick_period=0.05)
    buf.add(1.0, 0.0, 0.0)
    buf.add(5.0, 8.0, 0.0)  # four seconds later they walked one tick's worth
    assert buf.sample(4.0).x == 0.0
    assert buf.sample(4.975).x == pytest.approx(4.0)


def test_buffer_prune_keeps_the_sample_needed_for_the_draw_time():
    buf = SnapshotBuffer()
    for i in range(10):
        buf.add(i * 0.05, float(i), 0.0)
    buf.prune(0.21)
    assert buf.times[0] == pytest.approx(0.2)
    assert buf.sample(0.225).x == pytest.approx(4.5)


def test_interpolator_draws_remote_players_100_ms_in_the_past():
    interp = Interpolator(delay=0.1, tick_period=0.05)
    # Host clock is 1000 s ahead of ours; snapshots arrive 20 ms after sending.
    for i in range(10):
        host_t = 1000.0 + i * 0.05
        interp.add_snapshot(host_t - 1000.0 + 0.02, host_t * 1000.0, [(7, i * 8.0, 0.0), (1, 5.0, 5.0)], skip=1)
    assert set(interp.buffers) == {7}
    local_now = 9 * 0.05 + 0.02
    pose = interp.poses(local_now)[7]
    # Drawn 100 ms (two ticks at 8 px each) behind the newest sample.
    assert pose.x == pytest.approx(9 * 8.0 - 16.0)


def test_interpolator_clock_offset_ignores_jitter():
    interp = Interpolator()
    interp.sync(10.0, 0.0)
    interp.sync(10.2, 100.0)  # this one came late
    assert interp.offset == pytest.approx(10.0, abs=0.005)  # creeps up only a little
    interp.sync(10.09, 100.0)  # a faster one lowers the estimate at once
    assert interp.offset == pytest.approx(9.99)


def test_interpolator_place_and_remove():
    interp = Interpolator()
    interp.sync(0.0, 0.0)
    interp.place(0.0, 3, 40.0, 50.0)
    pose = interp.poses(0.0)[3]
    assert (pose.x, pose.y) == (40.0, 50.0)
    interp.remove(3)
    assert interp.poses(0.0) == {}


# -- prediction -------------------------------------------------------------------
def test_prediction_walks_at_the_walking_speed():
    p = Predictor(ROOM, 64.0, 48.0)
    for _ in range(30):
        p.update((1.0, 0.0), 1 / 60)
    assert p.x == pytest.approx(64.0 + rules.WALK_SPEED * 0.5)
    assert p.facing == RIGHT and p.moving


def test_prediction_diagonal_is_not_faster():
    p = Predictor(ROOM, 100.0, 60.0)
    p.update(rules.input_direction(False, True, False, True), 0.1)
    assert math.hypot(p.x - 100.0, p.y - 60.0) == pytest.approx(rules.WALK_SPEED * 0.1)


def test_prediction_walls_block():
    p = Predictor(ROOM, 64.0, 48.0)
    for _ in range(60):
        p.update((-1.0, 0.0), 1 / 60)
    assert p.x == pytest.approx(32 + rules.BOX_HALF_W, abs=0.5)
    assert ROOM.box_free(p.x, p.y)


def test_prediction_drawn_position_interpolates_between_steps():
    p = Predictor(ROOM, 64.0, 48.0)
    p.update((1.0, 0.0), 0.1)
    assert p.drawn(0.5) == pytest.approx((72.0, 48.0))


def test_correction_eases_back_instead_of_jumping():
    p = Predictor(ROOM, 64.0, 48.0)
    p.place(100.0, 48.0)
    assert p.correct(seq=5, x=60.0, y=48.0, newest_seq=7)
    assert (p.x, p.y) == (60.0, 48.0)
    assert p.drawn() == pytest.approx((100.0, 48.0))  # still drawn where it was
    xs = []
    for _ in range(30):
        p.update((0.0, 0.0), 1 / 60)
        xs.append(p.drawn()[0])
    assert xs == sorted(xs, reverse=True)
    assert xs[0] < 100.0 and xs[-1] == pytest.approx(60.0, abs=0.5)


def test_corrections_for_moves_sent_before_the_last_correction_are_ignored():
    p = Predictor(ROOM, 64.0, 48.0)
    assert p.correct(seq=5, x=60.0, y=48.0, newest_seq=7)
    assert not p.correct(seq=6, x=61.0, y=48.0, newest_seq=8)
    assert not p.correct(seq=7, x=61.0, y=48.0, newest_seq=8)
    assert p.x == 60.0
    assert p.correct(seq=9, x=62.0, y=48.0, newest_seq=9)
    assert p.correct(seq=None, x=63.0, y=48.0, newest_seq=9)


def test_far_corrections_snap():
    p = Predictor(ROOM, 64.0, 48.0)
    p.place(1000.0, 48.0)
    p.correct(seq=1, x=64.0, y=48.0, newest_seq=1)
    assert p.drawn() == (64.0, 48.0)


def test_facing():
    assert facing_for(1, 0) == RIGHT and facing_for(-1, 0.5) == LEFT
    assert facing_for(0, 1) == DOWN and facing_for(0.2, -1) == UP
    assert facing_for(0, 0, LEFT) == LEFT


def test_move_sender_at_most_20_a_second_and_only_on_change():
    sender = MoveSender(rate=20)
    sent = []
    x = 0.0
    for frame in range(60):  # one second of walking at 60 Hz
        now = frame / 60
        x += 2.0
        if sender.due(now, x, 0.0):
            sender.sent(now, x, 0.0)
            sent.append(now)
    assert 19 <= len(sent) <= 20
    assert all(b - a >= 0.05 - 1e-9 for a, b in zip(sent, sent[1:]))
    # Standing still: one final position, then silence.
    finals = 0
    for frame in range(60, 120):
        now = frame / 60
        if sender.due(now, x, 0.0):
            sender.sent(now, x, 0.0)
            finals += 1
    assert finals == 1


def test_move_sender_reset_means_nothing_to_send():
    sender = MoveSender()
    sender.reset(5.0, 5.0)
    assert not sender.due(10.0, 5.0, 5.0)
    assert sender.due(10.0, 6.0, 5.0)
