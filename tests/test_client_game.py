"""The game client against a real host: real scenes, a dummy video driver,
posted pygame events and a fake clock, for a bounded number of frames."""
from __future__ import annotations

import json
import time

import pygame
import pytest

from game.core import protocol as P
from game.core import rules
from game.client.scenes.login import LoginScene
from game.client.scenes.world import WorldScene
from game.client.net import HostClient

from .conftest import unique_name
from .helpers_client import PASSWORD, Game, account, enter_world


@pytest.fixture
def game(tmp_path, host):
    g = Game(tmp_path, host.url)
    yield g
    g.close()


# -- login --------------------------------------------------------------------------------
def test_log_in_through_the_form(game, host):
    name = account(host)
    login = game.app.push(LoginScene())
    game.frames(2)
    assert login.server_entry.get_text() == host.url
    assert login.user_entry.is_focused  # no remembered name: start there
    game.type(name)
    game.key(pygame.K_TAB)
    assert login.password_entry.is_focused
    game.type(PASSWORD)
    game.key(pygame.K_TAB, mod=pygame.KMOD_SHIFT)
    assert login.user_entry.is_focused  # Shift+Tab goes back
    game.key(pygame.K_RETURN)
    game.until(lambda: isinstance(game.scene, WorldScene) and game.scene.me_id is not None,
               what="the world after logging in")
    assert game.scene.me_name == name
    game.frames(3)
    saved = json.loads(game.settings_path.read_text())
    assert (saved["server"], saved["username"]) == (host.url, name)
    assert not any("password" in key for key in saved)  # never the password


def test_login_errors_are_shown_in_words(game, host):
    name = account(host)
    login = game.app.push(LoginScene(username=name))
    game.frames(1)
    assert login.password_entry.is_focused  # remembered name: straight to the password
    game.type("not-the-password")
    game.key(pygame.K_RETURN)
    game.until(lambda: login.message, what="an error")
    assert login.message == "Wrong username or password."

    game.click(login.register_button.get_abs_rect().center)
    game.until(lambda: login.message.startswith("That name is taken"), what="name taken")

    login.server_entry.set_text("http://127.0.0.1:9")  # nothing listens there
    game.key(pygame.K_RETURN)
    game.until(lambda: login.message.startswith("Can't reach a host"), what="unreachable")
    assert isinstance(game.scene, LoginScene)


# -- the world ----------------------------------------------------------------------------
def walk_line(world: rules.WorldMap, x: float, y: float, steps: int) -> list[tuple[float, float]]:
    """Positions 20 Hz apart walking in the first open direction from (x, y)."""
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        points, px, py = [], x, y
        for _ in range(steps):
            px, py = rules.step(world, px, py, dx, dy, 0.05)
            points.append((px, py))
        if abs(points[-1][0] - x) + abs(points[-1][1] - y) > steps * 7:
            return points
    raise AssertionError("nowhere to walk")


def test_remote_player_is_drawn_following_its_moves(game, host, make_player):
    scene = enter_world(game, host, account(host))
    bob = make_player()
    bob_id = bob.session.user_id
    game.until(lambda: scene.drawn_position(bob_id) is not None, what="bob to appear")
    start = scene.drawn_position(bob_id)
    path = walk_line(rules.load_world(), *start, steps=16)
    seen = []
    for x, y in path:
        bob.send_move(x, y)
        game.frames(3)
        seen.append(scene.drawn_position(bob_id))
    end = path[-1]
    game.until(lambda: scene.drawn_position(bob_id) == pytest.approx(end, abs=0.2),
               what="bob's avatar to reach the end of the walk")
    # The drawn avatar glided: it passed through in-between points, moving one way.
    axis = 0 if abs(end[0] - start[0]) > abs(end[1] - start[1]) else 1
    track = [p[axis] for p in seen]
    sign = 1 if end[axis] > start[axis] else -1
    assert all(sign * (b - a) >= -0.01 for a, b in zip(track, track[1:]))
    assert len({round(v) for v in track}) > 8

    # Clicking bob's avatar opens a conversation with him.
    sx, sy = scene.camera.to_screen(*end)
    game.click((sx, sy - 10))
    assert scene.chat.visible and scene.chat.peer == bob.session.name

    bob.close()
    game.until(lambda: scene.drawn_position(bob_id) is None, what="bob to vanish")


def test_own_avatar_walks_at_once_and_the_host_accepts_it(game, host, make_player):
    name = account(host)
    scene = enter_world(game, host, name)
    start = (scene.predictor.x, scene.predictor.y)
    watcher = make_player()
    path = walk_line(rules.load_world(), *start, steps=10)
    dx, dy = path[-1][0] - start[0], path[-1][1] - start[1]
    key = {(1, 0): pygame.K_d, (-1, 0): pygame.K_a, (0, 1): pygame.K_s, (0, -1): pygame.K_w}[
        (int(dx > 0) - int(dx < 0) if abs(dx) > abs(dy) else 0,
         int(dy > 0) - int(dy < 0) if abs(dy) >= abs(dx) else 0)]
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
    game.frames(1)
    assert (scene.predictor.x, scene.predictor.y) != start  # moved on the first frame
    game.frames(29)
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))
    game.frames(10)
    walked = abs(scene.predictor.x - start[0]) + abs(scene.predictor.y - start[1])
    assert 60 <= walked <= rules.WALK_SPEED * 31 / 60 + 1  # about half a second of walking
    final = (scene.predictor.x, scene.predictor.y)
    me = scene.me_id

    def watcher_sees_final():
        for event in watcher.drain():
            if event.kind == P.SNAPSHOT:
                for pid, x, y in P.unpack_positions(event.data["p"]):
                    if pid == me and (x, y) == pytest.approx(final, abs=0.1):
                        return True
        return False

    deadline = time.monotonic() + 5
    while not watcher_sees_final():
        assert time.monotonic() < deadline, "the host never accepted the final position"
        time.sleep(0.02)
    assert scene.predictor.ignore_upto == -1  # no corrections were needed


def test_a_correction_eases_the_avatar_back(game, host):
    scene = enter_world(game, host, account(host))
    x, y = scene.predictor.x, scene.predictor.y
    scene.predictor.place(x + 120, y)  # pretend we predicted a walk the host refuses
    scene.sender.last_at = -1.0
    game.until(lambda: scene.predictor.ignore_upto > 0, what="a correction")
    assert (scene.predictor.x, scene.predictor.y) == pytest.approx((x, y), abs=0.1)
    drawn_x = scene.predictor.drawn()[0]
    assert drawn_x > x + 60  # still drawn near where it was: it eases back
    game.frames(40, real_s=0)
    assert scene.predictor.drawn()[0] == pytest.approx(x, abs=1.0)


# -- chat ---------------------------------------------------------------------------------
def row_centre(chat, name: str) -> tuple[int, int]:
    index = [p["name"] for p in chat.players].index(name)
    return chat.list_rect.centerx, chat.list_rect.y + index * 30 + 15


def test_send_a_dm_from_the_panel_and_see_the_reply(game, host, make_player):
    name = account(host)
    scene = enter_world(game, host, name)
    bob = make_player()
    bob_name = bob.session.name
    game.key(pygame.K_TAB)
    chat = scene.chat
    assert chat.visible
    game.until(lambda: any(p["name"] == bob_name and p["online"] for p in chat.players),
               what="bob in the players list")
    assert chat.players[0]["online"]  # online players first
    game.click(row_centre(chat, bob_name))
    game.until(lambda: chat.peer == bob_name and not chat.opening, what="the conversation")
    assert chat.typing  # the text box has the focus
    before = (scene.predictor.x, scene.predictor.y)
    game.key(pygame.K_d, up=False)  # typing, not walking
    game.type("hi bob, wasd")
    game.frames(10, real_s=0)
    assert (scene.predictor.x, scene.predictor.y) == before
    game.key(pygame.K_RETURN)
    got = bob.wait_for(P.DM_UNREAD, timeout=5)
    assert got.data["peer"] == name
    assert got.data["message"]["text"] == "hi bob, wasd"
    game.until(lambda: any(m.get("text") == "hi bob, wasd" for m in chat.items),
               what="our message in the conversation")
    assert chat.entry.get_text() == ""

    bob.call(P.DM_OPEN, {"peer": name})
    game.until(lambda: chat.peer_here, what="bob entering the conversation")
    assert any("entered" in m.get("system", "") for m in chat.items)
    bob.call(P.DM_SEND, {"to": name, "text": "hello back"})
    game.until(lambda: any(m.get("text") == "hello back" for m in chat.items),
               what="bob's reply, at once")
    assert chat.unread.get(bob_name, 0) == 0

    game.key(pygame.K_ESCAPE)
    assert not chat.typing

    # Hiding the panel leaves the conversation: bob's next message raises the badge.
    game.key(pygame.K_TAB)
    assert not chat.visible
    bob.wait_for(P.DM_PRESENCE, timeout=5, match=lambda d: d["state"] == "left")
    bob.call(P.DM_SEND, {"to": name, "text": "still there?"})
    game.until(lambda: chat.unread.get(bob_name) == 1, what="the badge for bob")
    assert "1" in chat.toggle_button.text
    game.key(pygame.K_TAB)  # back in: the message is there and the badge is gone
    game.until(lambda: any(m.get("text") == "still there?" for m in chat.items),
               what="the message after re-entering")
    assert chat.unread.get(bob_name, 0) == 0


def test_unread_badge_counts_messages_in_a_closed_conversation(game, host, make_player):
    name = account(host)
    carol = make_player()
    carol.call(P.DM_SEND, {"to": name, "text": "are you there?"})  # sent while offline
    scene = enter_world(game, host, name)
    chat = scene.chat
    carol_name = carol.session.name
    assert chat.unread.get(carol_name) == 1  # from the welcome
    for i in range(2):
        carol.call(P.DM_SEND, {"to": name, "text": f"ping {i}"})
    game.until(lambda: chat.unread.get(carol_name) == 3, what="the badge to count 3")
    assert "3" in chat.toggle_button.text
    game.key(pygame.K_TAB)
    game.until(lambda: any(p["name"] == carol_name for p in chat.players), what="directory")
    game.frames(1)
    game.click(row_centre(chat, carol_name))
    game.until(lambda: not chat.opening and len([m for m in chat.items if "id" in m]) == 3,
               what="the history")
    assert chat.unread.get(carol_name, 0) == 0


def test_scrolling_up_loads_older_pages(game):
    """The panel asks for the page before its oldest message when scrolled to the top."""
    from game.client import theme
    from game.client.widgets.chat import ChatPanel

    asked = []
    chat = ChatPanel(theme.make_manager((1024, 720)), "me",
                     lambda event, payload, tag: asked.append((event, payload, tag)))
    chat.set_visible(True)
    chat.set_directory([{"name": "dave", "online": True}])
    chat.open("dave")
    assert asked[-1] == (P.DM_OPEN, {"peer": "dave"}, "dave")

    def msgs(lo, hi):
        return [{"id": i, "from": "dave", "to": "me", "text": f"message {i}", "sent_at": 0}
                for i in range(lo, hi)]

    chat.on_answer(P.DM_OPEN, "dave", {"ok": True, "messages": msgs(51, 101), "has_more": True,
                                       "peer_online": True, "peer_present": False})
    assert chat.scroll == 0 and chat.max_scroll() > 0  # newest at the bottom
    chat.scroll_messages(40)
    assert asked[-1][0] == P.DM_OPEN  # not at the top yet: nothing asked
    chat.scroll_messages(100_000)
    assert asked[-1] == (P.DM_HISTORY, {"peer": "dave", "before_id": 51,
                                         "limit": P.HISTORY_PAGE_DEFAULT}, "dave")
    chat.scroll_messages(100_000)
    assert [a[0] for a in asked].count(P.DM_HISTORY) == 1  # one request at a time
    top_before = chat.scroll
    chat.on_answer(P.DM_HISTORY, "dave", {"ok": True, "messages": msgs(1, 51), "has_more": False})
    assert [m["id"] for m in chat.items] == list(range(1, 101))
    assert chat.scroll == top_before  # the view stays on the messages being read


def test_logging_in_elsewhere_returns_to_the_login_screen(game, host):
    name = account(host)
    enter_world(game, host, name)
    other = HostClient(host.url, reconnect=False)
    other.login(name, PASSWORD)
    other.connect()
    try:
        game.until(lambda: isinstance(game.scene, LoginScene), what="the login screen")
        assert "logged in somewhere else" in game.scene.message
    finally:
        other.close()


def test_reconnects_by_itself_after_the_host_restarts(tmp_path):
    """The indicator says "reconnecting" while the host is away; then play goes on
    from where the player stood."""
    from game.client.host_process import HostProcess

    db = tmp_path / "restart.db"
    first = HostProcess(db).start()
    g = Game(tmp_path, first.url)
    try:
        name = unique_name("r")
        HostClient(first.url, reconnect=False).register(name, PASSWORD)
        scene = enter_world(g, first, name)
        start = (scene.predictor.x, scene.predictor.y)
        first.kill()  # the connection drops without a goodbye
        g.until(lambda: scene.status.state == "reconnecting", what="reconnecting")
        assert "Reconnecting" in scene.status.text()
        second = HostProcess(db, port=first.port).start()
        try:
            g.until(lambda: scene.status.state == "online", timeout=15, what="back online")
            assert isinstance(g.scene, WorldScene) and g.scene is scene
            assert (scene.predictor.x, scene.predictor.y) == pytest.approx(start, abs=0.5)
        finally:
            g.close()
            second.kill()
    finally:
        g.close()
        first.kill()


def test_the_login_screen_follows_a_window_resize(game):
    login = game.app.push(LoginScene())
    game.frames(1, real_s=0)
    pygame.display.set_mode((800, 600), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(800, 600), w=800, h=600))
    game.frames(1, real_s=0)
    assert game.app.surface.get_size() == (800, 600)
    assert login.card.center == (400, 300)
    assert login.card.contains(login.login_button.get_abs_rect())
