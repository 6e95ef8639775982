"""Looks in the real client: the picker on the register form, the "Your look"
editor on L, and other players drawn with their looks (a real host, real
scenes on a headless surface, posted input, a stepped clock)."""
from __future__ import annotations

import pygame
import pytest

from game.core import protocol as P
from game.client.scenes.login import LoginScene
from game.client.scenes.look import ROWS
from game.client.scenes.world import WorldScene
from game.client.net import HostClient

from .conftest import unique_name
from .helpers_client import PASSWORD, Game, account, enter_world

RED = P.Look("tan", "bun", "auburn", "red", "navy", "white")


@pytest.fixture
def game(tmp_path, host):
    g = Game(tmp_path, host.url)
    yield g
    g.close()


@pytest.fixture
def others(host):
    clients: list[HostClient] = []

    def make(look: P.Look | None = None) -> HostClient:
        client = HostClient(host.url, reconnect=False)
        client.register(unique_name("o"), PASSWORD, look)
        client.connect()
        client.welcome = client.wait_for(P.WELCOME).data
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def row_of(name: str) -> int:
    return [field for field, _ in ROWS].index(name)


def arrow(picker, row: int, step: int) -> tuple[int, int]:
    return next(rect.center for rect, r, s in picker._arrows if (r, s) == (row, step))


def shows_colour(surface: pygame.Surface, rect: pygame.Rect, colour) -> bool:
    rect = rect.clip(surface.get_rect())
    return any(surface.get_at((x, y))[:3] == tuple(colour)
               for y in range(rect.top, rect.bottom) for x in range(rect.left, rect.right))


def test_a_new_player_registers_with_the_look_they_picked(game, host, others):
    login = game.app.push(LoginScene())
    game.frames(2)
    picker = login.picker
    assert login.look_panel is not None and login.look_panel.contains(picker.rect)
    start = picker.look
    game.click(arrow(picker, row_of("shirt"), 1))
    game.click(arrow(picker, row_of("hair"), -1))
    shirts, hairs = P.LOOK_OPTIONS["shirt"], P.LOOK_OPTIONS["hair"]
    chosen = picker.look
    assert chosen.shirt == shirts[(shirts.index(start.shirt) + 1) % len(shirts)]
    assert chosen.hair == hairs[(hairs.index(start.hair) - 1) % len(hairs)]
    name = unique_name("pick")
    login.user_entry.set_text(name)
    login.password_entry.set_text(PASSWORD)
    game.click(login.register_button.get_abs_rect().center)
    game.until(lambda: isinstance(game.scene, WorldScene) and game.scene.me_id is not None,
               what="the world after registering")
    assert game.scene.me_look == chosen
    # Another player sees the look that was picked.
    bob = others()
    seen = {p["name"]: p["look"] for p in bob.welcome["players"]}
    assert seen[name] == chosen.as_dict()


def test_the_look_editor_saves_with_the_keyboard_and_others_see_it(game, host, others):
    scene = enter_world(game, host, account(host))
    bob = others()
    before = scene.me_look
    game.key(pygame.K_l)
    assert scene.look_editor.visible
    for _ in range(row_of("trousers")):
        game.key(pygame.K_DOWN)
    game.key(pygame.K_RIGHT)
    options = P.LOOK_OPTIONS["trousers"]
    wanted = before.replace("trousers", options[(options.index(before.trousers) + 1) % len(options)])
    assert scene.look_editor.picker.look == wanted
    assert scene.me_look == before  # nothing is sent before Save
    game.key(pygame.K_RETURN)
    game.until(lambda: not scene.look_editor.visible, what="the editor to close after saving")
    assert scene.me_look == wanted
    changed = bob.wait_for(P.LOOK_CHANGED, match=lambda d: d["id"] == scene.me_id)
    assert changed.data["look"] == wanted.as_dict()


def test_escape_cancels_and_arrow_keys_do_not_walk_while_editing(game, host):
    scene = enter_world(game, host, account(host))
    before, x, y = scene.me_look, scene.predictor.x, scene.predictor.y
    game.key(pygame.K_l)
    game.key(pygame.K_RIGHT, up=False)  # held: would walk right in the world
    game.frames(20, real_s=0)
    game.key(pygame.K_ESCAPE)
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT, mod=0, unicode="",
                                         scancode=0))
    game.frames(5, real_s=0)
    assert not scene.look_editor.visible
    assert scene.me_look == before
    assert (scene.predictor.x, scene.predictor.y) == (x, y)


def test_a_refusal_is_shown_in_the_editor(game, host):
    scene = enter_world(game, host, account(host))
    # Use up this minute's look changes from the same connection.
    for colour in P.CLOTHES_COLOURS[:P.LOOK_CHANGES_PER_WINDOW]:
        assert scene.client.call(P.SET_LOOK, scene.me_look.replace("shoes", colour).as_dict())["ok"]
    game.key(pygame.K_l)
    game.key(pygame.K_r)  # a random look
    game.key(pygame.K_RETURN)
    editor = scene.look_editor
    game.until(lambda: editor.message, what="the refusal")
    assert editor.visible and not editor.saving
    assert editor.message.startswith(f"At most {P.LOOK_CHANGES_PER_WINDOW} look changes")


def test_other_players_are_drawn_with_their_look_and_its_changes(game, host, others):
    scene = enter_world(game, host, account(host))
    bob = others(RED)
    bob_id = bob.session.user_id
    game.until(lambda: bob_id in scene.remotes and scene.drawn_position(bob_id) is not None,
               what="bob on screen")
    art = scene.avatars.chosen

    def bob_box() -> pygame.Rect:
        x, y = scene.camera.to_screen(*scene.drawn_position(bob_id))
        return pygame.Rect(scene.avatars.topleft(x, y), (scene.avatars.fw, scene.avatars.fh))

    game.frames(2)
    assert scene.remotes[bob_id].look == RED
    assert shows_colour(game.app.surface, bob_box(), art.colour(RED, "shirt"))
    lime = RED.replace("shirt", "lime")
    bob.call(P.SET_LOOK, lime.as_dict())
    game.until(lambda: scene.remotes[bob_id].look == lime, what="bob's new look")
    game.frames(2)
    assert shows_colour(game.app.surface, bob_box(), art.colour(lime, "shirt"))
    assert not shows_colour(game.app.surface, bob_box(), art.colour(RED, "shirt"))
