"""The map renderer on a headless surface, checked pixel by pixel.

The feature map (tests/helpers_map_client.py) has tiles of known colours, so
each test names the colour a player must see at a spot: plain tiles from a
tileset with margin and spacing, the pattern tile in all 8 of Tiled's flip
combinations, an animated tile, a tall tile from an image collection, a
half-transparent layer, an offset layer and a layer drawn over the players.
"""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame  # noqa: E402

from game.client.camera import Camera  # noqa: E402
from game.client.tilemap import TileMapRenderer  # noqa: E402
from game.client.widgets.minimap import MAX_HEIGHT, WIDTH, Minimap  # noqa: E402
from game.core import tiled  # noqa: E402

from . import helpers_map_client as F  # noqa: E402

TS = F.TS


@pytest.fixture(scope="module")
def display():
    pygame.display.init()
    pygame.display.set_mode((320, 200))  # so images are converted as in the game
    yield
    pygame.display.quit()


@pytest.fixture(scope="module")
def renderer(display, tmp_path_factory):
    path = F.write_feature_map(tmp_path_factory.mktemp("features"))
    return TileMapRenderer(tiled.load_map(path))


def whole_map(renderer: TileMapRenderer) -> tuple[pygame.Surface, Camera]:
    surface = pygame.Surface((renderer.width_px, renderer.height_px))
    camera = Camera(renderer.width_px, renderer.height_px, renderer.width_px, renderer.height_px)
    return surface, camera


def at(surface: pygame.Surface, tx: int, ty: int, px: int = TS // 2, py: int = TS // 2):
    return tuple(surface.get_at((tx * TS + px, ty * TS + py)))[:3]


def near(actual, expected, slack: int = 3) -> bool:
    return all(abs(a - e) <= slack for a, e in zip(actual, expected))


def test_plain_tiles_come_from_the_right_place_in_the_sheet(renderer):
    surface, camera = whole_map(renderer)
    renderer.draw_below(surface, camera, now=0.0)
    assert at(surface, 0, 3) == F.RED
    assert at(surface, 9, 5) == F.RED
    assert at(surface, F.WALL_COLUMN, 4) == F.GREY
    # Margin and spacing: the tile's first and last pixels are its own colour.
    assert at(surface, F.WALL_COLUMN, 4, 0, 0) == F.GREY
    assert at(surface, F.WALL_COLUMN, 4, TS - 1, TS - 1) == F.GREY


@pytest.mark.parametrize("index", range(8))
def test_each_of_the_eight_flips_puts_every_quadrant_where_tiled_does(renderer, index):
    flags = F.FLAG_SETS[index]
    surface, camera = whole_map(renderer)
    renderer.draw_below(surface, camera, now=0.0)
    half = TS // 2
    for q, (qx, qy) in enumerate(((0, 0), (half, 0), (0, half), (half, half))):
        # Every pixel of each source quadrant lands where the flip sends it.
        for sx in range(qx, qx + half):
            for sy in range(qy, qy + half):
                x, y = F.flipped_point(flags, sx, sy)
                assert at(surface, index, 0, x, y) == F.QUAD[q], (hex(flags), q, (sx, sy))


def test_animated_tile_changes_frame_after_its_duration(renderer):
    surface, camera = whole_map(renderer)
    first, second = F.ANIM_MS
    shown = []
    for t_ms in (0, first - 5, first + 5, first + second - 5, first + second + 5):
        renderer.draw_below(surface, camera, now=t_ms / 1000.0)
        shown.append(at(surface, 0, 1))
    assert shown == [F.RED, F.RED, F.GREEN, F.GREEN, F.RED]


def test_tall_tile_stands_on_its_cell_and_reaches_up(renderer):
    surface, camera = whole_map(renderer)
    renderer.draw_below(surface, camera, now=0.0)
    assert at(surface, 1, 2) == F.TALL_BOTTOM
    assert at(surface, 1, 1) == F.TALL_TOP


def test_half_transparent_layer_is_blended_with_what_is_under_it(renderer):
    surface, camera = whole_map(renderer)
    renderer.draw_below(surface, camera, now=0.0)
    blended = tuple((r + b) / 2 for r, b in zip(F.RED, F.BLUE))
    assert near(at(surface, 3, 2), blended), at(surface, 3, 2)


def test_layer_offset_moves_the_layer(renderer):
    surface, camera = whole_map(renderer)
    renderer.draw_below(surface, camera, now=0.0)
    # The blue tile of cell (4, 3) is drawn 8 px right and 4 px down.
    assert at(surface, 4, 3, 2, 2) == F.RED
    assert at(surface, 4, 3, 9, 5) == F.BLUE
    assert at(surface, 5, 4, 2, 2) == F.BLUE
    assert at(surface, 5, 4, 9, 5) == F.RED


def test_roof_layer_is_drawn_over_the_players(renderer):
    assert [layer.above for layer in renderer.map.layers] == [False, False, False, True]
    surface, camera = whole_map(renderer)
    avatar = (255, 0, 255)
    renderer.draw_below(surface, camera, now=0.0)
    assert at(surface, 5, 2) == F.RED  # the roof is not under the players
    surface.fill(avatar, (5 * TS - 4, 2 * TS - 4, TS + 8, TS + 8))  # an avatar standing there
    renderer.draw_above(surface, camera, now=0.0)
    assert at(surface, 5, 2) == F.GREEN
    assert tuple(surface.get_at((5 * TS - 2, 2 * TS - 2)))[:3] == avatar  # beside the roof


def test_camera_offset_shows_the_same_world_shifted(renderer):
    reference, camera = whole_map(renderer)
    renderer.draw(reference, camera, now=0.0)
    surface = pygame.Surface((64, 48))
    camera = Camera(64, 48, renderer.width_px, renderer.height_px)
    camera.x, camera.y = TS * 2 + 3, TS + 5
    renderer.draw(surface, camera, now=0.0)
    ox, oy = camera.offset()
    for x in range(64):
        for y in range(48):
            assert surface.get_at((x, y)) == reference.get_at((x + ox, y + oy)), (x, y)


@pytest.mark.parametrize("now", [0.0, 0.15])
def test_tiny_chunks_draw_the_same_picture(renderer, now):
    """Tall tiles and offset layers, animated or not, reach across chunk
    edges and are not cut."""
    reference, camera = whole_map(renderer)
    renderer.draw(reference, camera, now=now)
    small = TileMapRenderer(renderer.map, chunk_px=TS)
    assert small.chunk_tiles == 1
    surface, camera = whole_map(small)
    small.draw(surface, camera, now=now)
    for x in range(surface.get_width()):
        for y in range(surface.get_height()):
            assert surface.get_at((x, y)) == reference.get_at((x, y)), (x, y)


def test_animated_tile_on_an_offset_layer_moves_with_it(renderer):
    surface, camera = whole_map(renderer)
    shown = []
    for now in (0.0, 0.15):
        renderer.draw_below(surface, camera, now=now)
        shown.append(at(surface, 8, 4, 8 + 2, 4 + 2))  # the tile's top-left corner
        assert at(surface, 8, 4, 2, 2) == F.RED  # left of and above it: the ground
    assert shown == [F.RED, F.GREEN]
    renderer.draw_below(surface, camera, now=0.15)
    assert at(surface, 9, 5, 5, 2) == F.GREEN  # its bottom-right corner, in the next cells


def test_minimap_fits_any_map_shape(renderer):
    mini = Minimap(renderer)
    assert mini.size[0] <= WIDTH and mini.size[1] <= MAX_HEIGHT
    assert mini.size[0] == WIDTH or mini.size[1] == MAX_HEIGHT
    image = mini.image()
    # The overview shows the map: a wall column of grey near its place.
    x = round((F.WALL_COLUMN + 0.5) * TS * mini.scale)
    y = round(4.5 * TS * mini.scale)
    assert near(tuple(image.get_at((x, y)))[:3], F.GREY, 20)
    assert near(tuple(image.get_at((round(0.5 * TS * mini.scale), y)))[:3], F.RED, 20)


def test_missing_image_leaves_tiles_empty_instead_of_crashing(display, tmp_path):
    path = F.write_feature_map(tmp_path / "m")
    (tmp_path / "m" / "art" / "tall.png").unlink()
    renderer = TileMapRenderer(tiled.load_map(path)) if _loads(path) else None
    if renderer is None:
        pytest.skip("the loader refuses a map with a missing image")
    surface, camera = whole_map(renderer)
    renderer.draw(surface, camera, now=0.0)
    assert at(surface, 0, 3) == F.RED


def _loads(path) -> bool:
    try:
        tiled.load_map(path)
    except Exception:
        return False
    return True
