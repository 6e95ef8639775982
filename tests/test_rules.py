"""The pure world rules: bounds, collision, sliding, speed limits, move checks."""
from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.core import rules
from game.core.rules import (BLOCKED, BOX_HALF_H, BOX_HALF_W, MOVE_BUDGET_MAX_S, OUT_OF_BOUNDS,
                        SPEED_SLACK, THROUGH_WALL, TOO_FAST, WALK_SPEED, MapError, MoveBudget,
                        WorldMap, check_move, input_direction, step)

from .conftest import (BEYOND_WALL, IN_WALL, SPAWN, TEST_MAP_ROWS, TILE, WALL_LEFT_PX,
                       WALL_RIGHT_PX, write_tmx)

FLUSH_WEST_OF_WALL = WALL_LEFT_PX - BOX_HALF_W  # the box touches the wall, no overlap
CAPACITY = WALK_SPEED * MOVE_BUDGET_MAX_S


@pytest.fixture(scope="module")
def world() -> WorldMap:
    return WorldMap.from_rows(TEST_MAP_ROWS)


# -- building a map ----------------------------------------------------------------
def test_spawn_comes_from_the_s_tile(world):
    assert world.spawn == SPAWN
    assert (world.width_px, world.height_px) == (640, 384)


def test_a_map_without_spawn_or_with_ragged_rows_is_refused():
    with pytest.raises(MapError):
        WorldMap.from_rows(["....", "...."])
    with pytest.raises(MapError):
        WorldMap.from_rows(["S...", "..."])
    with pytest.raises(MapError):
        WorldMap.from_rows([])


def test_a_spawn_inside_a_wall_is_refused():
    with pytest.raises(MapError, match="not walkable"):
        WorldMap.from_rows(["....", ".#..", "...."], spawn=(48.0, 48.0))


def test_tiled_file_loads_to_the_same_world(tmp_path, world):
    loaded = WorldMap.load_tmx(write_tmx(tmp_path / "t.tmx", TEST_MAP_ROWS))
    assert loaded.name == "t"
    assert loaded.entries["spawn"] == SPAWN
    assert dataclasses.replace(loaded, entries={}, name=world.name) == world


def test_tiled_file_without_spawn_object_starts_players_near_the_centre(tmp_path):
    from game.core import tiled

    path = write_tmx(tmp_path / "t.tmx", TEST_MAP_ROWS)
    path.write_text(path.read_text().replace('name="spawn"', 'name="chest"'))
    loaded = tiled.load_map(path)
    assert any("no spawn marked" in w for w in loaded.warnings)
    x, y = loaded.world.spawn
    assert loaded.world.box_free(x, y)
    centre_tile = (len(TEST_MAP_ROWS[0]) // 2, len(TEST_MAP_ROWS) // 2)
    assert abs(x // TILE - centre_tile[0]) <= 1 and abs(y // TILE - centre_tile[1]) <= 1


def test_the_shipped_world_map_has_a_walkable_spawn():
    if not rules.DEFAULT_MAP_PATH.exists():
        pytest.skip("assets/world.tmx is not there")
    world = WorldMap.load_tmx()
    assert world.box_free(*world.spawn)
    assert any(True for _ in world.walkable_tiles())


# -- bounds and collision -----------------------------------------------------------
@pytest.mark.parametrize("xy, inside", [
    ((BOX_HALF_W, BOX_HALF_H), True),
    ((640 - BOX_HALF_W, 384 - BOX_HALF_H), True),
    ((BOX_HALF_W - 0.01, 100.0), False),
    ((100.0, BOX_HALF_H - 0.01), False),
    ((640 - BOX_HALF_W + 0.01, 300.0), False),
    ((300.0, 384 - BOX_HALF_H + 0.01), False),
    ((-50.0, 100.0), False),
    ((math.nan, 100.0), False),
    ((100.0, math.inf), False),
    ((-math.inf, 100.0), False),
])
def test_in_bounds_keeps_the_whole_box_on_the_map(world, xy, inside):
    assert world.in_bounds(*xy) is inside


def test_outside_the_map_counts_as_blocked(world):
    assert world.tile_blocked(-1, 0) and world.tile_blocked(0, -1)
    assert world.tile_blocked(20, 0) and world.tile_blocked(0, 12)
    assert not world.tile_blocked(0, 0)
    assert world.tile_blocked(6, 0) and world.tile_blocked(6, 6) and not world.tile_blocked(6, 7)


def test_box_may_touch_a_wall_but_not_overlap_it(world):
    assert world.box_free(FLUSH_WEST_OF_WALL, 80.0)
    assert not world.box_free(FLUSH_WEST_OF_WALL + 0.01, 80.0)
    assert world.box_free(WALL_RIGHT_PX + BOX_HALF_W, 80.0)
    assert not world.box_free(WALL_RIGHT_PX + BOX_HALF_W - 0.01, 80.0)
    assert not world.box_free(*IN_WALL)
    # Just below the wall's last tile (row 6 ends at y = 224).
    assert world.box_free(208.0, 224.0 + BOX_HALF_H)
    assert not world.box_free(208.0, 224.0 + BOX_HALF_H - 0.01)


def test_a_one_tile_gap_between_walls_is_passable():
    world = WorldMap.from_rows(["#.#", "#S#", "#.#"])
    assert world.segment_free(48.0, 16.0 + BOX_HALF_H, 48.0, 96.0 - BOX_HALF_H)


def test_segment_through_a_wall_is_not_free(world):
    assert not world.segment_free(*SPAWN, *BEYOND_WALL)
    # Both ends are walkable: only the path between them is blocked.
    assert world.box_free(*SPAWN) and world.box_free(*BEYOND_WALL)
    # Around the bottom end of the wall is fine.
    assert world.segment_free(176.0, 250.0, 240.0, 250.0)
    assert world.segment_free(*SPAWN, 176.0, 300.0)


def test_segment_catches_a_wall_thinner_than_the_distance_moved():
    world = WorldMap.from_rows(["S.#.........."])
    # One 32 px wall tile between two points 200 px apart.
    assert not world.segment_free(16.0, 16.0, 216.0, 16.0)


def test_walkable_tiles_skip_walls(world):
    tiles = set(world.walkable_tiles())
    assert (5, 2) in tiles and (7, 2) in tiles
    assert (6, 2) not in tiles
    assert len(tiles) == 20 * 12 - 7


# -- movement ---------------------------------------------------------------------------
def test_diagonal_input_is_not_faster():
    dx, dy = input_direction(left=False, right=True, up=True, down=False)
    assert math.hypot(dx, dy) == pytest.approx(1.0)
    assert dx > 0 and dy < 0
    assert input_direction(True, True, False, False) == (0.0, 0.0)
    assert input_direction(False, False, False, True) == (0.0, 1.0)


def test_step_moves_at_walking_speed_in_the_open(world):
    x, y = step(world, 300.0, 300.0, 1.0, 0.0, 0.1)
    assert (x, y) == pytest.approx((300.0 + WALK_SPEED * 0.1, 300.0))


def test_step_into_a_wall_stops_flush_against_it(world):
    x, y = step(world, *SPAWN, 1.0, 0.0, 0.025)
    assert (x, y) == (SPAWN[0] + 4.0, SPAWN[1])
    x, y = step(world, x, y, 1.0, 0.0, 0.05)
    assert y == SPAWN[1]
    assert FLUSH_WEST_OF_WALL - 0.1 < x <= FLUSH_WEST_OF_WALL
    assert world.box_free(x, y)


def test_a_long_step_cannot_jump_over_a_wall(world):
    # Half a second of walking would carry the box clean past the 32 px wall.
    x, y = step(world, *SPAWN, 1.0, 0.0, 0.5)
    assert FLUSH_WEST_OF_WALL - 0.1 < x <= FLUSH_WEST_OF_WALL
    assert y == SPAWN[1]


def test_walking_diagonally_into_a_wall_slides_along_it(world):
    dx, dy = input_direction(left=False, right=True, up=False, down=True)
    x, y = step(world, FLUSH_WEST_OF_WALL, 80.0, dx, dy, 0.1)
    assert x == pytest.approx(FLUSH_WEST_OF_WALL, abs=0.5)
    assert y == pytest.approx(80.0 + dy * WALK_SPEED * 0.1)


def test_step_stops_at_the_map_edge(world):
    x, y = step(world, 20.0, 20.0, -1.0, -1.0, 1.0)
    assert world.in_bounds(x, y)
    assert x == pytest.approx(BOX_HALF_W, abs=1.0) and y == pytest.approx(BOX_HALF_H, abs=1.0)


@settings(max_examples=150, deadline=None)
@given(tx=st.integers(0, 19), ty=st.integers(0, 11),
       angle=st.floats(0, 2 * math.pi), dt=st.floats(0.001, 1.0))
def test_step_never_ends_inside_a_wall(tx, ty, angle, dt):
    world = WorldMap.from_rows(TEST_MAP_ROWS)
    x, y = (tx + 0.5) * TILE, (ty + 0.5) * TILE
    if not world.box_free(x, y):
        return
    nx, ny = step(world, x, y, math.cos(angle), math.sin(angle), dt)
    assert world.box_free(nx, ny)
    assert math.hypot(nx - x, ny - y) <= WALK_SPEED * dt * math.sqrt(2) + 1e-6



# -- speed budget -----------------------------------------------------------------------
def test_budget_starts_full_and_refuses_more_than_it_holds():
    budget = MoveBudget.full(now=10.0)
    assert budget.available == pytest.approx(CAPACITY)
    assert not budget.try_spend(CAPACITY + 1.0, now=10.0)
    assert budget.available == pytest.approx(CAPACITY)  # a refusal costs nothing
    assert budget.try_spend(CAPACITY, now=10.0)
    assert not budget.try_spend(1.0, now=10.0)


def test_budget_refills_with_slack_and_is_capped():
    budget = MoveBudget.full(now=0.0)
    assert budget.try_spend(CAPACITY, now=0.0)
    budget.refill(0.1)
    assert budget.available == pytest.approx(0.1 * WALK_SPEED * SPEED_SLACK)
    budget.refill(100.0)
    assert budget.available == pytest.approx(CAPACITY)


def test_budget_ignores_a_clock_going_backwards():
    budget = MoveBudget.full(now=5.0)
    budget.try_spend(50.0, now=5.0)
    budget.refill(1.0)
    assert budget.available == pytest.approx(CAPACITY - 50.0)


def test_sustained_walking_speed_is_accepted_but_a_speed_hack_is_not():
    walker, cheater = MoveBudget.full(0.0), MoveBudget.full(0.0)
    dt = 0.05
    walked = [walker.try_spend(WALK_SPEED * dt, now=i * dt) for i in range(1, 200)]
    cheated = [cheater.try_spend(2 * WALK_SPEED * dt, now=i * dt) for i in range(1, 200)]
    assert all(walked)
    assert not all(cheated)


# -- check_move ------------------------------------------------------------------------
@pytest.mark.parametrize("target, reason", [
    ((176.0, 120.0), None),
    ((-20.0, 80.0), OUT_OF_BOUNDS),
    ((176.0, 5000.0), OUT_OF_BOUNDS),
    ((math.nan, 80.0), OUT_OF_BOUNDS),
    (IN_WALL, BLOCKED),
    (BEYOND_WALL, THROUGH_WALL),
    ((176.0, 300.0), TOO_FAST),
])
def test_check_move_reasons(world, target, reason):
    budget = MoveBudget.full(now=1.0)
    before = budget.available
    assert check_move(world, budget, SPAWN, target, now=1.0) == reason
    if reason is None:
        assert budget.available == pytest.approx(before - 40.0)
    else:
        assert budget.available == pytest.approx(before)


def test_check_move_charges_the_budget_so_bursts_run_out(world):
    budget = MoveBudget.full(now=0.0)
    pos, results = (176.0, 250.0), []
    for i in range(1, 8):
        target = (176.0 + 20.0 * i, 250.0)
        results.append(check_move(world, budget, pos, target, now=0.0))
        if results[-1] is None:
            pos = target
    # 96 px of budget covers four 20 px steps, not a fifth.
    assert results[:4] == [None] * 4
    assert results[4:] == [TOO_FAST] * 3
    # After a pause the walk continues.
    assert check_move(world, budget, pos, (pos[0] + 20.0, 250.0), now=0.2) is None


def test_a_player_starts_where_they_were_saved_unless_nobody_can_stand_there(world):
    open_spot = (world.spawn[0], world.spawn[1] + 20.0)
    assert world.box_free(*open_spot)
    assert world.start_position(open_spot) == open_spot
    assert world.start_position(None) == world.spawn
    assert world.start_position(IN_WALL) == world.spawn
    assert world.start_position((-50.0, 10.0)) == world.spawn  # off the map
