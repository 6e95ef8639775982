"""Where players start (spawn), arrive (entries) and leave (exits) on a
Tiled map, in both of Tiled's formats."""
from __future__ import annotations

import pytest

from game.core.rules import Exit, WorldMap
from game.core.tiled import load_map, parse_exit

from .test_map_core import grid, simple
from .test_map_core_writer import FORMATS, obj, object_layer, tile_layer, tileset, write_map

WALL = tileset(tiles={1: {"props": {"blocked": True}}})  # gid 2 blocks


def load(tmp_path, fmt, layers, width=8, height=6, tilesets=(WALL,)):
    return load_map(write_map(tmp_path, "m", simple(width=width, height=height,
                                                      tilesets=list(tilesets), layers=layers), fmt))


# -- spawn ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_object_named_spawn_wins_over_a_spawn_class_and_a_start_layer(tmp_path, fmt):
    tm = load(tmp_path, fmt, [
        tile_layer("g", grid(8, 6)), tile_layer("start", grid(8, 6, 0, t6_4=1)),
        object_layer("o", [obj("point", 40, 40, cls="spawn"),
                           obj("rect", 96, 96, 32, 32, name="spawn")])])
    assert tm.world.spawn == (112.0, 112.0)  # the centre of the rectangle
    assert tm.warnings == ()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cls", ["spawn", "start"])
def test_an_object_of_class_spawn_or_start(tmp_path, fmt, cls):
    tm = load(tmp_path, fmt, [tile_layer("g", grid(8, 6)),
                              object_layer("o", [obj("point", 40, 50, name="here", cls=cls)])])
    assert tm.world.spawn == (40.0, 50.0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_first_tile_of_a_layer_named_start(tmp_path, fmt):
    tm = load(tmp_path, fmt, [tile_layer("g", grid(8, 6)),
                              tile_layer("start", grid(8, 6, 0, t5_2=1, t6_3=1))])
    assert tm.world.spawn == (5.5 * 32, 2.5 * 32)
    assert tm.warnings == ()


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_a_spawn_the_walkable_tile_nearest_the_centre_with_a_warning(tmp_path, fmt):
    walls = {f"t{x}_{y}": 2 for x in range(2, 6) for y in range(1, 5)}  # the centre is walled
    tm = load(tmp_path, fmt, [tile_layer("g", grid(8, 6, 1, **walls))])
    x, y = tm.world.spawn
    assert tm.world.box_free(x, y)
    assert (x, y) in {(48.0, 80.0), (48.0, 112.0), (208.0, 80.0), (208.0, 112.0),
                      (112.0, 16.0), (144.0, 16.0), (112.0, 176.0), (144.0, 176.0)}
    assert tm.warnings == (f"no spawn marked: using the walkable tile nearest the centre "
                           f"({x:g}, {y:g})",)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_spawn_inside_a_wall_moves_to_the_nearest_walkable_tile_with_a_warning(tmp_path, fmt):
    tm = load(tmp_path, fmt, [tile_layer("g", grid(8, 6, 1, t3_3=2)),
                              object_layer("o", [obj("point", 112, 112, name="spawn")])])
    assert tm.world.spawn in {(80.0, 112.0), (144.0, 112.0), (112.0, 80.0), (112.0, 144.0)}
    assert "the spawn (112, 112) is blocked" in tm.warnings[0]


# -- entries --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_named_objects_and_start_layers_are_entries(tmp_path, fmt):
    tm = load(tmp_path, fmt, [
        tile_layer("g", grid(8, 6, 1, t1_4=2)),
        tile_layer("from-cave", grid(8, 6, 0, t1_4=1, t2_4=1), props={"startLayer": True}),
        object_layer("o", [obj("point", 40, 50, name="well"),
                           obj("rect", 160, 32, 64, 32, name="gate"),
                           obj("point", 80, 80, name="spawn")])])
    entries = tm.world.entries
    assert entries["well"] == (40.0, 50.0)
    assert entries["gate"] == (192.0, 48.0)
    assert entries["spawn"] == (80.0, 80.0)
    assert entries["from-cave"] == (80.0, 144.0)  # its first walkable tile
    assert entries == {**dict(entries)}  # a read-only mapping
    with pytest.raises(TypeError):
        entries["x"] = (0, 0)  # type: ignore[index]


# -- exits ----------------------------------------------------------------------------
def test_exit_values_name_a_map_and_maybe_an_entry():
    assert parse_exit("cave") == ("cave", None)
    assert parse_exit("cave.tmj#door") == ("cave", "door")
    assert parse_exit("maps/inn.json#bar") == ("inn", "bar")
    assert parse_exit("Town.TMX") == ("Town", None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exits_from_objects_and_from_exit_url_layers(tmp_path, fmt):
    tm = load(tmp_path, fmt, [
        tile_layer("g", grid(8, 6)),
        tile_layer("to-inn", grid(8, 6, 0, t6_0=1, t7_0=1, t7_1=1),
                   props={"exitUrl": "inn.tmj#bar"}),
        tile_layer("elsewhere", grid(8, 6, 0, t0_5=1), props={"exitUrl": "https://example.org/x.json"}),
        object_layer("o", [
            obj("rect", 0, 0, 64, 32, name="cave mouth", props={"exit": "cave#door"}),
            obj("polygon", 96, 96, points=[(0, 0), (64, 0), (0, 64)], props={"exitUrl": "town"}),
            obj("point", 200, 150, name="dot", props={"exit": "nowhere"}),
            obj("point", 80, 80, name="spawn")])])
    world = tm.world
    cave = world.exit_at(10, 10)
    assert cave == Exit(((0, 0), (64, 0), (64, 32), (0, 32)), "cave", "door")
    assert world.exit_at(70, 10) is None
    town = world.exit_at(100, 100)
    assert (town.target_map, town.target_entry) == ("town", None)
    assert world.exit_at(150, 150) is None  # inside the triangle's box, outside the triangle
    inn = world.exit_at(250, 40)
    assert (inn.target_map, inn.target_entry) == ("inn", "bar")
    assert world.exit_at(200, 40) is None
    assert world.exit_at(10, 170) is None  # the URL exit was ignored
    assert any("https://example.org/x.json" in w and "ignored" in w for w in tm.warnings)
    assert any("'dot'" in w and "no area" in w for w in tm.warnings)
    assert world.exit_at(-5, 10) is None and world.exit_at(10, 10_000) is None
    kinds = [a.kind for a in tm.areas]
    assert kinds.count("exit") == 4 and kinds[0] == "spawn"


def test_exit_at_on_a_map_built_by_hand():
    base = WorldMap.from_rows(("....",) * 4, spawn=(16.0, 16.0))
    door = Exit(((64.0, 64.0), (96.0, 64.0), (96.0, 96.0), (64.0, 96.0)), "cellar", None)
    world = WorldMap(4, 4, 32, base.blocked, base.spawn, exits=(door,),
                     entries={"door": (80.0, 48.0)}, name="house")
    assert world.exit_at(80, 80) is door and world.exit_at(40, 40) is None
    assert world.entries["door"] == (80.0, 48.0) and world.name == "house"
    assert hash(world)


@pytest.mark.parametrize("fmt", FORMATS)
def test_workadventure_start_areas_and_plain_layers_are_not_entries(tmp_path, fmt):
    tm = load(tmp_path, fmt, [
        tile_layer("floor", grid(8, 6)), tile_layer("start", grid(8, 6, 0, t2_2=1)),
        object_layer("floorLayer", [obj("rect", 160, 64, 64, 64, name="start", cls="area"),
                                    obj("rect", 0, 0, 32, 32, name="from-cave", cls="area",
                                        props={"start": True})])])
    assert tm.world.spawn == (192.0, 96.0)  # the area named start wins over the layer
    assert set(tm.world.entries) == {"start", "from-cave"}
    assert tm.world.entries["from-cave"] == (16.0, 16.0)


def test_entries_equal_in_any_order_hash_alike():
    from game.core.rules import Entries

    a = Entries({"a": (1, 2), "b": (3, 4)})
    b = Entries([("b", (3.0, 4.0)), ("a", (1.0, 2.0))])
    assert a == b and hash(a) == hash(b) and a == {"a": (1.0, 2.0), "b": (3.0, 4.0)}
