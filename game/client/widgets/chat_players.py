"""The chat panel's players list: who is online (and on which map, when it
is not ours), the people we have talked to, and a badge with the unread count
on each row, and a tag for the owner and the moderators.

A view only: the rows come from ``ChatModel.listed`` (the search applied), and
the panel places the list (``rect``) and opens the conversation clicked.
"""
from __future__ import annotations

import pygame

from .. import theme
from ..chat_model import ChatModel
from .announce import role_tag

ROW_H = 30
WHEEL_PX = 40
STALE_RING = (120, 128, 140)  # last known state while not connected: a ring, not a lit dot
OFFLINE_DOT = (88, 96, 112)
AWAY_DOT = (62, 112, 84)  # online but away from the keyboard: the green dot, dimmed


class PlayersList:
    def __init__(self, model: ChatModel):
        self.model = model
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.scroll = 0.0  # pixels scrolled down from the first row
        self.roles: dict[str, str] = {}  # name -> "owner" / "moderator" (the scene's)

    def height(self, query: str, most: int) -> int:
        """The list's height for the rows shown: at least two rows, at most ``most``."""
        rows = len(self.model.listed(query)) + (1 if self.model.hidden_count(query) else 0)
        return min(max(ROW_H * 2, rows * ROW_H), most)

    def name_at(self, pos: tuple[int, int], query: str) -> str | None:
        """The player on the row under ``pos`` (inside ``rect``)."""
        index = int((pos[1] - self.rect.y + self.scroll) // ROW_H)
        shown = self.model.listed(query)
        return shown[index]["name"] if 0 <= index < len(shown) else None

    def wheel(self, steps: float, query: str) -> None:
        most = max(0, len(self.model.listed(query)) * ROW_H - self.rect.height)
        self.scroll = min(max(0.0, self.scroll - steps * WHEEL_PX), most)

    def draw(self, surface: pygame.Surface, query: str, connected: bool) -> None:
        area = self.rect
        clip = surface.get_clip()
        surface.set_clip(area)
        shown = self.model.listed(query)
        query = query.strip()
        if not shown:
            text = (f"Nobody called “{query}”." if query else
                    "Nobody else is online." if self.model.players else "Nobody else has joined yet.")
            theme.draw_text(surface, text, (area.x + 16, area.y + 6), 14, theme.MUTED)
        first = int(self.scroll // ROW_H)
        stale = not connected
        for i in range(first, min(len(shown), first + area.height // ROW_H + 2)):
            row = pygame.Rect(area.x + 6, area.y + i * ROW_H - int(self.scroll), area.width - 12,
                              ROW_H - 2)
            self._draw_row(surface, shown[i], row, stale)
        hidden = self.model.hidden_count(query)
        if hidden:
            y = area.y + len(shown) * ROW_H - int(self.scroll) + ROW_H // 2
            more = "player" if hidden == 1 else "players"
            theme.draw_text(surface, f"{hidden} more {more}: type a name above to find them",
                            (area.x + 16, y), 12, theme.MUTED, anchor="midleft")
        surface.set_clip(clip)

    def _draw_row(self, surface: pygame.Surface, player: dict, row: pygame.Rect,
                  stale: bool) -> None:
        if player["name"] == self.model.peer:
            theme.rounded_rect(surface, theme.BUBBLE_MINE, row, 6)
        if stale:
            pygame.draw.circle(surface, STALE_RING, (row.x + 14, row.centery), 5, 1)
        else:
            dot = OFFLINE_DOT if not player["online"] else \
                AWAY_DOT if player["name"] in self.model.away else theme.GOOD
            pygame.draw.circle(surface, dot, (row.x + 14, row.centery), 5)
        colour = theme.INK if player["online"] and not stale else theme.MUTED
        drawn = theme.draw_text(surface, player["name"], (row.x + 28, row.centery), 15, colour,
                                anchor="midleft")
        role_tag(surface, self.roles.get(player["name"]), (drawn.right + 6, row.centery + 1))
        count = self.model.unread.get(player["name"], 0)
        elsewhere = self.model.where(player["name"])
        if self.model.is_blocked(player["name"]):  # found with the search, or open
            theme.draw_text(surface, "blocked", (row.right - 10, row.centery), 12, theme.BAD,
                            anchor="midright")
        elif elsewhere or (player["online"] and player["name"] in self.model.away):
            right = row.right - (40 if count else 10)  # on another map of the world, or away
            theme.draw_text(surface, f"on {elsewhere}" if elsewhere else "away",
                            (right, row.centery), 12, theme.MUTED, anchor="midright")
        if count:
            text = theme.font(12, bold=True).render(str(min(count, 99)), True, (255, 255, 255))
            badge = pygame.Rect(0, 0, max(22, text.get_width() + 12), 20)
            badge.midright = (row.right - 8, row.centery)
            theme.rounded_rect(surface, theme.BADGE, badge, 10)
            surface.blit(text, text.get_rect(center=badge.center))
