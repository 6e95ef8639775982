"""Both of Tiled's formats are delivered whole: a TMX or JSON map with an
external tileset in a sub-folder, an image collection and an object template
is served as a bundle that, unpacked the way a client unpacks it, loads to
the very map the host walks with.  Real host processes, both async modes."""
from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
import requests

from game.core import protocol as P
from game.core.bundle import safe_extract
from game.core.tiled import load_map

from .conftest import ASYNC_MODES
from .support import HostProcess
from .test_map_core_writer import (FORMATS, obj, object_layer, the_map, tile_layer, tileset,
                                   write_map)


def a_map(folder, fmt):
    ground = tileset("ground", external="sets/ground", image="ground.png",
                     tiles={1: {"props": {"blocked": True}}})
    things = tileset("things", image=None, count=2, firstgid=9, tiles={
        0: {"image": ("img/tree.png", 32, 64)}, 1: {"image": ("img/rock.png", 32, 32)}})
    door = {"stem": "door", "object": obj("rect", w=64, h=32, name="door")}
    data = [1] * 30
    data[7], data[8], data[9] = 9, 10, 2
    layers = [tile_layer("ground", data),
              object_layer("objects", [obj("point", 80, 112, name="spawn"),
                                       obj(template=door, x=32, y=96)])]
    return write_map(folder, "plaza", the_map(6, 5, 32, [ground, things], layers), fmt)


@pytest.mark.parametrize("mode", ASYNC_MODES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_unpacked_bundle_loads_to_the_hosts_map(tmp_path, fmt, mode):
    path = a_map(tmp_path / "map", fmt)
    (tmp_path / "map" / "unrelated.txt").write_text("not served")
    local = load_map(path)
    expected = sorted(f.relative_to(local.folder).as_posix() for f in local.files)
    with HostProcess(tmp_path / "w.db", async_mode=mode, extra_args=("--map", str(path))) as host:
        desc = requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["map"]
        data = requests.get(host.url + desc["url"], timeout=10).content
    assert desc["name"] == "plaza" and desc["file"] == path.name
    assert hashlib.sha256(data).hexdigest() == desc["hash"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == expected
    assert len(expected) == 6  # map, tileset, 3 images, template
    cache = tmp_path / "cache" / desc["hash"]
    safe_extract(data, cache)
    theirs = load_map(cache / desc["file"])
    assert theirs.world.blocked == local.world.blocked
    assert theirs.world.spawn == local.world.spawn
    assert theirs.tiles == local.tiles and theirs.layers == local.layers
