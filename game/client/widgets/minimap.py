"""A small map of the whole world with a dot for every player (M shows/hides it)."""
from __future__ import annotations

import pygame

from .. import theme

WIDTH = 200
MAX_HEIGHT = 200  # a tall, narrow map is shrunk to fit this instead
OTHER_RADIUS = 2   # px: a dot 7 px across with its rim
ME_RADIUS = 4
OTHER_COLOUR = (236, 242, 255)
ME_COLOUR = (255, 214, 90)
DOT_RIM = (20, 24, 34)


class Minimap:
    def __init__(self, tiles):
        self.tiles = tiles
        self.visible = True
        self.scale = min(WIDTH / tiles.width_px, MAX_HEIGHT / tiles.height_px)
        self.size = (max(1, round(tiles.width_px * self.scale)),
                     max(1, round(tiles.height_px * self.scale)))
        self._image: pygame.Surface | None = None

    def image(self) -> pygame.Surface:
        """The world shrunk to the minimap's size, made once."""
        if self._image is None:
            image = self.tiles.overview(self.size)
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
        # Dots big enough to see on any map, each with a dark rim so it stands
        # out on grass, sand or stone and a crowd still shows as separate dots.
        dots = [(rect.x + round(x * s), rect.y + round(y * s)) for x, y in others]
        for centre in dots:
            pygame.draw.circle(surface, DOT_RIM, centre, OTHER_RADIUS + 1)
        for centre in dots:
            pygame.draw.circle(surface, OTHER_COLOUR, centre, OTHER_RADIUS)
        if me is not None:
            centre = (rect.x + round(me[0] * s), rect.y + round(me[1] * s))
            pygame.draw.circle(surface, DOT_RIM, centre, ME_RADIUS + 1)
            pygame.draw.circle(surface, ME_COLOUR, centre, ME_RADIUS)
