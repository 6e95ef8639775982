"""The chat panel's Nearby conversation: the lines said aloud around us, each
with its speaker's name, newest at the bottom.

A view only: the lines come from the ``NearbyLog``; the panel places the
header (``header``) and the lines (``rect``) and scrolls (``scroll``).
Laid-out lines are cached by line and width.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame

from game.core import protocol as P

from .. import theme
from ..nearby_log import NearbyLog, Said

LINE_H = 19
NAME_H = 18
GAP = 8
TEXT_FONT = 14
NEARBY_DOT = (94, 170, 255)


class NearbyView:
    def __init__(self, log: NearbyLog, connected: Callable[[], bool]):
        self.log = log
        self.connected = connected
        self.header = pygame.Rect(0, 0, 0, 0)
        self.rect = pygame.Rect(0, 0, 0, 0)  # the lines
        self.scroll = 0.0  # pixels scrolled up from the newest line
        self._cache: dict[tuple, tuple[list[pygame.Surface], int]] = {}

    def laid_out(self, line: Said) -> tuple[list[pygame.Surface], int]:
        """A line's rendered text rows and the height it takes (name row included)."""
        width = self.rect.width - 12
        key = (line, width)
        cached = self._cache.get(key)
        if cached is None:
            font = theme.font(TEXT_FONT)
            rows = [font.render(row, True, theme.INK) for row in theme.wrap(line.text, font, width)]
            cached = (rows, NAME_H + len(rows) * LINE_H + GAP)
            if len(self._cache) > 4 * len(self.log.lines) + 64:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def content_height(self) -> int:
        return sum(self.laid_out(line)[1] for line in self.log.lines)

    def max_scroll(self) -> float:
        return max(0.0, self.content_height() - self.rect.height)

    def status(self) -> str:
        if not self.connected():
            return "not connected: you hear nobody"
        return f"everyone within {P.HEARING_RADIUS_PX} px hears you; nothing is kept"

    def draw(self, surface: pygame.Surface) -> None:
        head = self.header
        pygame.draw.circle(surface, NEARBY_DOT if self.connected() else theme.MUTED,
                           (head.x + 22, head.y + 18), 5)
        theme.draw_text(surface, "Nearby", (head.x + 34, head.y + 6), 18, bold=True)
        theme.draw_text(surface, self.status(), (head.x + 34, head.y + 30), 12,
                        theme.MUTED if self.connected() else theme.WARN)
        area = self.rect
        clip = surface.get_clip()
        surface.set_clip(area)
        lines = list(self.log.lines)
        if not lines:
            theme.draw_text(surface, "Nothing said nearby yet. Walk up to someone and say hello!",
                            (area.centerx, area.y + 8), 13, theme.MUTED, anchor="midtop")
        y = area.bottom - self.content_height() + int(self.scroll)
        for line in lines:
            rows, height = self.laid_out(line)
            if y + height >= area.y and y <= area.bottom:
                self._draw_line(surface, line, rows, y)
            y += height
        surface.set_clip(clip)

    def _draw_line(self, surface: pygame.Surface, line: Said, rows: list[pygame.Surface],
                   y: int) -> None:
        area = self.rect
        colour = theme.ACCENT if line.mine else theme.GOOD
        name = theme.draw_text(surface, "you" if line.mine else line.name, (area.x + 4, y), 13,
                               colour, bold=True)
        if line.at:
            when = time.strftime("%H:%M", time.localtime(line.at / 1000.0))
            theme.draw_text(surface, when, (name.right + 8, y + 2), 11, theme.MUTED)
        for i, row in enumerate(rows):
            surface.blit(row, (area.x + 10, y + NAME_H + i * LINE_H))
