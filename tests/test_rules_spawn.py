"""Where a joining player appears: never on top of someone already there."""
from __future__ import annotations

import math
import random

import pytest

from game.core import rules
from game.core.rules import PERSONAL_SPACE_PX, WorldMap

ROWS = (
    "........",
    "..#.....",
    "..#S....",
    "..#.....",
    "........",
)
SPAWN = (112.0, 80.0)  # centre of tile (3, 2)


@pytest.fixture
def world() -> WorldMap:
    return WorldMap.from_rows(ROWS)


def room(spot, occupied) -> float:
    return min((math.hypot(spot[0] - x, spot[1] - y) for x, y in occupied), default=math.inf)


def test_an_empty_spawn_is_used_as_it_is(world):
    assert world.start_position(None) == SPAWN
    assert world.start_position(None, [(400.0, 400.0)]) == SPAWN


def test_a_newcomer_steps_beside_whoever_stands_at_the_spawn(world):
    spot = world.start_position(None, [SPAWN])
    assert spot != SPAWN
    assert world.box_free(*spot)
    assert room(spot, [SPAWN]) >= PERSONAL_SPACE_PX
    # The nearest free tile beside it (a name tag would cover someone just
    # north), and not through the wall on the left.
    assert spot == (SPAWN[0] + 32.0, SPAWN[1])


def test_someone_a_little_off_the_spawn_still_counts(world):
    near = (SPAWN[0] + 10.0, SPAWN[1] - 5.0)
    spot = world.start_position(None, [near])
    assert room(spot, [near]) >= PERSONAL_SPACE_PX


def test_a_crowd_fills_a_row_before_the_rows_above_and_below():
    world = WorldMap.from_rows(("...........",) * 5, spawn=(176.0, 80.0))
    occupied = [world.spawn]
    for _ in range(4):
        occupied.append(world.start_position(None, occupied))
    assert {y for _, y in occupied} == {80.0}
    assert sorted(x for x, _ in occupied) == [112.0, 144.0, 176.0, 208.0, 240.0]


def test_nobody_is_placed_just_north_of_someone_where_their_tag_would_cover_them():
    world = WorldMap.from_rows((".", ".", "S", ".", "."))  # one tile wide
    spot = world.start_position(None, [(16.0, 80.0)])
    assert spot in ((16.0, 16.0), (16.0, 144.0))  # two tiles away, not one


def test_a_crowd_arriving_one_by_one_never_overlaps(world):
    occupied: list[tuple[float, float]] = []
    for _ in range(20):
        spot = world.start_position(None, occupied)
        assert world.box_free(*spot)
        assert room(spot, occupied) >= PERSONAL_SPACE_PX
        occupied.append(spot)
    assert len(set(occupied)) == 20


def test_the_stored_spot_is_kept_when_free_and_moved_aside_when_taken(world):
    stored = (200.0, 120.0)
    assert world.start_position(stored, [SPAWN]) == stored
    spot = world.start_position(stored, [stored])
    assert room(spot, [stored]) >= PERSONAL_SPACE_PX
    assert math.hypot(spot[0] - stored[0], spot[1] - stored[1]) < 48  # beside it, not the spawn


def test_an_unusable_stored_spot_sends_the_player_to_a_free_spot_near_the_spawn(world):
    in_wall = (80.0, 80.0)
    assert world.start_position(in_wall) == SPAWN
    spot = world.start_position(in_wall, [SPAWN])
    assert room(spot, [SPAWN]) >= PERSONAL_SPACE_PX
    assert math.hypot(spot[0] - SPAWN[0], spot[1] - SPAWN[1]) <= 48


def test_a_full_map_gives_the_spot_with_the_most_room():
    world = WorldMap.from_rows(("S....",))
    everyone = [(16.0, 16.0), (48.0, 16.0), (90.0, 16.0), (112.0, 16.0), (144.0, 16.0)]
    spot = world.start_position(None, everyone)
    assert spot == (80.0, 16.0)  # 10 px from the nearest: more than any other spot


def test_placement_is_fast_with_many_players_on_the_real_map():
    world = rules.load_world()
    rng = random.Random(1)
    sx, sy = world.spawn
    occupied = [(sx + rng.uniform(-600, 600), sy + rng.uniform(-400, 400)) for _ in range(500)]
    occupied += [world.spawn]
    spot = world.start_position(None, occupied)
    assert world.box_free(*spot) and room(spot, occupied) >= PERSONAL_SPACE_PX
