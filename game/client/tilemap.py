"""Drawing the Tiled map.

The map's tile layers never change, so they are drawn once into large
surfaces (chunks of ``CHUNK_TILES`` x ``CHUNK_TILES`` tiles, built the first
time they come into view).  A frame then costs a handful of blits instead of
thousands of tiles, which leaves the frame budget for the avatars.
"""
from __future__ import annotations

from pathlib import Path

import pygame
import pytmx
from pytmx.util_pygame import load_pygame

from game.core.rules import DEFAULT_MAP_PATH

from .camera import Camera

CHUNK_TILES = 16
BACKGROUND = (38, 64, 44)


class TileMapRenderer:
    def __init__(self, path: str | Path = DEFAULT_MAP_PATH):
        self.tmx = load_pygame(str(path))
        self.tile_w = self.tmx.tilewidth
        self.tile_h = self.tmx.tileheight
        self.width_tiles = self.tmx.width
        self.height_tiles = self.tmx.height
        self.width_px = self.width_tiles * self.tile_w
        self.height_px = self.height_tiles * self.tile_h
        self.layers = [layer for layer in self.tmx.visible_layers
                       if isinstance(layer, pytmx.TiledTileLayer)]
        self.chunk_w = CHUNK_TILES * self.tile_w
        self.chunk_h = CHUNK_TILES * self.tile_h
        self.chunks: dict[tuple[int, int], pygame.Surface] = {}

    def chunk(self, cx: int, cy: int) -> pygame.Surface:
        surface = self.chunks.get((cx, cy))
        if surface is None:
            surface = self.chunks[(cx, cy)] = self._render_chunk(cx, cy)
        return surface

    def _render_chunk(self, cx: int, cy: int) -> pygame.Surface:
        surface = pygame.Surface((self.chunk_w, self.chunk_h))
        surface.fill(BACKGROUND)
        images = self.tmx.images
        x0, y0 = cx * CHUNK_TILES, cy * CHUNK_TILES
        x1 = min(x0 + CHUNK_TILES, self.width_tiles)
        y1 = min(y0 + CHUNK_TILES, self.height_tiles)
        for layer in self.layers:
            data = layer.data
            for ty in range(y0, y1):
                row = data[ty]
                py = (ty - y0) * self.tile_h
                for tx in range(x0, x1):
                    gid = row[tx]
                    if gid:
                        image = images[gid]
                        if image is not None:
                            # Tiles taller than the grid (trees) stand on their cell.
                            surface.blit(image, ((tx - x0) * self.tile_w,
                                                 py + self.tile_h - image.get_height()))
        return surface.convert() if pygame.display.get_surface() else surface

    def draw(self, surface: pygame.Surface, camera: Camera) -> None:
        ox, oy = camera.offset()
        view_w, view_h = surface.get_size()
        if ox < 0 or oy < 0 or ox + view_w > self.width_px or oy + view_h > self.height_px:
            surface.fill((16, 20, 28))
        first_cx, first_cy = max(0, ox // self.chunk_w), max(0, oy // self.chunk_h)
        last_cx = min((ox + view_w - 1) // self.chunk_w, (self.width_px - 1) // self.chunk_w)
        last_cy = min((oy + view_h - 1) // self.chunk_h, (self.height_px - 1) // self.chunk_h)
        blits = []
        for cy in range(first_cy, last_cy + 1):
            for cx in range(first_cx, last_cx + 1):
                blits.append((self.chunk(cx, cy), (cx * self.chunk_w - ox, cy * self.chunk_h - oy)))
        surface.blits(blits, doreturn=False)
        # Clip the chunks on the far map edge, which are partly outside the map.
        right, bottom = self.width_px - ox, self.height_px - oy
        if right < view_w:
            surface.fill((16, 20, 28), (right, 0, view_w - right, view_h))
        if bottom < view_h:
            surface.fill((16, 20, 28), (0, bottom, view_w, view_h - bottom))

    def prerender(self) -> None:
        """Build every chunk now (used before timing-sensitive drawing)."""
        for cy in range((self.height_px + self.chunk_h - 1) // self.chunk_h):
            for cx in range((self.width_px + self.chunk_w - 1) // self.chunk_w):
                self.chunk(cx, cy)
