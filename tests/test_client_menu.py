"""The Escape menu, the window (title, icon, minimum size, F11) and what the
status says about who is around: real scenes on a dummy video driver, a
stand-in client where the host does not matter, a real host for logging out."""
from __future__ import annotations

import time

import pygame
import pytest
import requests

from game.core import protocol as P
from game.core import rules
from game.client.app import CAPTION, ICON_PATH, MIN_SIZE, Display
from game.client.scenes.login import LoginScene
from game.client.scenes.menu import MenuScene
from game.client.scenes.world import WorldScene
from game.client.settings import Settings
from game.client.net import HostClient

from .conftest import unique_name
from .helpers_client import PASSWORD, Harness, StandIn


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


@pytest.fixture
def world(harness):
    client = StandIn()
    return harness, harness.enter_world(client), client


# -- the menu -------------------------------------------------------------------------------
def test_escape_stops_typing_then_hides_the_chat_then_opens_the_menu(world):
    h, scene, _ = world
    scene.chat.set_visible(True)
    scene.chat.open("bob")
    h.frames(1)
    assert scene.chat.typing
    h.key(pygame.K_ESCAPE)
    assert not scene.chat.typing and scene.chat.visible and h.app.scene is scene
    h.key(pygame.K_ESCAPE)
    assert not scene.chat.visible and h.app.scene is scene
    h.key(pygame.K_ESCAPE)
    assert isinstance(h.app.scene, MenuScene)
    h.key(pygame.K_ESCAPE)  # Escape again: back to the game
    assert h.app.scene is scene and h.app.stack == [scene]


def test_the_world_goes_on_under_the_menu_and_the_avatar_stops(world):
    h, scene, client = world
    key = next(k for k, d in ((pygame.K_d, (1, 0)), (pygame.K_a, (-1, 0)), (pygame.K_s, (0, 1)))
               if rules.step(scene.world, scene.predictor.x, scene.predictor.y, *d, 0.5)
               != (scene.predictor.x, scene.predictor.y))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    h.frames(10)
    assert client.moves  # walking
    h.key(pygame.K_ESCAPE)
    assert isinstance(h.app.scene, MenuScene)
    h.frames(30)  # the key is still held down, but the menu has the keyboard now
    walked = len(client.moves)
    h.frames(30)
    assert len(client.moves) == walked
    x, y = scene.predictor.x + 40, scene.predictor.y
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 7, "name": "bob", "x": x, "y": y}]})
    h.frames(2)
    assert 7 in scene.remotes  # the network is still drained under the menu
    assert "2 players" in scene.status.text()


def test_menu_by_mouse_and_keyboard_resume_and_quit(world):
    h, scene, _ = world
    h.key(pygame.K_ESCAPE)
    menu = h.app.scene
    h.frames(1)
    resume = menu.rects[0]
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=resume.center, button=1))
    h.frames(1)
    assert h.app.scene is scene
    h.key(pygame.K_ESCAPE)
    for _ in range(3):
        h.key(pygame.K_DOWN)
    assert h.app.scene.items()[h.app.scene.selected].key == "quit"
    h.key(pygame.K_RETURN)
    assert not h.app.running


def test_settings_change_at_once_and_are_saved(world):
    h, scene, _ = world
    h.key(pygame.K_ESCAPE)
    h.key(pygame.K_DOWN)
    h.key(pygame.K_RETURN)  # Settings
    menu = h.app.scene
    assert [i.key for i in menu.items()] == ["display", "volume", "mute", "look", "delete", "back"]
    h.key(pygame.K_RETURN)  # Display: Window -> Fullscreen
    assert h.display.fullscreen and Settings.load(h.settings_path).fullscreen
    assert h.app.surface.get_size() == pygame.display.get_surface().get_size()
    h.key(pygame.K_LEFT)  # and back
    assert not h.display.fullscreen and h.app.surface.get_size() == (1024, 720)
    h.key(pygame.K_DOWN)  # Volume
    h.key(pygame.K_LEFT)
    h.key(pygame.K_LEFT)
    assert Settings.load(h.settings_path).volume == pytest.approx(0.4)
    assert h.sound.volume == pytest.approx(0.4)
    h.frames(1)
    bar = menu.slider_rect  # a click on the bar sets the volume where it lands
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1,
                                         pos=(bar.x + bar.width * 3 // 4, bar.centery)))
    h.frames(1)
    assert Settings.load(h.settings_path).volume == pytest.approx(0.75, abs=0.01)
    h.key(pygame.K_DOWN)  # Sound: muted (the harness starts muted) -> on -> muted
    h.key(pygame.K_RETURN)
    assert not h.sound.muted and not Settings.load(h.settings_path).muted
    h.key(pygame.K_RETURN)
    assert h.sound.muted and Settings.load(h.settings_path).muted
    h.key(pygame.K_ESCAPE)  # back to the main page, then to the game
    assert h.app.scene.page == "main"
    h.key(pygame.K_ESCAPE)
    assert h.app.scene is scene


def test_your_look_in_the_settings_opens_the_look_editor_over_the_world(world):
    h, scene, _ = world
    h.key(pygame.K_ESCAPE)
    h.key(pygame.K_DOWN)
    h.key(pygame.K_RETURN)  # Settings
    for _ in range(3):
        h.key(pygame.K_DOWN)
    assert h.app.scene.items()[h.app.scene.selected].key == "look"
    assert not scene.look_editor.visible
    h.key(pygame.K_RETURN)
    assert h.app.scene is scene and scene.look_editor.visible
    h.key(pygame.K_ESCAPE)  # cancels the editor, back to walking
    assert not scene.look_editor.visible and h.app.scene is scene


def test_log_out_by_the_menu_in_a_finished_world_never_reaches_it(world):
    h, scene, client = world
    h.key(pygame.K_ESCAPE)
    h.key(pygame.K_DOWN)
    h.key(pygame.K_DOWN)
    h.key(pygame.K_RETURN)  # Log out
    assert isinstance(h.app.scene, LoginScene) and len(h.app.stack) == 1
    assert h.app.scene.message == "You logged out."
    assert scene.ended
    assert pygame.display.get_caption()[0] == CAPTION


def test_the_host_ending_the_session_under_the_menu_goes_to_the_login(world):
    h, scene, client = world
    h.key(pygame.K_ESCAPE)
    client.put(P.SESSION_ENDED, {"reason": P.END_REPLACED})
    h.frames(2)
    assert isinstance(h.app.scene, LoginScene) and len(h.app.stack) == 1


def test_log_out_revokes_the_session_on_a_real_host(tmp_path, host):
    h = Harness(tmp_path)
    try:
        client = HostClient(host.url)
        client.register(unique_name("lo"), PASSWORD)
        token = client.session.token
        client.connect()
        scene = h.app.push(WorldScene(client))
        deadline = time.monotonic() + 10
        while scene.me_id is None and time.monotonic() < deadline:
            h.frames(1)
            time.sleep(0.01)
        assert scene.me_id is not None
        h.key(pygame.K_ESCAPE)
        menu = h.app.scene
        menu.activate("logout")
        assert isinstance(h.app.scene, LoginScene)

        def revoked() -> bool:
            reply = requests.post(host.url + P.HTTP_LOGOUT,
                                  headers={"Authorization": f"Bearer {token}"}, timeout=5)
            return reply.status_code == 401

        deadline = time.monotonic() + 10
        while not revoked():
            assert time.monotonic() < deadline, "the session was not revoked"
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while client.connected:
            assert time.monotonic() < deadline, "still connected"
            time.sleep(0.05)
    finally:
        h.close()


# -- the window -------------------------------------------------------------------------------
def test_the_window_has_a_title_an_icon_and_a_minimum_size(tmp_path):
    pygame.display.init()
    display = Display((300, 200))
    surface = display.open()
    assert surface.get_size() == MIN_SIZE  # a smaller size asked for is raised to the minimum
    assert pygame.display.get_caption()[0] == "Pixel Commons"
    with pytest.warns(DeprecationWarning):
        window = pygame.Window.from_display_module()
    assert window.minimum_size == MIN_SIZE
    assert pygame.image.load(str(ICON_PATH)).get_size() == (64, 64)
    display.resized((500, 300))  # a window manager that ignores the minimum
    assert display.window_size == MIN_SIZE


def test_f11_toggles_fullscreen_and_back_to_the_same_window(harness):
    h = harness
    Display.set_caption("Pixel Commons · mira")
    h.key(pygame.K_F11)
    assert h.display.fullscreen and Settings.load(h.settings_path).fullscreen
    assert pygame.display.get_surface().get_flags() & pygame.FULLSCREEN
    assert pygame.display.get_caption()[0] == "Pixel Commons · mira"
    h.key(pygame.K_F11)
    assert not h.display.fullscreen and not Settings.load(h.settings_path).fullscreen
    assert pygame.display.get_surface().get_size() == (1024, 720)


def test_at_the_minimum_size_the_chat_button_clears_the_status(tmp_path):
    h = Harness(tmp_path, size=MIN_SIZE)
    try:
        client = StandIn()
        scene = h.enter_world(client)
        scene.status.set_ping(1234)
        for pid in range(2, 200):  # a busy world, 150 around us
            x = scene.predictor.x + (pid % 15) * 8 if pid < 152 else 10_000
            client.put(P.PLAYERS_JOINED, {"players": [
                {"id": pid, "name": f"p{pid}", "x": x, "y": scene.predictor.y}]})
        h.frames(2)
        assert scene.status.text() == "Online  ·  1234 ms  ·  199 players  ·  150 near you"
        for visible in (False, True):
            scene.chat.set_visible(visible)
            h.frames(1)
            status = scene.status.draw(h.app.surface)
            button = scene.chat.toggle_button.get_abs_rect()
            assert status.right < button.left, (visible, status, button)
            assert button.right <= h.app.surface.get_width()
    finally:
        h.close()


# -- who is around ------------------------------------------------------------------------------
def test_the_status_counts_the_world_and_the_players_near_you_apart(world):
    h, scene, client = world
    x, y = scene.predictor.x, scene.predictor.y
    assert scene.status.text().endswith("only you in the world")
    for pid in range(2, 23):  # 21 others: 10 next to us, 11 far away
        far = pid >= 12
        client.put(P.PLAYERS_JOINED, {"players": [{"id": pid, "name": f"p{pid}",
                                     "x": x + (2000 if far else 30), "y": y}]})
    h.frames(2)
    assert scene.status.text().endswith("22 players  ·  10 near you")
    client.put(P.PLAYERS_LEFT, {"ids": [2], "names": ["p2"]})
    client.put(P.PLAYERS_LEFT, {"ids": [20], "names": ["p20"]})
    h.frames(2)
    assert scene.status.text().endswith("20 players  ·  9 near you")


def test_the_size_flag_refuses_a_window_below_the_minimum():
    import argparse

    import main

    assert (main.MIN_W, main.MIN_H) == MIN_SIZE
    assert main.window_size(f"{MIN_SIZE[0]}x{MIN_SIZE[1]}") == MIN_SIZE
    with pytest.raises(argparse.ArgumentTypeError, match="at least 880x560"):
        main.window_size("800x600")
