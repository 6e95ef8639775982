"""The world scene without a host: a stand-in client feeds it events, so the
tests count exactly what it sends and draws, frame by frame."""
from __future__ import annotations

import random

import pygame
import pytest

from game.core import protocol as P
from game.core import rules
from game.client.net import ANSWER

from .helpers_client import StandInClient, world  # noqa: F401  (the fixture)


def hold(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


def release(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))


def open_direction(scene) -> int:
    world, (x, y) = scene.world, (scene.predictor.x, scene.predictor.y)
    for key, (dx, dy) in ((pygame.K_d, (1, 0)), (pygame.K_a, (-1, 0)),
                          (pygame.K_s, (0, 1)), (pygame.K_w, (0, -1))):
        if rules.step(world, x, y, dx, dy, 0.5) != (x, y):
            return key
    raise AssertionError("boxed in")


def test_positions_go_out_at_most_20_a_second_and_only_while_moving(world):
    scene, client, frames, _ = world
    assert client.moves == []  # standing still sends nothing
    key = open_direction(scene)
    hold(key)
    frames(60)  # one second of walking
    walking = len(client.moves)
    assert 18 <= walking <= 20
    times = [m[3] for m in client.moves]
    assert all(b - a >= 0.05 - 1e-6 for a, b in zip(times, times[1:]))
    release(key)
    frames(60)
    assert len(client.moves) == walking + 1  # one final position where we stopped
    assert client.moves[-1][1:3] == (scene.predictor.x, scene.predictor.y)


def test_walls_block_the_predicted_walk(world):
    scene, client, frames, _ = world
    hold(pygame.K_w)
    frames(600)  # ten seconds up: a wall or the map edge stops us
    release(pygame.K_w)
    assert scene.world.box_free(scene.predictor.x, scene.predictor.y)
    assert all(scene.world.box_free(x, y) for _, x, y, _ in client.moves)


def test_players_appear_move_and_vanish(world):
    scene, client, frames, clock = world
    sx, sy = scene.world.spawn
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 7, "name": "juno", "x": sx + 40, "y": sy}]})
    frames(1)
    assert scene.drawn_position(7) == (sx + 40, sy)
    host_t = 5_000_000.0 + (clock[0] - 100.0) * 1000.0
    for i in range(1, 11):  # juno walks right, 8 px per 50 ms snapshot
        client.put(P.SNAPSHOT, {"tick": i, "t": host_t + i * 50.0, "p": [7, sx + 40 + 8 * i, sy]})
        frames(3)
    frames(12)
    assert scene.drawn_position(7) == pytest.approx((sx + 120, sy))
    assert scene.remotes[7].facing == 2  # right
    client.put(P.PLAYERS_LEFT, {"ids": [7], "names": ["juno"]})
    frames(1)
    assert scene.drawn_position(7) is None


def test_a_correction_moves_us_back_and_later_moves_continue_from_there(world):
    scene, client, frames, _ = world
    key = open_direction(scene)
    start = (scene.predictor.x, scene.predictor.y)
    hold(key)
    frames(20)
    release(key)
    frames(10)
    last = client.moves[-1][0]
    client.put(P.CORRECTION, {"seq": 2, "x": start[0], "y": start[1], "reason": "too_fast"})
    frames(1)
    assert (scene.predictor.x, scene.predictor.y) == start
    client.put(P.CORRECTION, {"seq": last, "x": 0.0, "y": 0.0, "reason": "too_fast"})
    frames(1)
    assert (scene.predictor.x, scene.predictor.y) == start  # stale: ignored
    frames(30)
    assert len(client.moves) == last  # the host already knows where we are


def test_two_hundred_players_are_drawn(world):
    scene, client, frames, clock = world
    w = scene.world
    sx, sy = w.spawn
    near = [((tx + 0.5) * 32, (ty + 0.5) * 32) for tx, ty in w.walkable_tiles()
            if abs((tx + 0.5) * 32 - sx) < 400 and abs((ty + 0.5) * 32 - sy) < 300]
    spots = random.Random(3).sample(near, 200) if len(near) >= 200 else near * (200 // len(near) + 1)
    for i, (x, y) in enumerate(spots[:200]):
        client.put(P.PLAYERS_JOINED, {"players": [
            {"id": 100 + i, "name": f"p{i}", "x": x, "y": y}]})
    frames(2)
    assert len(scene.remotes) == 200
    blits = []
    real_blits = pygame.Surface.blits

    class Counting(pygame.Surface):
        def blits(self, seq, doreturn=True):
            seq = list(seq)
            blits.append(len(seq))
            return real_blits(self, seq, doreturn)

    target = Counting(scene.app.surface.get_size())
    scene.draw(target, 0.0)
    assert 201 in blits  # one blit per avatar (and one per name label), all in view
    assert scene.status.players == 201


def test_typing_in_the_chat_box_does_not_walk(world):
    scene, client, frames, _ = world
    client.put(ANSWER, {"event": P.DIRECTORY, "tag": None,
                        "reply": {"ok": True, "players": [{"name": "mira", "online": True}]}})
    frames(1)
    scene.chat.set_visible(True)
    scene.chat.open("mira")
    frames(1)
    assert scene.chat.typing
    start = (scene.predictor.x, scene.predictor.y)
    hold(pygame.K_d)
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="d"))
    frames(20)
    assert (scene.predictor.x, scene.predictor.y) == start
    assert scene.chat.entry.get_text() == "d"
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r",
                                         scancode=0))
    frames(1)
    assert (P.DM_SEND, {"to": "mira", "text": "d"}, "mira") in client.requests
    # Messages go out one at a time, in order: the host answers the first.
    client.put(ANSWER, {"event": P.DM_SEND, "tag": "mira", "reply": {
        "ok": True, "message": {"id": 1, "from": "me", "to": "mira", "text": "d", "sent_at": 0}}})
    frames(1)

    # With the mouse: click the box, type, click Send.
    scene.manager.set_focus_set(None)
    frames(1)

    def click(rect):
        for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
            pygame.event.post(pygame.event.Event(kind, pos=rect.center, button=1))
        frames(2)

    click(scene.chat.entry.get_abs_rect())
    assert scene.chat.typing
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="hi"))
    frames(1)
    click(scene.chat.send_button.get_abs_rect())
    assert (P.DM_SEND, {"to": "mira", "text": "hi"}, "mira") in client.requests


def test_players_entering_and_leaving_our_area(world):
    """A host that only reports nearby players says who came into view and who left it."""
    scene, client, frames, clock = world
    sx, sy = scene.world.spawn
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 8, "name": "tala", "x": sx + 30, "y": sy}]})
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 9, "name": "pip", "x": sx - 30, "y": sy}]})
    frames(1)
    client.put("area", {"leave": [8], "enter": []})
    frames(1)
    assert scene.drawn_position(8) is None and scene.drawn_position(9) is not None
    assert {"name": "tala", "online": True} in scene.chat.players  # online, only out of view
    client.put("area", {"enter": [8, sx + 10, sy + 10], "leave": []})
    frames(1)
    assert scene.remotes[8].name == "tala" and scene.drawn_position(8) == (sx + 10, sy + 10)
    host_t = 5_000_000.0 + (clock[0] - 100.0) * 1000.0
    client.put(P.SNAPSHOT, {"tick": 1, "t": host_t, "p": [9, sx - 31, sy], "gone": [8]})
    frames(1)
    assert scene.drawn_position(8) is None and scene.drawn_position(9) is not None
    client.put("area", {"reset": True, "enter": [9, sx - 40, sy]})
    frames(1)
    assert set(scene.remotes) == {9}
