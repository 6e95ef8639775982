"""A small map of the whole world with a dot for every player (M shows/hides it)."""
from __future__ import annotations

import pygame

from .. import theme

WIDTH = 200


class Minimap:
    def __init__(self, tiles):
        self.tiles = tiles
        self.visible = True
        self.scale = WIDTH / tiles.width_px
        self.size = (WIDTH, max(1, round(tiles.height_px * self.scale)))
        self._image: pygame.Surface | None = None

    def image(self) -> pygame.Surface:
        """The world shrunk to the minimap's size, made once from the map chunks."""
        if self._image is None:
            t = self.tiles
            image = pygame.Surface(self.size)
            cw, ch = t.chunk_w * self.scale, t.chunk_h * self.scale
            for cy in range((t.height_px + t.chunk_h - 1) // t.chunk_h):
                for cx in range((t.width_px + t.chunk_w - 1) // t.chunk_w):
                    small = pygame.transform.smoothscale(
                        t.chunk(cx, cy), (max(1, round(cw)), max(1, round(ch))))
                    image.blit(small, (round(cx * cw), round(cy * ch)))
            image.set_alpha(225)
            self._image = image
        return self._image

    def handle_event(self, event: pygame.event.Event) -> bool:
        return False

    def update(self, dt: float) -> None:
        pass

    def draw(self, surface: pygame.Surface, bottomright: tuple[int, int],
             me: tuple[float, float] | None, others, view: tuple[float, float, float, float]) -> None:
        if not self.visible:
            return
        rect = pygame.Rect((0, 0), self.size)
        rect.bottomright = bottomright
        frame = rect.inflate(8, 8)
        surface.blit(theme.translucent(frame.size, theme.PANEL, 220, 8), frame)
        surface.blit(self.image(), rect)
        s = self.scale
        left, top, right, bottom = view
        pygame.draw.rect(surface, (255, 255, 255),
                         (rect.x + left * s, rect.y + top * s, (right - left) * s, (bottom - top) * s), 1)
        for x, y in others:
            surface.fill((240, 240, 250), (rect.x + int(x * s) - 1, rect.y + int(y * s) - 1, 3, 3))
        if me is not None:
            pygame.draw.circle(surface, (255, 214, 90), (rect.x + int(me[0] * s), rect.y + int(me[1] * s)), 3)
