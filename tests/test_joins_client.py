"""The game client applies players_joined / players_left batches: the world
scene draws and counts them, the chat panel's players list and the
moderation tools' roles follow."""
from __future__ import annotations

import pygame

from game.core import protocol as P
from game.client import theme
from game.client.widgets.chat import ChatPanel

from .helpers_client import world  # noqa: F401  (the fixture)


def batch(*players: tuple[int, str, float, float]) -> dict:
    return {"players": [{"id": i, "name": n, "x": x, "y": y, "role": P.ROLE_PLAYER}
                        for i, n, x, y in players]}


def test_the_world_scene_takes_a_whole_batch(world):  # noqa: F811
    scene, client, frames, _ = world
    sx, sy = scene.world.spawn
    client.put(P.PLAYERS_JOINED, batch((7, "juno", sx + 40, sy), (8, "tala", sx - 40, sy),
                                       (9, "pip", sx, sy + 40)))
    frames(1)
    assert {7, 8, 9} <= set(scene.remotes) and {7, 8, 9} <= scene.online_ids
    client.put(P.PLAYERS_LEFT, {"ids": [7, 9], "names": ["juno", "pip"]})
    client.put(P.PLAYERS_JOINED, batch((7, "juno", sx + 80, sy)))  # juno back at once
    frames(1)
    assert 9 not in scene.remotes and 9 not in scene.online_ids
    assert scene.drawn_position(7) == (sx + 80, sy) and 8 in scene.remotes
    frames(1)
    assert scene.status.online == len(scene.online_ids) + 1


def test_the_chat_list_and_roles_follow_the_batches(world):  # noqa: F811
    scene, client, frames, _ = world
    client.put(P.PLAYERS_JOINED, {"players": [
        {"id": 20, "name": "zed", "x": 0, "y": 0, "map": "cellar", "role": P.ROLE_MODERATOR},
        {"id": 21, "name": "amy", "x": 0, "y": 0, "role": P.ROLE_PLAYER}]})
    frames(1)
    listed = {p["name"]: p["online"] for p in scene.chat.model.players}
    assert listed["zed"] and listed["amy"]
    assert scene.mod.roles["zed"] == P.ROLE_MODERATOR
    assert scene.chat.model.maps["zed"] == "cellar"
    client.put(P.PLAYERS_LEFT, {"ids": [20], "names": ["zed"]})
    frames(1)
    listed = {p["name"]: p["online"] for p in scene.chat.model.players}
    assert listed == {**listed, "zed": False, "amy": True}


def test_one_sort_for_a_batch_keeps_online_players_first():
    pygame.init()
    pygame.display.set_mode((1024, 720))
    panel = ChatPanel(theme.make_manager((1024, 720)), "me", lambda *a: None,
                      cue=lambda *a: None, notify=lambda *a: None)
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [], "unread": {}})
    panel.on_net(P.PLAYERS_JOINED, {"players": [{"id": i, "name": n} for i, n in
                                                ((2, "Cleo"), (3, "bob"), (4, "me"), (5, "Ada"))]})
    panel.on_net(P.PLAYERS_LEFT, {"ids": [3], "names": ["bob"]})
    assert panel.model.players == [{"name": "Ada", "online": True},
                                   {"name": "Cleo", "online": True},
                                   {"name": "bob", "online": False}]
