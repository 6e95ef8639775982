"""Name tags in a crowd stay readable: the clear ones never overlap, yours is
always on top, pointing at someone shows theirs, the rest fade or step back."""
from __future__ import annotations

import itertools

import pygame
import pytest

from game.core import protocol as P
from game.client.sprites import TAG_FADED_ALPHA, TAG_FAR_ALPHA, TAG_FAR_PX, TagSpot, arrange_tags

from .helpers_client import Harness, StandIn


def spot(name, x, y, distance=0.0, **kw) -> TagSpot:
    return TagSpot(name, pygame.Rect(x, y, 60, 18), distance, **kw)


def test_overlapping_tags_fade_then_step_back_and_yours_stays_on_top():
    spots = [spot("a", 100, 100, 10), spot("b", 110, 104, 20), spot("c", 120, 108, 30),
             spot("me", 105, 102, 0, mine=True), spot("far", 400, 400, TAG_FAR_PX + 1),
             spot("next", 300, 100, 50)]
    placed = {s.name: alpha for s, alpha in arrange_tags(spots)}
    assert placed == {"me": 255, "a": TAG_FADED_ALPHA, "far": TAG_FAR_ALPHA, "next": 255}
    # (b and c would sit on a ghost too: left out, pointing at them shows them)
    order = [s.name for s, _ in arrange_tags(spots)]
    assert order[-1] == "me"
    assert order.index("a") < order.index("next")  # faint ones below the clear ones


def test_the_tag_under_the_mouse_is_clear_and_only_yours_is_above_it():
    spots = [spot("a", 100, 100, 10), spot("b", 104, 100, 20, hovered=True),
             spot("me", 102, 100, 0, mine=True)]
    placed = arrange_tags(spots)
    assert [(s.name, alpha) for s, alpha in placed][-2:] == [("b", 255), ("me", 255)]


@pytest.fixture
def crowd(tmp_path):
    h = Harness(tmp_path)
    client = StandIn()
    scene = h.enter_world(client)
    x, y = scene.predictor.x, scene.predictor.y
    for pid in range(2, 52):  # fifty players around the spawn, most of them on top of each other
        client.put(P.PLAYERS_JOINED, {"players": [{"id": pid, "name": f"crowd{pid:02d}",
                                     "x": x + (pid % 7) * 6 - 18, "y": y + (pid % 5) * 5 - 10}]})
    h.frames(3)
    yield h, scene
    h.close()


def test_fifty_players_in_one_spot_leave_readable_tags(crowd):
    h, scene = crowd
    drawn = scene.tags_drawn
    assert drawn[-1][0].mine and drawn[-1][1] == 255
    clear = [s.rect.inflate(-4, -2) for s, alpha in drawn if alpha == 255]
    for a, b in itertools.combinations(clear, 2):
        assert not a.colliderect(b)  # no two readable tags on top of each other
    assert len(drawn) < 20  # most of the pile steps back instead of piling up


def test_pointing_at_a_player_in_the_crowd_shows_their_tag(crowd):
    h, scene = crowd
    hidden = {r.name for r in scene.remotes.values()} - {s.name for s, _ in scene.tags_drawn}
    target = next(r for r in scene.remotes.values() if r.name in hidden)
    # Point at the body of a player no other avatar in front covers there.
    sx, sy = scene.camera.to_screen(target.x, target.y)
    pos = next((px, py) for py in range(sy - 2, sy - 30, -1) for px in range(sx - 10, sx + 11)
               if scene.avatar_at((px, py)) == target.name)
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0)))
    h.frames(1)
    names = [(s.name, alpha) for s, alpha in scene.tags_drawn]
    assert names[-2] == (target.name, 255) and names[-1][0] == "me"
