"""The world scene on a map of the host's: roofs over avatars, names over roofs."""
from __future__ import annotations

import pytest

from game.core import protocol as P

from . import helpers_map_client as F
from .helpers_client import Harness, StandInClient

pytestmark = pytest.mark.timeout(60)
ROOF = ((5 + 0.5) * F.TS, (2 + 0.5) * F.TS)  # the middle of the feature map's roof cell


@pytest.fixture
def scene_on_feature_map(tmp_path):
    h = Harness(tmp_path)
    h.app.services["map_path"] = str(F.write_feature_map(tmp_path / "map"))
    client = StandInClient("me")
    client.app = h.app
    scene = h.app.push(h.app.make("world", client))
    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": ROOF[0], "y": ROOF[1]},
                           "players": [], "unread": {}, "tick_rate": 20,
                           "server_time": 5_000_000.0})
    h.frames(2)
    scene.chat.set_visible(False)
    scene.minimap.visible = False
    yield h, scene
    h.close()


def stand(h, scene, x: float, y: float) -> None:
    scene.predictor.place(x, y)
    scene.camera.centre_on(x, y)
    h.frames(2)


def seen(h, scene, wx: float, wy: float):
    x, y = scene.camera.to_screen(wx, wy)
    return tuple(h.app.surface.get_at((round(x), round(y))))[:3]


def my_tag(scene):
    return next(spot.rect for spot, _ in scene.tags_drawn if spot.mine)


def test_the_world_walks_and_draws_the_hosts_map(scene_on_feature_map):
    h, scene = scene_on_feature_map
    assert (scene.world.width_px, scene.world.height_px) == (F.W * F.TS, F.H * F.TS)
    assert scene.world.blocked[2 * F.W + F.WALL_COLUMN] == 1
    assert scene.minimap.size[0] > 0


def test_the_roof_hides_an_avatar_under_it(scene_on_feature_map):
    h, scene = scene_on_feature_map
    sheet = scene.avatars
    # Stand so the middle of the sprite is on the roof cell.
    feet_y = ROOF[1] + sheet.feet_y - sheet.fh // 2
    stand(h, scene, ROOF[0], feet_y)
    sx, sy = scene.camera.to_screen(ROOF[0], feet_y)
    left, top = sheet.topleft(sx, sy)
    rx, ry = scene.camera.to_screen(*ROOF)
    me = scene.predictor
    sprite = sheet.frame(scene.me_look, me.facing, me.walked, me.moving)
    assert sprite.get_at((rx - left, ry - top)).a > 0  # the avatar is opaque there...
    assert seen(h, scene, *ROOF) == F.GREEN  # ...and the roof is drawn over it


def test_a_name_tag_stays_over_the_roof(scene_on_feature_map):
    h, scene = scene_on_feature_map
    y = ROOF[1] + 60
    stand(h, scene, ROOF[0], y)
    _, roof_y = scene.camera.to_screen(*ROOF)
    stand(h, scene, ROOF[0], y + roof_y - my_tag(scene).centery)  # tag on the roof cell
    assert my_tag(scene).collidepoint(scene.camera.to_screen(*ROOF))
    assert seen(h, scene, *ROOF) != F.GREEN, "the roof was drawn over the name tag"
