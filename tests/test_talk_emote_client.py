"""Emotes, typing and away in the game, on a headless surface (SDL dummy driver).

The icons are pixel art drawn in code (checked by their colours and shapes);
the world scene sends an emote for the number keys, draws one beside the
emoter's name tag for EMOTE_SHOW_S and the sleep emote over an away player;
it says it is away after AWAY_AFTER_S without input and back at the next key;
the chat panel sends typing as the keys go, shows "NAME is typing…" and
clears it after TYPING_EXPIRE_S; the players list dims an away player's dot.
"""
from __future__ import annotations

import pygame
import pygame_gui
import pytest

from game.client import theme
from game.client.net import ANSWER
from game.client.typing_state import TypingBoard, TypingSender
from game.client.widgets import emotes as E
from game.client.widgets.chat import ChatPanel
from game.client.widgets.chat_players import AWAY_DOT
from game.core import protocol as P

from .helpers_client import world  # noqa: F401  (fixture)

REMOTE = 2


def colour_count(surface: pygame.Surface, colour, rect: pygame.Rect | None = None) -> int:
    rect = (rect or surface.get_rect()).clip(surface.get_rect())
    return sum(1 for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)
               if tuple(surface.get_at((x, y)))[:3] == tuple(colour))


def glyph_colour(emote: str):
    return next(iter(E.GLYPHS[emote][1].values()))


# -- the icons ------------------------------------------------------------------------------
def test_every_emote_has_a_distinct_pixel_art_icon():
    pygame.init()
    assert tuple(E.GLYPHS) == P.EMOTES
    drawn = {}
    for emote in P.EMOTES:
        rows, colours = E.GLYPHS[emote]
        assert len(rows) == 7 and all(len(r) == 7 for r in rows)
        icon = E.draw_icon(emote, scale=1)
        assert icon.get_size() == (E.GRID, E.GRID + E.TAIL_ROWS)
        # Each pixel of the glyph is where the pattern says, in its colour.
        for y, row in enumerate(rows):
            for x, ch in enumerate(row):
                want = colours[ch] if ch != "." else E.BUBBLE
                assert tuple(icon.get_at((2 + x, 2 + y)))[:3] == want, (emote, x, y)
        assert tuple(icon.get_at((0, 0)))[3] == 0  # a rounded corner
        assert tuple(icon.get_at((5, 0)))[:3] == E.OUTLINE
        drawn[emote] = pygame.image.tobytes(icon, "RGBA")
    assert len(set(drawn.values())) == len(P.EMOTES)
    big = E.draw_icon("heart")
    assert big.get_size() == (E.GRID * E.ICON_SCALE, (E.GRID + E.TAIL_ROWS) * E.ICON_SCALE)


def test_emotes_last_their_time_and_away_shows_sleep():
    now = [10.0]
    board = E.Emotes(lambda: now[0])
    assert not board.on_emoted({"from": REMOTE, "emote": "dance"})
    assert not board.on_emoted({"from": "2", "emote": "wave"})
    assert board.on_emoted({"from": REMOTE, "emote": "wave"})
    assert board.current(REMOTE)[0] == "wave"
    tag = pygame.Rect(100, 50, 40, 16)
    (icon, rect), = board.blits([(REMOTE, tag), (3, tag)])
    assert rect.left == tag.right + E.GAP_PX and rect.bottom >= tag.bottom
    now[0] += P.EMOTE_SHOW_S - 0.1
    emote, alpha, _ = board.current(REMOTE)
    assert emote == "wave" and alpha < 255  # fading out
    now[0] += 0.2
    assert board.current(REMOTE) is None and board.blits([(REMOTE, tag)]) == []
    board.note_players([{"id": REMOTE, "away": True}, {"id": 3, "away": False}])
    assert board.current(REMOTE) == ("sleep", 255, 0) and board.current(3) is None
    board.on_emoted({"from": REMOTE, "emote": "heart"})  # an emote shows over the sleep
    assert board.current(REMOTE)[0] == "heart"
    board.forget(REMOTE)
    assert board.current(REMOTE) is None


# -- the world scene -----------------------------------------------------------------------------
def join_near(scene, client, frames):
    x, y = scene.predictor.x, scene.predictor.y
    client.put(P.PLAYERS_JOINED, {"players": [{"id": REMOTE, "name": "bob", "x": x + 60, "y": y,
                                               "map": scene.map_name, "role": "player",
                                               "away": False}]})
    frames(3)
    assert REMOTE in scene.remotes


def test_number_keys_send_emotes_and_an_emote_is_drawn_beside_the_tag(world):  # noqa: F811
    scene, client, frames, clock = world
    join_near(scene, client, frames)
    for key, emote in ((pygame.K_1, "wave"), (pygame.K_6, "sleep"), (pygame.K_KP2, "heart")):
        scene.handle_event(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="",
                                              scancode=0))
        assert client.requests[-1] == (P.EMOTE, {"emote": emote}, None)
    surface = scene.app.surface
    red = glyph_colour("heart")
    frames(1)
    assert colour_count(surface, red) == 0
    client.put(P.EMOTED, {"from": REMOTE, "name": "bob", "emote": "heart"})
    frames(int(E.POP_S / (1 / 60)) + 2)
    heart = colour_count(surface, red)
    assert heart >= 20 * E.ICON_SCALE ** 2
    # Beside bob's head: right of his name tag, not over our own avatar.
    sx, sy = scene.camera.to_screen(*scene.drawn_position(REMOTE))
    near = pygame.Rect(sx, sy - 70, 80, 70)
    assert colour_count(surface, red, near) == heart
    clock[0] += P.EMOTE_SHOW_S
    frames(1)
    assert colour_count(surface, red) == 0


def test_typing_keys_in_the_chat_do_not_emote(world):  # noqa: F811
    scene, client, frames, clock = world
    join_near(scene, client, frames)
    scene.chat.show_conversation("bob")
    frames(1)
    assert scene.chat.typing
    sent = len(client.requests)
    scene.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_1, mod=0, unicode="1",
                                          scancode=0))
    assert not any(r[0] == P.EMOTE for r in client.requests[sent:])


def test_idle_minutes_make_us_away_and_any_key_brings_us_back(world):  # noqa: F811
    scene, client, frames, clock = world
    join_near(scene, client, frames)
    away = lambda: [r[1] for r in client.requests if r[0] == P.AWAY]  # noqa: E731
    clock[0] += P.AWAY_AFTER_S - 5
    frames(1)
    assert away() == []
    clock[0] += 6
    frames(1)
    assert away() == [{"away": True}]
    frames(5)
    assert away() == [{"away": True}]  # said once
    # The host's word draws the sleep emote over us.
    purple = glyph_colour("sleep")
    client.put(P.PLAYER_AWAY, {"id": 1, "name": "me", "away": True})
    frames(1)
    assert colour_count(scene.app.surface, purple) > 0
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(5, 5), rel=(1, 1), buttons=(0, 0, 0)))
    frames(1)
    assert away() == [{"away": True}, {"away": False}]
    client.put(P.PLAYER_AWAY, {"id": 1, "name": "me", "away": False})
    client.put(P.PLAYER_AWAY, {"id": REMOTE, "name": "bob", "away": True})
    frames(1)
    sx, sy = scene.camera.to_screen(*scene.drawn_position(REMOTE))
    assert colour_count(scene.app.surface, purple, pygame.Rect(sx, sy - 70, 80, 70)) > 0


def test_walking_with_a_key_held_is_not_idle(world):  # noqa: F811
    scene, client, frames, clock = world
    scene.held.add("right")
    clock[0] += P.AWAY_AFTER_S + 1
    frames(1)
    scene.held.clear()
    assert not any(r[0] == P.AWAY for r in client.requests)


# -- typing ----------------------------------------------------------------------------------
def test_the_typing_sender_keeps_to_its_rules():
    s = TypingSender()
    assert s.update(0.0, "bob", "", False) == []
    assert s.update(0.1, "bob", "h", True) == [("bob", True)]
    assert s.update(1.0, "bob", "he", True) == []  # not again before TYPING_REFRESH_S
    assert s.update(0.1 + P.TYPING_REFRESH_S, "bob", "hel", True) == [("bob", True)]
    t = 0.1 + P.TYPING_REFRESH_S
    assert s.update(t + P.TYPING_IDLE_S - 0.1, "bob", "hel", False) == []
    assert s.update(t + P.TYPING_IDLE_S, "bob", "hel", False) == [("bob", False)]
    assert s.update(t + 10, "bob", "hell", True) == [("bob", True)]
    assert s.update(t + 10.1, "bob", "", True) == [("bob", False)]  # sent: the box emptied
    s.update(t + 11, "bob", "x", True)
    assert s.update(t + 11.1, "carol", "x", True) == [("bob", False), ("carol", True)]
    assert s.update(t + 11.2, None, "x", False) == [("carol", False)]  # left the conversation
    assert s.stop() == []


def test_the_typing_board_forgets_after_the_timeout():
    b = TypingBoard()
    b.on_typing("bob", True, 10.0)
    assert b.is_typing("bob", 10.0 + P.TYPING_EXPIRE_S - 0.1)
    assert not b.is_typing("bob", 10.0 + P.TYPING_EXPIRE_S)
    b.on_typing("bob", True, 20.0)
    b.on_typing("bob", False, 21.0)
    assert not b.is_typing("bob", 21.0)


class Wired:
    def __init__(self):
        pygame.init()
        pygame.display.set_mode((1024, 720))
        self.now = [100.0]
        self.sent: list[tuple] = []
        self.panel = ChatPanel(theme.make_manager((1024, 720)), "me",
                               lambda event, payload, tag: self.sent.append((event, payload, tag)),
                               clock=lambda: self.now[0])
        self.panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me", "away": False},
                                      "players": [{"id": 2, "name": "bob", "away": False},
                                                  {"id": 3, "name": "carol", "away": True}],
                                      "unread": {}, "blocked": []})
        self.panel.on_net(ANSWER, {"event": P.DIRECTORY, "tag": None, "reply": {
            "ok": True, "players": [{"name": "bob", "online": True},
                                    {"name": "carol", "online": True}]}})

    def draw(self) -> pygame.Surface:
        surface = pygame.Surface((1024, 720))
        self.panel.manager.update(0.01)
        self.panel.draw(surface)
        return surface

    def typing_line(self) -> pygame.Rect:
        entry = self.panel.entry_rect
        return pygame.Rect(self.panel.rect.x + 10, entry.y - 20, self.panel.rect.width - 20, 18)


def ink(surface: pygame.Surface, rect: pygame.Rect) -> int:
    return sum(1 for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)
               if tuple(surface.get_at((x, y)))[:3] != theme.PANEL)


def test_typing_in_a_conversation_tells_the_peer_by_id():
    w = Wired()
    panel = w.panel
    panel.show_conversation("bob")
    panel.entry.set_text("hello")
    panel.handle_event(pygame.event.Event(pygame_gui.UI_TEXT_ENTRY_CHANGED,
                                          {"ui_element": panel.entry, "text": "hello"}))
    panel.update(0.016)
    assert (P.TYPING, {"to": 2, "typing": True}, None) in w.sent
    assert panel.send()
    panel.update(0.016)
    assert w.sent[-1] == (P.TYPING, {"to": 2, "typing": False}, None)


def test_typing_line_is_shown_and_cleared_after_the_timeout():
    w = Wired()
    panel = w.panel
    panel.show_conversation("bob")
    line = w.typing_line()
    assert ink(w.draw(), line) == 0
    assert panel.on_net(P.TYPING, {"from": 2, "name": "bob", "typing": True})
    shown = ink(w.draw(), line)
    assert shown > 50
    # Only in bob's conversation.
    panel.open("carol")
    assert ink(w.draw(), line) == 0
    panel.open("bob")
    assert ink(w.draw(), line) == shown
    w.now[0] += P.TYPING_EXPIRE_S
    assert ink(w.draw(), line) == 0  # a lost "false" does not stick
    panel.on_net(P.TYPING, {"from": 2, "name": "bob", "typing": True})
    panel.on_net(P.DM_MESSAGE, {"id": 1, "from": "bob", "to": "me", "text": "hi",
                                "sent_at": 0})
    assert ink(w.draw(), line) == 0  # the message is here


def test_an_away_players_dot_is_dimmed():
    w = Wired()
    panel = w.panel
    panel.set_visible(True)
    surface = w.draw()
    rows = {p["name"]: i for i, p in enumerate(panel.players)}
    area = panel.list_rect

    def dot(name: str):
        y = area.y + rows[name] * 30 + 14
        return tuple(surface.get_at((area.x + 6 + 14, y)))[:3]

    assert dot("carol") == AWAY_DOT and dot("bob") == theme.GOOD
    panel.on_net(P.PLAYER_AWAY, {"id": 2, "name": "bob", "away": True})
    panel.on_net(P.PLAYER_AWAY, {"id": 3, "name": "carol", "away": False})
    surface = w.draw()
    assert dot("bob") == AWAY_DOT and dot("carol") == theme.GOOD


@pytest.mark.parametrize("bad", [{"emote": "dance"}, {"from": None, "emote": "wave"}])
def test_an_emote_the_client_cannot_show_changes_nothing(world, bad):  # noqa: F811
    scene, client, frames, clock = world
    client.put(P.EMOTED, bad)
    frames(1)
    assert scene.emotes.shown == {}
