"""A real client on a real host running a map that is not the bundled one.

The host runs the feature map (tests/helpers_map_client.py), whose wall
column stands where the bundled world is open ground.  The client downloads
the map from the host, draws it (checked by content on the headless surface)
and walks into that wall: its own prediction stops it, so the host never has
to correct it.
"""
from __future__ import annotations

import time
from pathlib import Path

import pygame
import pytest
import requests

from game.client.maps import MapCache
from game.client.net import HostClient
from game.client.scenes.loading import LoadingScene
from game.client.scenes.world import WorldScene
from game.core import bundle, rules, tiled
from game.core import protocol as P

from . import helpers_map_client as F
from .conftest import ASYNC_MODES, PASSWORD, stop_cleanly, unique_name
from .helpers_client import Game
from .support import HostProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", params=ASYNC_MODES)
def feature_host(request, tmp_path_factory):
    pygame.init()
    folder = tmp_path_factory.mktemp(f"features-{request.param}")
    path = F.write_feature_map(folder)
    proc = HostProcess(folder.parent / f"world-{request.param}.db", async_mode=request.param,
                       extra_args=("--map", str(path), "--login-failures", "1000")).start()
    yield proc, path
    stop_cleanly(proc)


def test_the_client_downloads_exactly_the_hosts_map(feature_host, tmp_path):
    host, source = feature_host
    desc = requests.get(host.url + P.HTTP_HEALTH, timeout=10).json()["map"]
    assert desc["file"] == "features.tmx"
    seen = []
    path = MapCache(tmp_path, bundled=()).fetch(host.url, desc, lambda d, t: seen.append((d, t)))
    assert seen[-1] == (desc["size"], desc["size"])
    assert path == tmp_path / desc["hash"] / "features.tmx"
    # What arrived is the host's map, file for file.
    here = tiled.load_map(path)
    assert bundle.bundle_hash(bundle.build_bundle(here)) == desc["hash"]
    assert here.world.blocked == tiled.load_map(source).world.blocked


def test_a_player_downloads_the_map_sees_it_and_is_stopped_by_its_wall(feature_host, tmp_path):
    host, _ = feature_host
    game = Game(tmp_path, host.url)
    try:
        cache = game.app.services["map_cache"] = MapCache(tmp_path / "maps", bundled=())
        client = HostClient(host.url, reconnect=False)
        client.login_or_register(unique_name("walk"), PASSWORD)
        client.connect()
        game.app.push(LoadingScene(client))
        game.until(lambda: isinstance(game.scene, WorldScene) and game.scene.predictor is not None,
                   what="the world on the host's map")
        scene = game.scene
        assert Path(game.app.services["map_path"]).parent.parent == cache.root
        assert (scene.world.width_px, scene.world.height_px) == (F.W * F.TS, F.H * F.TS)

        # What the player sees is the host's map: its wall column, its roof,
        # its half-transparent tile (away from the avatar and its name tag).
        game.frames(2)
        shot = game.app.surface.copy()

        def seen(tx: float, ty: float):
            x, y = scene.camera.to_screen((tx + 0.5) * F.TS, (ty + 0.5) * F.TS)
            return tuple(shot.get_at((round(x), round(y))))[:3]
        assert seen(F.WALL_COLUMN, 4) == F.GREY
        assert seen(5, 2) == F.GREEN
        assert seen(9, 5) == F.RED
        assert seen(3, 2) != F.RED and seen(3, 2) != F.BLUE

        # Walk east along the spawn's row into the wall the bundled world lacks.
        start_x, y = scene.predictor.x, scene.predictor.y
        stop_x = F.WALL_COLUMN * F.TS - rules.BOX_HALF_W
        bundled = rules.load_world()
        assert all(bundled.box_free(x, y) for x in range(int(stop_x), int(stop_x) + 30, 2))
        corrections = []
        handler = scene.on_correction
        scene.on_correction = lambda data: (corrections.append(data), handler(data))
        scene.held.add("right")
        game.until(lambda: scene.predictor.x >= stop_x - 0.5, timeout=10, what="the wall")
        game.frames(20)  # keep pushing against it
        assert scene.predictor.x == pytest.approx(stop_x, abs=0.5)
        assert scene.predictor.x > start_x
        scene.held.clear()
        game.frames(5)
        # Every move is answered before this ping is: none was refused.
        client.call(P.PING, {"t": time.time() * 1000.0})
        game.frames(3)
        assert corrections == []
        client.close()
    finally:
        game.close()
