"""A real host serving a map someone else made (the WorkAdventure starter
kit's office, a JSON map) and a real client walking into one of its walls:
the host takes the walk up to the wall, as the client predicts it, and
corrects the step into the wall."""
from __future__ import annotations

import math
import time

import pytest

from game.core import protocol as P
from game.core import rules, tiled

from .conftest import ASYNC_MODES, PlayerFactory, snapshot_positions, start_world_host
from .test_map_thirdparty_walk import THIRDPARTY, route_to_wall, walk_until_stopped

OFFICE = THIRDPARTY / "workadventure" / "office.tmj"


@pytest.fixture(params=ASYNC_MODES)
def office_host(request, tmp_path):
    world = start_world_host(tmp_path / "world.db", OFFICE, request.param)
    try:
        yield world
    finally:
        world.stop()


def sendable(world: rules.WorldMap, xy, direction) -> tuple[float, float]:
    """``xy`` as the client sends it (two decimals), backed off from the wall
    when rounding would touch it."""
    x, y = round(xy[0], 2), round(xy[1], 2)
    while not world.box_free(x, y):
        x, y = round(x - direction[0] * 0.01, 2), round(y - direction[1] * 0.01, 2)
    return x, y


class Walker:
    """Sends moves at walking speed and waits until the host shows each one."""

    def __init__(self, client, xy):
        self.client, self.at, self.sent_at = client, xy, time.monotonic()

    def to(self, xy) -> None:
        # A player covers a distance in distance / speed: keep to that pace.
        due = self.sent_at + math.dist(self.at, xy) / rules.WALK_SPEED
        time.sleep(max(0.0, due - time.monotonic()))
        self.client.send_move(*xy)
        self.sent_at = time.monotonic()
        me = self.client.session.user_id
        self.client.wait_for(P.SNAPSHOT, match=lambda d: _near(snapshot_positions(d).get(me), xy))
        self.at = xy


def _near(seen, xy) -> bool:
    return seen is not None and math.dist(seen, xy) < 0.06


def test_a_player_walks_into_a_wall_of_a_workadventure_map_and_is_stopped(office_host):
    world = tiled.load_map(OFFICE).world
    players = PlayerFactory(office_host)
    try:
        alice = players()
        you = alice.welcome["you"]
        start = (you["x"], you["y"])
        assert world.box_free(*start)
        points, direction = route_to_wall(world, start)
        walker = Walker(alice, start)
        for point in points[1:]:
            walker.to(point)
        # Hold the key towards the wall as the game predicts it: every step is taken ...
        predicted = walk_until_stopped(world, walker.at, direction)
        for point in predicted[::6][1:] + [predicted[-1]]:
            walker.to(sendable(world, point, direction))
        stop = walker.at
        assert not world.box_free(stop[0] + direction[0], stop[1] + direction[1])
        # ... and the step into the wall is corrected back to where the player stopped.
        wall = (stop[0] + direction[0] * world.tile_size / 2,
                stop[1] + direction[1] * world.tile_size / 2)
        seq = alice.send_move(*wall)
        correction = alice.wait_for(P.CORRECTION).data
        assert correction["seq"] == seq and correction["reason"] in ("blocked", "through_wall")
        assert (correction["x"], correction["y"]) == pytest.approx(stop, abs=0.01)
    finally:
        players.close_all()
