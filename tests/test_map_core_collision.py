"""Collision from Tiled maps: tile properties, tile collision shapes (flips
applied), collision object layers, and how the pure rules walk with shapes."""
from __future__ import annotations

import pytest

from game.core import rules
from game.core.rules import (BLOCKED, BOX_HALF_H, BOX_HALF_W, THROUGH_WALL, MoveBudget, WorldMap,
                             check_move, step)
from game.core import tiled
from game.core.tiled import FLIP_D, FLIP_H, FLIP_V, load_map

from .test_map_core import grid, simple
from .test_map_core_writer import FORMATS, obj, object_layer, tile_layer, tileset, write_map

OPEN = ("." * 10,) * 10


def shaped(*shapes):
    base = WorldMap.from_rows(OPEN, spawn=(16.0, 16.0))
    return WorldMap(base.width_tiles, base.height_tiles, base.tile_size, base.blocked, base.spawn,
                    shapes=shapes)


# -- the rules with shapes ----------------------------------------------------------
TRIANGLE = ((100.0, 100.0), (200.0, 100.0), (150.0, 150.0))
# A "U": concave, open at the top between x=120 and x=180 down to y=170.
U_SHAPE = ((100.0, 100.0), (120.0, 100.0), (120.0, 170.0), (180.0, 170.0), (180.0, 100.0),
           (200.0, 100.0), (200.0, 200.0), (100.0, 200.0))


def test_a_box_beside_a_polygon_is_free_and_overlapping_it_is_blocked():
    world = shaped(TRIANGLE)
    assert world.box_free(150.0, 100.0 - BOX_HALF_H - 0.5)  # just above its top edge
    assert world.box_free(150.0, 100.0 - BOX_HALF_H)  # flush against it
    assert not world.box_free(150.0, 100.0 - BOX_HALF_H + 1.0)
    assert not world.box_free(150.0, 120.0)  # inside it
    # Beside the sloping edge: the edge x = 100 + (y - 100) ... at y=140 spans 140..160.
    assert world.box_free(140.0 - BOX_HALF_W - 8.0, 140.0)
    assert not world.box_free(140.0 - BOX_HALF_W + 6.0, 140.0)


def test_a_concave_polygon_leaves_its_notch_walkable():
    world = shaped(U_SHAPE)
    assert world.box_free(150.0, 130.0)  # inside the bounding box, in the notch
    assert world.box_free(150.0, 170.0 - BOX_HALF_H)  # standing on the notch's floor
    assert not world.box_free(150.0, 168.0)
    assert not world.box_free(110.0, 130.0)  # in the left arm
    assert not world.box_free(150.0, 190.0)  # in the base
    assert not world.box_free(120.0 + BOX_HALF_W - 1.0, 130.0)  # rubbing the arm
    assert world.box_free(120.0 + BOX_HALF_W, 130.0)


def test_a_polygon_entirely_inside_the_box_blocks_it():
    world = shaped(((150.0, 150.0), (152.0, 150.0), (151.0, 152.0)))
    assert not world.box_free(151.0, 151.0)
    assert world.box_free(151.0 + BOX_HALF_W + 2, 151.0)


def test_walking_into_a_polygon_stops_at_it_and_check_move_refuses_going_through():
    world = shaped(((140.0, 0.0), (144.0, 0.0), (144.0, 320.0), (140.0, 320.0)))  # a thin wall
    x, y = step(world, 100.0, 150.0, 1.0, 0.0, 1.0)
    assert x == pytest.approx(140.0 - BOX_HALF_W, abs=0.05)
    assert world.segment_free(100.0, 150.0, 130.0, 150.0)
    assert not world.segment_free(100.0, 150.0, 170.0, 150.0)
    budget = MoveBudget.full(0.0)
    assert check_move(world, budget, (125.0, 150.0), (160.0, 150.0), 0.0) == THROUGH_WALL
    assert check_move(world, budget, (125.0, 150.0), (142.0, 150.0), 0.0) == BLOCKED
    assert check_move(world, budget, (100.0, 150.0), (125.0, 150.0), 0.0) is None


def test_a_box_slides_along_a_sloping_polygon():
    world = shaped(((0.0, 200.0), (320.0, 100.0), (320.0, 320.0), (0.0, 320.0)))  # a ramp
    x, y = 100.0, 100.0
    for _ in range(60):
        x, y = step(world, x, y, 0.0, 1.0, 1 / 60)
    assert world.box_free(x, y)
    assert y < 200.0 - 100.0 * 100.0 / 320.0  # stopped on the slope


def test_maps_with_shapes_stay_hashable_and_from_rows_is_unchanged():
    world = shaped(TRIANGLE)
    assert hash(world) == hash(shaped(TRIANGLE))
    assert world == shaped(TRIANGLE)
    assert world != shaped(U_SHAPE)
    plain = WorldMap.from_rows(OPEN, spawn=(16.0, 16.0))
    assert plain.shapes == () and plain.exits == () and dict(plain.entries) == {}
    assert plain.name == "world"
    assert world.start_position(None) == (16.0, 16.0)


# -- collision from maps --------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_blocked_and_collides_tile_properties_block_their_cells(tmp_path, fmt):
    ts = tileset(tiles={1: {"props": {"blocked": True}}, 2: {"props": {"collides": True}},
                        3: {"props": {"blocked": False}}})
    data = grid(6, 5, 1, t0_0=2, t1_0=3, t2_0=4)
    hidden = grid(6, 5, 0, t5_4=2)
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ts], layers=[
        tile_layer("g", data), tile_layer("hidden walls", hidden, visible=False),
        object_layer("o", [obj("point", 80, 80, name="spawn")])]), fmt))
    world = tm.world
    assert world.tile_blocked(0, 0) and world.tile_blocked(1, 0)
    assert not world.tile_blocked(2, 0)
    assert world.tile_blocked(5, 4)  # a hidden layer still blocks
    assert sum(world.blocked) == 3


def _tile_with_shape(shape_obj, **extra):
    return tileset(tiles={1: {"objects": [shape_obj]}, **extra})


@pytest.mark.parametrize("fmt", FORMATS)
def test_tile_collision_shapes_block_where_they_are_drawn(tmp_path, fmt):
    # Tile 2 has a rectangle over its left half; it sits at cell (3, 1).
    ts = _tile_with_shape(obj("rect", 0, 0, 16, 32))
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ts], layers=[
        tile_layer("g", grid(6, 5, 1, t3_1=2)),
        object_layer("o", [obj("point", 48, 48, name="spawn")])]), fmt))
    world = tm.world
    assert not world.tile_blocked(3, 1)
    assert not world.box_free(96 + 8, 48)
    assert world.box_free(96 + 16 + BOX_HALF_W, 48)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("flags, blocked_side", [
    (0, "left"), (FLIP_H, "right"), (FLIP_V, "left"), (FLIP_D, "top"),
    (FLIP_D | FLIP_H, "top"), (FLIP_D | FLIP_V, "bottom"), (FLIP_H | FLIP_V, "right")])
def test_tile_collision_shapes_follow_the_tile_flips(tmp_path, fmt, flags, blocked_side):
    # A 32 px tile blocked on its left 8 px, at cell (2, 2) of a 48 px... no: 32 px grid.
    ts = _tile_with_shape(obj("rect", 0, 0, 8, 32))
    tm = load_map(write_map(tmp_path, "m", simple(width=5, height=5, tilesets=[ts], layers=[
        tile_layer("g", grid(5, 5, 1, t2_2=2 | flags)),
        object_layer("o", [obj("point", 16, 16, name="spawn")])]), fmt))
    world = tm.world
    cx, cy = 80.0, 80.0  # the cell's centre
    probes = {"left": (64 + 2, cy), "right": (96 - 2, cy), "top": (cx, 64 + 2), "bottom": (cx, 96 - 2)}
    for side, (px, py) in probes.items():
        hit = any(rules.point_in_polygon(px, py, s) for s in world.shapes)
        assert hit == (side == blocked_side), (side, world.shapes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tile_shapes_polygons_and_ellipses_and_whole_tile_shapes(tmp_path, fmt):
    ts = tileset(tiles={
        1: {"objects": [obj("polygon", 0, 0, points=[(0, 32), (32, 32), (32, 0)])]},  # a slope
        2: {"objects": [obj("ellipse", 8, 8, 16, 16)]},
        3: {"objects": [obj("rect", 0, 0, 32, 32)]},  # the whole tile: a blocked cell
    })
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ts], layers=[
        tile_layer("g", grid(6, 5, 1, t1_1=2, t3_1=3, t4_3=4)),
        object_layer("o", [obj("point", 16, 112, name="spawn")])]), fmt))
    world = tm.world
    assert world.tile_blocked(4, 3) and len(world.shapes) == 2
    ellipse = next(s for s in world.shapes if len(s) == 12)
    assert rules.point_in_polygon(112, 48, ellipse) and not rules.point_in_polygon(97, 33, ellipse)
    slope = next(s for s in world.shapes if len(s) == 3)
    assert rules.point_in_polygon(32 + 30, 32 + 30, slope)
    assert not rules.point_in_polygon(32 + 2, 32 + 2, slope)


@pytest.mark.parametrize("fmt", FORMATS)
def test_collision_object_layers_and_collision_objects_block(tmp_path, fmt):
    layers = [
        tile_layer("g", grid(8, 6)),
        object_layer("Collisions", [obj("rect", 0, 0, 64, 64),  # two whole cells wide
                                    obj("polygon", 160, 96, points=[(0, 0), (40, 0), (20, 30)])]),
        object_layer("stuff", [obj("ellipse", 192, 0, 40, 30, cls="collision"),
                               obj("rect", 96, 160, 32, 32, name="not a wall")]),
        object_layer("blocking", [obj("rect", 0, 160, 20, 20)], cls="walls"),
        object_layer("o", [obj("point", 112, 112, name="spawn")]),
    ]
    tm = load_map(write_map(tmp_path, "m", simple(width=8, height=6, layers=layers), fmt))
    world = tm.world
    assert all(world.tile_blocked(x, y) for x in (0, 1) for y in (0, 1))
    assert len(world.shapes) == 3  # the whole-cell rectangle became blocked cells
    assert not world.box_free(180, 100)
    assert not world.box_free(212, 15)
    assert not world.box_free(10, 170)
    assert world.box_free(112, 176)


@pytest.mark.parametrize("fmt", FORMATS)
def test_rotated_collision_rectangles_are_rotated(tmp_path, fmt):
    layers = [tile_layer("g", grid(8, 6)),
              object_layer("walls", [obj("rect", 128, 64, 64, 8, rotation=90)]),
              object_layer("o", [obj("point", 32, 32, name="spawn")])]
    world = load_map(write_map(tmp_path, "m", simple(width=8, height=6, layers=layers), fmt)).world
    # Rotated 90 degrees clockwise about (128, 64): it now runs down from there, 8 px wide, to the left.
    assert not world.box_free(124, 100)
    assert world.box_free(160, 68 + BOX_HALF_H + 1)


@pytest.mark.parametrize("fmt", FORMATS)
def test_shapes_of_tiles_taller_than_the_grid_hang_from_the_cell_bottom(tmp_path, fmt):
    # A 32x64 tree whose trunk (the bottom 16 px) blocks, planted at cell (2, 2).
    tree = tileset("trees", tilewidth=32, tileheight=64, columns=2, count=2, image="trees.png",
                   firstgid=9, tiles={0: {"objects": [obj("rect", 8, 48, 16, 16)]}})
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[tileset(), tree], layers=[
        tile_layer("g", grid(6, 5)), tile_layer("trees", grid(6, 5, 0, t2_2=9)),
        object_layer("o", [obj("point", 16, 16, name="spawn")])]), fmt))
    (trunk,) = tm.world.shapes
    xs, ys = [p[0] for p in trunk], [p[1] for p in trunk]
    assert (min(xs), max(xs), min(ys), max(ys)) == (72.0, 88.0, 80.0, 96.0)
    assert tm.tiles[9] == tiled.TileImage("trees.png", (0, 0, 32, 64))
