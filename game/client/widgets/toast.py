"""Short notices at the bottom of the screen ("New message from ...")."""
from __future__ import annotations

import pygame

from .. import theme

SHOW_S = 3.5


class Toasts:
    def __init__(self, limit: int = 3):
        self.limit = limit
        self.items: list[list] = []  # [text, colour, seconds left]

    def add(self, text: str, colour=theme.INK) -> None:
        self.items = [item for item in self.items if item[0] != text]
        self.items.append([text, colour, SHOW_S])
        del self.items[:-self.limit]

    def handle_event(self, event: pygame.event.Event) -> bool:
        return False

    def update(self, dt: float) -> None:
        for item in self.items:
            item[2] -= dt
        self.items = [item for item in self.items if item[2] > 0]

    def draw(self, surface: pygame.Surface, bottom_centre: tuple[int, int]) -> None:
        x, y = bottom_centre
        for text, colour, left in reversed(self.items):
            image = theme.font(15, bold=True).render(text, True, colour)
            rect = pygame.Rect(0, 0, image.get_width() + 28, 34)
            rect.midbottom = (x, y)
            panel = theme.translucent(rect.size, theme.PANEL, 225, 17)
            if left < 0.5:
                panel = panel.copy()
                panel.set_alpha(int(255 * left / 0.5))
                image.set_alpha(int(255 * left / 0.5))
            surface.blit(panel, rect)
            surface.blit(image, image.get_rect(center=rect.center))
            y -= 42
