"""The game walks through an exit to another map of a real host's world.

The player starts in the town (downloaded on the loading screen), walks east
into the exit, and the world scene fetches the cave, swaps its map, renderer
and prediction, and draws the cave (checked by the colours on the headless
surface).  The chat panel then says that a friend left in the town is there.
"""
from __future__ import annotations

import time
from pathlib import Path

import pygame
import pytest
import requests

from game.client.chat_model import ChatModel
from game.client.maps import MapCache
from game.client.net import HostClient
from game.client.scenes.loading import LoadingScene
from game.client.scenes.world import WorldScene
from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD, TILE, start_world_host, unique_name
from .helpers_client import Game
from .test_map_multi import CAVE_ROWS, DOOR, write_world

pytestmark = pytest.mark.timeout(120)

FLOOR, WALL = (90, 160, 80), (110, 110, 120)  # the colours of write_tmx's tiles


@pytest.fixture(scope="module", params=ASYNC_MODES)
def linked_host(request, tmp_path_factory):
    pygame.init()
    folder = write_world(tmp_path_factory.mktemp("linked") / "world")
    db = tmp_path_factory.mktemp(f"linked-{request.param}") / "world.db"
    host = start_world_host(db, folder, request.param, ("--start-map", "town"))
    try:
        yield host
    finally:
        host.stop()


def test_the_game_walks_through_an_exit_and_draws_the_next_map(linked_host, tmp_path):
    friend = HostClient(linked_host.url, reconnect=False)
    friend_name = unique_name("friend")
    friend.login_or_register(friend_name, PASSWORD)
    friend.connect()
    friend.wait_for(P.WELCOME)
    game = Game(tmp_path, linked_host.url)
    try:
        cache = game.app.services["map_cache"] = MapCache(tmp_path / "maps", bundled=())
        client = HostClient(linked_host.url, reconnect=False)
        client.login_or_register(unique_name("walker"), PASSWORD)
        client.connect()
        game.app.push(LoadingScene(client))
        game.until(lambda: isinstance(game.scene, WorldScene) and game.scene.predictor is not None,
                   what="the world on the town")
        scene = game.scene
        assert scene.map_name == "town"
        game.until(lambda: friend_name in scene.chat.model.maps, what="the friend's map")
        assert scene.chat.model.where(friend_name) is None  # both in the town

        scene.held.add("right")  # along the spawn's row, into the exit to the cave
        game.until(lambda: scene.trip is not None or scene.map_name == "cave",
                   what="the exit")
        scene.held.clear()
        game.until(lambda: scene.trip is None and scene.map_name == "cave", what="the cave")
        assert Path(game.app.services["map_path"]).name == "cave.tmx"
        assert Path(game.app.services["map_path"]).parent.parent == cache.root
        # A reconnect on the cave keeps this scene (the loading screen opens
        # only for a map other than the one shown).
        maps = requests.get(linked_host.url + P.HTTP_HEALTH, timeout=5).json()["maps"]
        assert game.app.services["map_hash"] == \
            next(m["hash"] for m in maps if m["name"] == "cave")
        assert (scene.world.width_px, scene.world.height_px) == \
            (len(CAVE_ROWS[0]) * TILE, len(CAVE_ROWS) * TILE)
        assert (scene.predictor.x, scene.predictor.y) == DOOR
        assert scene.tiles.map.world is scene.world
        assert scene.remotes == {}  # the friend stayed in the town

        # The cave is what is drawn now: its wall ring where the town is open.
        game.frames(3)
        shot = game.app.surface.copy()

        def seen(tx: int, ty: int):
            x, y = scene.camera.to_screen((tx + 0.5) * TILE, (ty + 0.5) * TILE)
            return tuple(shot.get_at((round(x), round(y))))[:3]
        assert seen(0, 4) == WALL and seen(9, 3) == WALL
        assert seen(4, 3) == FLOOR

        # Walking on: the cave's own wall stops the prediction; the host agrees.
        corrections = []
        handler = scene.on_correction
        scene.on_correction = lambda data: (corrections.append(data), handler(data))
        scene.held.add("down")
        game.until(lambda: scene.predictor.y >= 7 * TILE - 5 - 0.5, timeout=10, what="the wall")
        game.frames(10)
        scene.held.clear()
        game.frames(5)
        client.call(P.PING, {"t": time.time() * 1000.0})  # every move is answered before it
        game.frames(3)
        assert [c for c in corrections if c["reason"] != "other_map"] == []

        # The chat panel says where the friend is, now that it is not here.
        assert scene.chat.model.my_map == "cave"
        assert scene.chat.model.where(friend_name) == "town"
        scene.chat.set_visible(True)
        game.frames(2)
        client.close()
    finally:
        game.close()
        friend.close()


def test_the_players_list_knows_each_friends_map():
    model = ChatModel("me")
    model.set_directory([{"name": "ann", "online": True, "map": "cave"},
                         {"name": "bo", "online": True, "map": "town"},
                         {"name": "cy", "online": False}])
    model.set_map("me", "town")
    assert (model.where("ann"), model.where("bo"), model.where("cy")) == ("cave", None, None)
    model.set_map("bo", "attic")
    assert model.where("bo") == "attic"
    model.set_online("ann", False)
    assert model.where("ann") is None
