"""Reading Tiled maps (TMX and JSON) into the game's map model: layers, tile
pictures, animations, the files a map references, and the maps refused."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from game.core import rules, tiled
from game.core.rules import MapError
from game.core.tiled import FLIP_D, FLIP_H, FLIP_V, GID_MASK, load_map

from .conftest import TEST_MAP_ROWS, write_tmx
from .test_map_core_writer import (FORMATS, group, obj, object_layer, the_map, tile_layer,
                                   tileset, write_map)

ROOT = Path(__file__).resolve().parents[1]


def grid(width, height, fill=1, **cells):
    """width*height gids, all ``fill`` except cells named 'x_y'=gid."""
    data = [fill] * (width * height)
    for key, gid in cells.items():
        x, y = (int(v) for v in key[1:].split("_"))
        data[y * width + x] = gid
    return data


def simple(width=6, height=5, tile=32, **kw):
    """A plain map: one ground layer of gid 1 and a spawn in the middle."""
    spawn = obj("point", x=tile * 2.5, y=tile * 2.5, name="spawn")
    layers = kw.pop("layers", None) or [tile_layer("ground", grid(width, height)),
                                        object_layer("objects", [spawn])]
    tilesets = kw.pop("tilesets", None) or [tileset(tile=tile)]
    return the_map(width, height, tile, tilesets, layers, **kw)


# -- the bundled map and the tests' maps -----------------------------------------
def test_the_bundled_world_loads_with_its_spawn_and_tiles():
    tm = load_map(rules.DEFAULT_MAP_PATH)
    assert (tm.width, tm.height, tm.tile_size) == (100, 75, 32)
    assert [layer.name for layer in tm.layers] == ["ground", "decor"]
    assert tm.world.spawn == (1392.0, 1168.0)
    assert tm.world.name == "world"
    assert tm.files == (rules.DEFAULT_MAP_PATH, rules.DEFAULT_MAP_PATH.parent / "tiles.png")
    assert tm.warnings == ()
    used = {g & GID_MASK for layer in tm.layers for g in layer.data if g}
    assert used <= set(tm.tiles)
    assert all(t.source == "tiles.png" and t.rect[2:] == (32, 32) for t in tm.tiles.values())
    assert sum(tm.world.blocked) > 0


def test_write_tmx_maps_load_to_the_rows_they_were_written_from(tmp_path):
    tm = load_map(write_tmx(tmp_path / "t.tmx", TEST_MAP_ROWS))
    expected = rules.WorldMap.from_rows(TEST_MAP_ROWS)
    assert tm.world.blocked == expected.blocked
    assert tm.world.spawn == expected.spawn
    assert tm.files == (tmp_path / "t.tmx", tmp_path / "test.png")


def test_importing_the_loader_keeps_the_process_free_of_pygame():
    code = ("import sys; import game.core.tiled as t; t.load_map(sys.argv[1]);"
            "bad = [m for m in ('pygame', 'pytmx', 'flask', 'socket', 'sqlite3') if m in sys.modules];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code, str(rules.DEFAULT_MAP_PATH)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- tile sizes, tilesets, images ---------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [16, 24, 32, 48])
def test_any_square_tile_size_loads(tmp_path, fmt, size):
    tm = load_map(write_map(tmp_path, "m", simple(tile=size), fmt))
    assert tm.tile_size == size == tm.world.tile_size
    assert tm.world.spawn == (size * 2.5, size * 2.5)
    assert tm.tiles[1].rect == (0, 0, size, size)


@pytest.mark.parametrize("fmt", FORMATS)
def test_margin_and_spacing_place_each_tile_in_its_image(tmp_path, fmt):
    ts = tileset(tile=16, columns=3, count=9, margin=2, spacing=1)
    data = grid(6, 5, 1, t1_0=2, t2_0=4, t3_0=9)
    tm = load_map(write_map(tmp_path, "m", simple(tile=16, tilesets=[ts], layers=[
        tile_layer("ground", data), object_layer("o", [obj("point", 40, 40, name="spawn")])]), fmt))
    assert tm.tiles[1].rect == (2, 2, 16, 16)
    assert tm.tiles[2].rect == (2 + 17, 2, 16, 16)
    assert tm.tiles[4].rect == (2, 2 + 17, 16, 16)
    assert tm.tiles[9].rect == (2 + 34, 2 + 34, 16, 16)


@pytest.mark.parametrize("fmt", FORMATS)
def test_external_tilesets_and_image_collections(tmp_path, fmt):
    ground = tileset("ground", external="ground_set", image="img/ground.png")
    things = tileset("things", image=None, count=2, firstgid=9, tiles={
        0: {"image": ("img/tree.png", 32, 64)},
        1: {"image": ("img/rock.png", 32, 32)}})
    data = grid(6, 5, 1, t1_1=9, t2_1=10)
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ground, things], layers=[
        tile_layer("ground", data), object_layer("o", [obj("point", 80, 80, name="spawn")])]), fmt))
    assert tm.tiles[1] == tiled.TileImage("img/ground.png", (0, 0, 32, 32))
    assert tm.tiles[9] == tiled.TileImage("img/tree.png", None)
    assert tm.tiles[10] == tiled.TileImage("img/rock.png", None)
    ext = ".tsx" if fmt == "tmx" else ".tsj"
    assert tm.files == (tm.path, tmp_path / f"ground_set{ext}", tmp_path / "img/ground.png",
                        tmp_path / "img/tree.png", tmp_path / "img/rock.png")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_external_tileset_in_a_subfolder_gives_images_relative_to_the_map(tmp_path, fmt):
    ts = tileset("ground", external="sets/ground", image="ground.png")
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ts]), fmt))
    assert tm.tiles[1].source == "sets/ground.png"
    assert tmp_path / "sets" / "ground.png" in tm.files


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_are_not_resolved_through_symlinks(tmp_path, fmt):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    world = tmp_path / "world"
    path = write_map(world, "m", simple(tilesets=[tileset(external="ground")]), fmt)
    ext = ".tsx" if fmt == "tmx" else ".tsj"
    real = elsewhere / f"ground{ext}"
    (world / f"ground{ext}").rename(real)
    os.symlink(real, world / f"ground{ext}")
    tm = load_map(path)
    assert world / f"ground{ext}" in tm.files
    assert real not in tm.files
    assert all(str(f).startswith(str(world)) for f in tm.files)
    assert tm.folder == world and tm.path == path


# -- layers -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_flip_flags_stay_in_the_layer_data(tmp_path, fmt):
    flipped = [2 | FLIP_H, 2 | FLIP_V, 2 | FLIP_D, 2 | FLIP_H | FLIP_V | FLIP_D]
    data = grid(6, 5, 1, t0_0=flipped[0], t1_0=flipped[1], t2_0=flipped[2], t3_0=flipped[3])
    for enc, comp in (("csv", ""), ("base64", ""), ("base64", "zlib"), ("base64", "gzip")):
        folder = tmp_path / f"{enc}{comp}"
        tm = load_map(write_map(folder, "m", simple(layers=[
            tile_layer("ground", data, encoding=enc, compression=comp),
            object_layer("o", [obj("point", 80, 80, name="spawn")])]), fmt))
        assert list(tm.layers[0].data[:4]) == flipped, (enc, comp)
        assert 2 in tm.tiles and all(g < FLIP_D for g in tm.tiles)


@pytest.mark.parametrize("fmt", FORMATS)
def test_groups_are_flattened_with_opacity_visibility_and_offsets(tmp_path, fmt):
    layers = [
        tile_layer("ground", grid(6, 5)),
        group("outer", opacity=0.5, offset=(4, 2), layers=[
            tile_layer("inner", grid(6, 5, 0, t1_1=2), opacity=0.5, offset=(1, 1)),
            group("hidden", visible=False, layers=[tile_layer("gone", grid(6, 5, 0, t2_2=3))]),
        ]),
        tile_layer("faint", grid(6, 5, 0, t3_3=4), opacity=0.25),
        tile_layer("invisible", grid(6, 5, 0, t4_4=5), visible=False),
        object_layer("o", [obj("point", 80, 80, name="spawn")]),
    ]
    tm = load_map(write_map(tmp_path, "m", simple(layers=layers), fmt))
    assert [layer.name for layer in tm.layers] == ["ground", "inner", "faint"]
    inner = tm.layers[1]
    assert inner.opacity == pytest.approx(0.25)
    assert inner.offset == (5.0, 3.0)
    assert tm.layers[2].opacity == pytest.approx(0.25)
    assert 3 not in tm.tiles and 5 not in tm.tiles  # hidden layers are not drawn


@pytest.mark.parametrize("fmt", FORMATS)
def test_layers_above_players_by_property_name_and_floor_layer(tmp_path, fmt):
    layers = [
        tile_layer("ground", grid(6, 5)),
        tile_layer("canopy", grid(6, 5, 0), props={"above": True}),
        tile_layer("Roof tops", grid(6, 5, 0)),
        tile_layer("overhang", grid(6, 5, 0)),
        tile_layer("top", grid(6, 5, 0)),
        tile_layer("over but not", grid(6, 5, 0), props={"above": False}),
        tile_layer("walls", grid(6, 5, 0)),
        object_layer("floorLayer", []),
        tile_layer("trees", grid(6, 5, 0)),
        object_layer("o", [obj("point", 80, 80, name="spawn")]),
    ]
    tm = load_map(write_map(tmp_path, "m", simple(layers=layers), fmt))
    above = {layer.name: layer.above for layer in tm.layers}
    assert above == {"ground": False, "canopy": True, "Roof tops": True, "overhang": True,
                     "top": True, "over but not": False, "walls": False, "trees": True}
    assert "canopy" in tm.above_rule and "Roof tops" in tm.above_rule
    assert "floorLayer: trees" in tm.above_rule


def test_with_no_above_layer_the_rule_says_so(tmp_path):
    tm = load_map(write_map(tmp_path, "m", simple(), "tmx"))
    assert not any(layer.above for layer in tm.layers)
    assert tm.above_rule.startswith("none")


@pytest.mark.parametrize("fmt", FORMATS)
def test_animations_list_their_frames_and_every_frame_has_a_picture(tmp_path, fmt):
    ts = tileset(count=8, tiles={2: {"animation": [(2, 100), (5, 150), (6, 200)]}})
    data = grid(6, 5, 1, t1_1=3)
    tm = load_map(write_map(tmp_path, "m", simple(tilesets=[ts], layers=[
        tile_layer("water", data), object_layer("o", [obj("point", 80, 80, name="spawn")])]), fmt))
    assert tm.animations == {3: (tiled.Frame(3, 100), tiled.Frame(6, 150), tiled.Frame(7, 200))}
    assert {3, 6, 7} <= set(tm.tiles)
    assert tm.tiles[7].rect == (64, 32, 32, 32)


# -- templates ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_template_objects_take_their_shape_and_properties_from_the_template(tmp_path, fmt):
    door = tiled_template = {"stem": "door", "object": obj("rect", w=64, h=32, name="door",
                                                            props={"exit": "cave#mouth",
                                                                   "sound": "creak"})}
    spawn_t = {"stem": "spawner", "object": obj("point", cls="spawn")}
    objects = [obj(template=door, x=32, y=96, props={"sound": "bang"}),
               obj(template=spawn_t, x=144, y=48)]
    tm = load_map(write_map(tmp_path, "m", simple(layers=[
        tile_layer("ground", grid(6, 5)), object_layer("o", objects)]), fmt))
    assert tm.world.spawn == (144.0, 48.0)
    (exit_,) = tm.world.exits
    assert (exit_.target_map, exit_.target_entry) == ("cave", "mouth")
    assert exit_.contains(64, 112) and not exit_.contains(64, 140)
    door_area = next(a for a in tm.areas if a.kind == "exit")
    assert door_area.props["sound"] == "bang"
    ext = ".tx" if fmt == "tmx" else ".tj"
    assert tm.files[1:3] == (tmp_path / f"door{ext}", tmp_path / f"spawner{ext}")
    assert tiled_template is door


# -- refusals -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("orientation", ["isometric", "staggered", "hexagonal"])
def test_other_orientations_are_refused_naming_the_file(tmp_path, fmt, orientation):
    path = write_map(tmp_path, "m", simple(orientation=orientation), fmt)
    with pytest.raises(MapError, match=f"{orientation} maps are not supported") as err:
        load_map(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_infinite_and_non_square_maps_are_refused(tmp_path, fmt):
    path = write_map(tmp_path / "inf", "m", simple(infinite=True), fmt)
    with pytest.raises(MapError, match="infinite maps are not supported"):
        load_map(path)
    path = write_map(tmp_path / "rect", "m", simple(tileheight=16), fmt)
    with pytest.raises(MapError, match="32x16 px are not supported") as err:
        load_map(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_zstd_layers_are_refused_with_what_to_do(tmp_path, fmt):
    from pytiled_parser.parsers.tmx import layer as tmx_layer

    if tmx_layer.zstd is not None:
        pytest.skip("the zstd module is installed here")
    path = write_map(tmp_path, "m", simple(layers=[
        tile_layer("ground", grid(6, 5), encoding="base64", compression="zstd")]), fmt)
    with pytest.raises(MapError, match="layer 'ground' is compressed with zstd.*zlib or gzip"):
        load_map(path)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_map_with_no_walkable_tile_is_refused(tmp_path, fmt):
    ts = tileset(tiles={0: {"props": {"blocked": True}}})
    path = write_map(tmp_path, "m", simple(tilesets=[ts], layers=[tile_layer("g", grid(6, 5))]), fmt)
    with pytest.raises(MapError, match="no tile a player can stand on"):
        load_map(path)


def test_missing_and_broken_files_are_refused_naming_the_file(tmp_path):
    with pytest.raises(MapError, match="file not found"):
        load_map(tmp_path / "nothing.tmx")
    path = write_map(tmp_path, "m", simple(tilesets=[tileset(external="gone")]), "tmx")
    (tmp_path / "gone.tsx").unlink()
    with pytest.raises(MapError, match="gone.tsx"):
        load_map(path)
    broken = tmp_path / "broken.tmx"
    broken.write_text("<map><layer")
    with pytest.raises(MapError, match="broken.tmx"):
        load_map(broken)
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    with pytest.raises(MapError, match="junk.json: not a Tiled map"):
        load_map(junk)


def test_a_tile_no_tileset_has_is_refused(tmp_path):
    path = write_map(tmp_path, "m", simple(layers=[tile_layer("g", grid(6, 5, 1, t0_0=99)),
                                                   object_layer("o", [])]), "tmx")
    with pytest.raises(MapError, match="gid 99 belongs to no tileset"):
        load_map(path)


def test_json_maps_may_be_named_json(tmp_path):
    from .test_map_core_writer import to_json

    tmp_path.mkdir(exist_ok=True)
    tm = load_map(to_json(tmp_path, "level", simple(), suffix=".json"))
    assert tm.world.name == "level" and tm.world.spawn == (80.0, 80.0)


# -- less common things maps made in Tiled contain ----------------------------------
def test_image_layers_text_polylines_and_odd_properties_in_tmx(tmp_path):
    path = tmp_path / "odd.tmx"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<map version="1.10" orientation="orthogonal" renderorder="right-down" width="3" height="2"
     tilewidth="16" tileheight="16" infinite="0" nextlayerid="9" nextobjectid="9">
 <properties><property name="tint" type="color" value=""/></properties>
 <tileset firstgid="1" name="t" tilewidth="16" tileheight="16" tilecount="2" columns="2">
  <image source="t.png" width="32" height="16"/>
 </tileset>
 <imagelayer id="1" name="sky"><image source="bg/sky.png" width="48" height="32"/></imagelayer>
 <imagelayer id="2" name="empty"/>
 <layer id="3" name="ground" width="3" height="2" offsetx="4">
  <data><tile gid="1"/><tile gid="2"/><tile/><tile gid="1"/><tile gid="1"/><tile gid="1"/></data>
 </layer>
 <objectgroup id="4" name="notes">
  <object id="1" name="sign" x="8" y="8"><text>Hello</text></object>
  <object id="2" name="path" x="0" y="0"><polyline points="0,0 16,16"/></object>
  <object id="3" name="spawn" x="24" y="24"><point/></object>
  <object id="4" gid="2" x="0" y="32" width="16" height="16"/>
 </objectgroup>
</map>
""")
    tm = load_map(path)
    assert tm.layers[0].data == (1, 2, 0, 1, 1, 1)
    assert tm.layers[0].offset == (4.0, 0.0)
    assert tm.files == (path, tmp_path / "t.png", tmp_path / "bg" / "sky.png")
    assert tm.world.spawn == (24.0, 24.0) and tm.world.entries["sign"] == (8.0, 8.0)
    assert "image layer 'sky' is not drawn (only tile layers are)" in tm.warnings
    assert any("'notes' has 1 tile object(s), which are not drawn" in w for w in tm.warnings)
    assert tm.world.shapes == ()


def test_image_layers_and_odd_properties_in_json(tmp_path):
    import json

    path = tmp_path / "odd.tmj"
    path.write_text(json.dumps({
        "type": "map", "orientation": "orthogonal", "renderorder": "right-down", "width": 4,
        "height": 2, "tilewidth": 16, "tileheight": 16, "infinite": False, "nextobjectid": 3,
        "version": "1.10",
        "properties": [{"name": "tint", "type": "color", "value": ""}, {"name": "x", "value": 1}],
        "tilesets": [{"firstgid": 1, "name": "t", "tilewidth": 16, "tileheight": 16,
                      "tilecount": 1, "columns": 1, "image": "t.png", "imagewidth": 16,
                      "imageheight": 16}],
        "layers": [
            {"type": "imagelayer", "name": "sky", "image": "sky.png", "opacity": 1, "visible": True},
            {"type": "tilelayer", "name": "g", "width": 4, "height": 2, "data": [1] * 8,
             "opacity": 1, "visible": True},
            {"type": "objectgroup", "name": "o", "opacity": 1, "visible": True,
             "objects": [{"id": 1, "name": "spawn", "point": True, "x": 24, "y": 8}]}]}))
    tm = load_map(path)
    assert tm.files == (path, tmp_path / "t.png", tmp_path / "sky.png")
    assert tm.world.spawn == (24.0, 8.0)


def test_tsx_tilesets_in_json_maps_and_tsj_tilesets_in_tmx_maps(tmp_path):
    ts = tileset(external="ground", tiles={1: {"props": {"blocked": True}}})
    spec = simple(tilesets=[ts], layers=[tile_layer("g", grid(6, 5, 1, t0_0=2)),
                                         object_layer("o", [obj("point", 80, 80, name="spawn")])])
    tmx, tmj = write_map(tmp_path, "m", spec, "tmx"), write_map(tmp_path, "m", spec, "json")
    tmx.write_text(tmx.read_text().replace("ground.tsx", "ground.tsj"))
    tmj.write_text(tmj.read_text().replace("ground.tsj", "ground.tsx"))
    for path, used in ((tmx, "ground.tsj"), (tmj, "ground.tsx")):
        tm = load_map(path)
        assert tm.files[1] == tmp_path / used
        assert tm.world.tile_blocked(0, 0) and not tm.world.tile_blocked(1, 0)
        assert tm.tiles[1] == tiled.TileImage("tiles.png", (0, 0, 32, 32))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_group_marked_above_puts_its_layers_above(tmp_path, fmt):
    layers = [tile_layer("ground", grid(6, 5)),
              group("Trees", props={"above": True}, layers=[tile_layer("crowns", grid(6, 5, 0))]),
              group("overhead stuff", layers=[tile_layer("lamps", grid(6, 5, 0))]),
              object_layer("o", [obj("point", 80, 80, name="spawn")])]
    tm = load_map(write_map(tmp_path, "m", simple(layers=layers), fmt))
    assert {layer.name: layer.above for layer in tm.layers} == {
        "ground": False, "crowns": True, "lamps": True}


def test_tilesets_from_old_tiled_versions_take_their_size_from_the_image(tmp_path):
    from .test_map_core_writer import write_png

    write_png(tmp_path / "walls.png", 128, 64)
    (tmp_path / "walls.tsx").write_text(
        '<?xml version="1.0"?>\n<tileset name="walls" tilewidth="32" tileheight="32">\n'
        ' <image source="walls.png"/>\n <tile id="1"><properties>'
        '<property name="blocked" value="true"/></properties></tile>\n</tileset>\n')
    path = tmp_path / "old.tmx"
    path.write_text(
        '<?xml version="1.0"?>\n<map version="1.0" orientation="orthogonal" width="3" '
        'height="1" tilewidth="32" tileheight="32">\n <tileset firstgid="1" source="walls.tsx"/>\n'
        ' <layer name="g" width="3" height="1"><data encoding="csv">1,2,8</data></layer>\n</map>\n')
    tm = load_map(path)
    assert tm.tiles[8] == tiled.TileImage("walls.png", (96, 32, 32, 32))
    assert tm.world.tile_blocked(1, 0) and not tm.world.tile_blocked(0, 0)  # "true" as a string
