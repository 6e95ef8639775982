"""Lines said aloud on the client: speech bubbles drawn on a headless surface
(checked by their pixels), the world scene putting them over the speaker,
and the chat panel's Nearby conversation."""
from __future__ import annotations

import pygame
import pytest

from game.core import protocol as P
from game.client import theme
from game.client.net import ANSWER
from game.client.widgets import bubbles as B
from game.client.widgets.bubbles import SpeechBubbles
from game.client.widgets.chat import ChatPanel

from .helpers_client import world  # noqa: F401  (the fixture)

GRASS = (90, 160, 80)
LONG = ("A line long enough that it cannot fit on one row of a bubble, so it has to "
        "wrap over several rows")


@pytest.fixture
def surface():
    pygame.init()
    pygame.display.set_mode((64, 64))
    image = pygame.Surface((640, 480))
    image.fill(GRASS)
    return image


def fill_pixels(surface: pygame.Surface, rect: pygame.Rect) -> int:
    """How many pixels of bubble paper are inside ``rect``."""
    rect = rect.clip(surface.get_rect())
    return sum(1 for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)
               if surface.get_at((x, y))[:3] == B.BUBBLE_FILL)


def ink_pixels(surface: pygame.Surface, rect: pygame.Rect) -> int:
    """Dark pixels of text inside ``rect``."""
    rect = rect.clip(surface.get_rect())
    return sum(1 for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)
               if sum(surface.get_at((x, y))[:3]) < 300)


def test_a_bubble_is_drawn_just_above_the_speaker(surface):
    bubbles = SpeechBubbles()
    bubbles.add(7, "hello there", now=0.0)
    anchor = (320, 300)
    placed = bubbles.draw(surface, {7: anchor}, now=1.0)
    box = placed[0].bubbles[0][1]
    assert box.centerx == anchor[0] and box.bottom == anchor[1] - B.TAIL_H
    above = pygame.Rect(anchor[0] - 120, anchor[1] - 80, 240, 80)
    assert fill_pixels(surface, above) > 0.6 * box.width * box.height
    assert ink_pixels(surface, box) > 40  # the words themselves
    below = pygame.Rect(0, anchor[1] + 1, 640, 480 - anchor[1] - 1)
    assert fill_pixels(surface, below) == 0 and ink_pixels(surface, below) == 0
    # The point under the bubble reaches down to the speaker.
    assert surface.get_at((anchor[0], anchor[1] - 3))[:3] == B.BUBBLE_FILL
    # A speaker who is not on screen (no anchor) shows nothing.
    surface.fill(GRASS)
    assert bubbles.draw(surface, {}, now=1.0) == []
    assert fill_pixels(surface, surface.get_rect()) == 0


def test_long_lines_wrap_and_very_long_ones_are_cut(surface):
    bubbles = SpeechBubbles()
    bubble = bubbles.add(1, LONG, now=0.0)
    font = theme.font(B.FONT_SIZE)
    assert 2 <= len(bubble.rows) <= B.WRAP_ROWS
    assert all(font.size(row)[0] <= B.BUBBLE_TEXT_W for row in bubble.rows)
    assert " ".join(bubble.rows) == LONG
    placed = bubbles.draw(surface, {1: (320, 400)}, now=0.5)
    box = placed[0].bubbles[0][1]
    assert box.height == len(bubble.rows) * B.ROW_H + 2 * B.PAD_Y
    # Ink on every row of the bubble.
    for i in range(len(bubble.rows)):
        row = pygame.Rect(box.x, box.y + B.PAD_Y + i * B.ROW_H, box.width, B.ROW_H)
        assert ink_pixels(surface, row) > 20, f"row {i} is empty"
    longest = bubbles.add(2, "word " * (P.DM_TEXT_MAX // 5), now=0.0)
    assert len(longest.rows) == B.WRAP_ROWS and longest.rows[-1].endswith("…")


def test_several_lines_stack_upward_newest_at_the_bottom(surface):
    bubbles = SpeechBubbles()
    for i, text in enumerate(("first", "second", "third", "fourth")):
        bubbles.add(3, text, now=i * 0.1)
    assert [b.text for b in bubbles.said[3]] == ["second", "third", "fourth"]  # STACK_MAX
    anchor = (320, 400)
    placed = bubbles.draw(surface, {3: anchor}, now=1.0)
    boxes = [box for _, box in placed[0].bubbles]
    assert [b.text for b, _ in placed[0].bubbles] == ["fourth", "third", "second"]
    assert boxes[0].bottom == anchor[1] - B.TAIL_H
    for lower, upper in zip(boxes, boxes[1:]):
        assert upper.bottom + B.STACK_GAP == lower.top
    # Three separate bubbles of paper, each with its words, grass between them.
    for box in boxes:
        inner = box.inflate(-4, -4)
        assert fill_pixels(surface, inner) > 0.5 * inner.width * inner.height
        assert ink_pixels(surface, box) > 20
    for lower, upper in zip(boxes, boxes[1:]):
        gap = pygame.Rect(0, upper.bottom, 640, lower.top - upper.bottom)
        assert gap.height == B.STACK_GAP and fill_pixels(surface, gap) == 0
    # Lines go when their time is up, oldest first.
    surface.fill(GRASS)
    assert len(bubbles.draw(surface, {3: anchor}, now=0.1 + B.shown_for("second") + 0.01)
               [0].bubbles) == 2
    surface.fill(GRASS)
    assert bubbles.draw(surface, {3: anchor}, now=10 + B.SHOWN_MAX_S) == []
    assert fill_pixels(surface, surface.get_rect()) == 0 and not bubbles


def test_bubbles_of_players_standing_close_do_not_cover_each_other(surface):
    bubbles = SpeechBubbles()
    anchors = {1: (300, 300), 2: (318, 300), 3: (309, 296), 4: (500, 300)}
    for speaker in anchors:
        bubbles.add(speaker, f"player {speaker} says something", now=0.0)
    bubbles.add(2, LONG, now=0.1)
    placed = bubbles.draw(surface, anchors, now=1.0)
    assert len(placed) == 4
    rects = [p.rect for p in placed]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.colliderect(b), (a, b)
    by_speaker = {p.speaker: p for p in placed}
    # The one standing alone stays where it belongs; the crowd's were moved.
    assert not by_speaker[4].moved
    assert sum(p.moved for p in placed) >= 2
    # Every bubble is readable: its paper and its words are on the surface.
    for stack in placed:
        for bubble, box in stack.bubbles:
            inner = box.inflate(-4, -4)
            assert fill_pixels(surface, inner) > 0.5 * inner.width * inner.height
            assert ink_pixels(surface, box) > 20


def test_bubbles_stay_inside_the_view(surface):
    bubbles = SpeechBubbles()
    bubbles.add(1, LONG, now=0.0)
    view = pygame.Rect(0, 0, 400, 480)  # the chat panel covers the rest
    placed = bubbles.draw(surface, {1: (395, 300)}, now=0.5, bounds=view)
    assert view.contains(placed[0].rect)
    assert fill_pixels(surface, pygame.Rect(400, 0, 240, 480)) == 0


# -- the world scene ----------------------------------------------------------------------
def said(speaker: int, name: str, text: str) -> dict:
    return {"from": speaker, "name": name, "text": text, "x": 0.0, "y": 0.0, "at": 0}


def test_the_world_draws_a_bubble_over_the_speaker_and_none_for_the_blocked(world):
    scene, client, frames, _ = world
    sx, sy = scene.world.spawn
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 7, "name": "juno", "x": sx + 150, "y": sy},
                                              {"id": 8, "name": "pest", "x": sx - 150, "y": sy}]})
    client.put(ANSWER, {"event": P.BLOCK, "tag": "pest", "reply": {"ok": True}})
    frames(1)
    client.put(P.SAID, said(7, "juno", "hi, I am juno"))
    client.put(P.SAID, said(8, "pest", "buy my stuff"))
    client.put(P.SAID, said(1, "me", "hello juno"))
    frames(1)
    placed = {p.speaker: p for p in scene.bubbles.placed}
    assert set(placed) == {1, 7}
    juno = placed[7]
    jx, jy = scene.camera.to_screen(*scene.drawn_position(7))
    assert abs(juno.anchor[0] - jx) <= 1 and juno.anchor[1] < jy - scene.avatars.feet_y
    # The bubble's pixels are on the screen, above juno.
    box = juno.bubbles[0][1]
    screen = scene.app.surface
    assert fill_pixels(screen, box.inflate(-6, -6)) > 0.5 * (box.width - 6) * (box.height - 6)
    # The chat's Nearby log has the two lines we may see, with their speakers.
    assert [(l.name, l.text) for l in scene.chat.nearby.lines] == [("juno", "hi, I am juno"),
                                                                   ("me", "hello juno")]
    # Juno leaves: the bubble goes with him.
    client.put(P.PLAYERS_LEFT, {"ids": [7], "names": ["juno"]})
    frames(1)
    assert {p.speaker for p in scene.bubbles.placed} == {1}


def test_enter_with_no_conversation_open_talks_aloud(world):
    scene, client, frames, _ = world
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0,
                                         unicode="\r", scancode=0))
    frames(1)
    assert scene.chat.visible and scene.chat.nearby_open and scene.chat.typing
    for ch in "hello all":
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=ch))
    frames(1)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0,
                                         unicode="\r", scancode=0))
    frames(1)
    assert (P.SAY, {"text": "hello all"}, None) in client.requests
    assert scene.chat.entry.get_text() == ""


# -- the chat panel's Nearby conversation ----------------------------------------------------
class Wired:
    def __init__(self):
        pygame.init()
        pygame.display.set_mode((1024, 720))
        self.sent: list[tuple] = []
        self.now = [100.0]
        self.panel = ChatPanel(theme.make_manager((1024, 720)), "me",
                               lambda event, payload, tag: self.sent.append((event, payload, tag)),
                               clock=lambda: self.now[0])
        self.panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [],
                                      "unread": {}, "blocked": ["pest"]})
        self.sent.clear()


def test_the_nearby_conversation_sends_say_and_logs_lines_with_names():
    wired = Wired()
    panel = wired.panel
    panel.show_conversation("bob")
    wired.sent.clear()
    # Lines heard while the Nearby conversation is not on screen count as unread.
    assert panel.on_net(P.SAID, said(5, "ann", "anyone here?")) is False  # the scene draws it too
    assert panel.on_net(P.SAID, said(9, "pest", "spam")) is False
    assert panel.nearby.unread == 1
    panel.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=panel.nearby_rect.center,
                                          button=1))
    assert panel.nearby_open and panel.peer is None and panel.nearby.unread == 0
    assert wired.sent == [(P.DM_CLOSE, {"peer": "bob"}, "bob")]  # the DM is left
    assert panel.entry.visible and not panel.block_button.visible
    panel.entry.set_text("  yes, me!  ")
    assert panel.send()
    assert wired.sent[-1] == (P.SAY, {"text": "yes, me!"}, None)
    panel.on_net(ANSWER, {"event": P.SAY, "tag": None, "reply": {"ok": True}})
    panel.on_net(P.SAID, said(1, "me", "yes, me!"))
    assert [(l.name, l.text, l.mine) for l in panel.nearby.lines] == [
        ("ann", "anyone here?", False), ("me", "yes, me!", True)]
    # Over our allowance: the text stays in the box and the panel says why.
    for i in range(P.SAYS_PER_WINDOW - 1):
        panel.entry.set_text(f"line {i}")
        assert panel.send()
    panel.entry.set_text("one more")
    assert not panel.send()
    assert panel.entry.get_text() == "one more" and "lines in" in panel.notice
    wired.now[0] += P.SAY_WINDOW_S + 1
    assert panel.send()
    # The host's refusal (muted) is shown.
    panel.on_net(ANSWER, {"event": P.SAY, "tag": None,
                          "reply": {"ok": False, "error": P.E_MUTED, "message": "you are muted"}})
    assert panel.notice == "Not said: you are muted"
    # Opening a direct conversation leaves the Nearby one.
    panel.open("bob")
    assert not panel.nearby_open and panel.peer == "bob"


def test_the_nearby_conversation_is_drawn_with_each_speakers_name():
    wired = Wired()
    panel = wired.panel
    panel.open_nearby()
    panel.on_net(P.SAID, said(5, "ann", "anyone here?"))
    panel.on_net(P.SAID, said(1, "me", "yes, me!"))
    screen = pygame.Surface((1024, 720))
    screen.fill((0, 0, 0))
    panel.draw(screen)
    view = panel.nearby_view.rect
    assert ink_pixels(screen, view) < view.width * view.height  # something light is drawn
    # The speakers' names in their colours: ours in the accent, others in green.
    colours = {screen.get_at((x, y))[:3] for x in range(view.left, view.right)
               for y in range(view.top, view.bottom)}
    assert theme.ACCENT in colours and theme.GOOD in colours
    # Blocking a player takes their lines out of the log.
    panel.on_net(ANSWER, {"event": P.BLOCK, "tag": "ann", "reply": {"ok": True}})
    assert [l.name for l in panel.nearby.lines] == ["me"]
