"""Short notices at the top of the screen ("New message from ..."), clear of
the status pill on the left, the chat button on the right and the controls
hint at the bottom.  A notice can carry an action: clicking it runs it (the
message notice opens that conversation)."""
from __future__ import annotations

from typing import Callable

import pygame

from .. import theme

SHOW_S = 3.5
TOP_Y = 12
GAP = 8


class Toasts:
    def __init__(self, limit: int = 3):
        self.limit = limit
        self.items: list[list] = []  # [text, colour, seconds left, action or None]
        self.rects: list[tuple[pygame.Rect, Callable[[], None] | None]] = []

    def add(self, text: str, colour=theme.INK, action: Callable[[], None] | None = None) -> None:
        self.items = [item for item in self.items if item[0] != text]
        self.items.append([text, colour, SHOW_S, action])
        del self.items[:-self.limit]

    def handle_event(self, event: pygame.event.Event) -> bool:
        """A click on a notice runs its action and closes it; True when used."""
        if event.type not in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP) or \
                getattr(event, "button", 0) != 1:
            return False
        for rect, item in self.rects:
            if rect.collidepoint(event.pos):
                if event.type == pygame.MOUSEBUTTONDOWN:
                    if item in self.items:
                        self.items.remove(item)
                    if item[3] is not None:
                        item[3]()
                return True
        return False

    def update(self, dt: float) -> None:
        for item in self.items:
            item[2] -= dt
        self.items = [item for item in self.items if item[2] > 0]

    def draw(self, surface: pygame.Surface, top_centre: tuple[int, int],
             avoid: tuple[pygame.Rect, ...] = ()) -> None:
        """Newest on top, stacked downwards from ``top_centre``, each moved
        down below any of the ``avoid`` rectangles it would cover."""
        x, y = top_centre
        self.rects = []
        for item in reversed(self.items):
            text, colour, left, action = item
            image = theme.font(15, bold=True).render(text, True, colour)
            hint = theme.font(12).render("click to open", True, theme.MUTED) if action else None
            width = image.get_width() + 28 + (hint.get_width() + 12 if hint else 0)
            rect = pygame.Rect(0, 0, width, 34)
            rect.midtop = (x, y)
            covered = [r for r in avoid if rect.colliderect(r)]
            if covered:
                rect.top = max(r.bottom for r in covered) + GAP
                y = rect.top
            panel = theme.translucent(rect.size, theme.PANEL, 225, 17)
            if left < 0.5:
                panel = panel.copy()
                panel.set_alpha(int(255 * left / 0.5))
                image.set_alpha(int(255 * left / 0.5))
                if hint:
                    hint.set_alpha(int(255 * left / 0.5))
            surface.blit(panel, rect)
            surface.blit(image, image.get_rect(midleft=(rect.x + 14, rect.centery)))
            if hint:
                surface.blit(hint, hint.get_rect(midright=(rect.right - 14, rect.centery + 1)))
            self.rects.append((rect, item))
            y += rect.height + GAP
