"""The chat panel's open conversation: who it is with, the messages as
bubbles (newest at the bottom), and the messages still on their way with a
line saying what happens to each next.

A view only: the messages come from the ``ChatModel``; the panel places the
header (``header``) and the messages (``rect``) and scrolls (``scroll``).
Laid-out bubbles are cached by message and width.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame

from game.core import protocol as P

from .. import theme
from ..chat_model import FAILED, SENDING, WAITING, ChatModel, Outgoing

BUBBLE_PAD = 8
LINE_H = 19
MESSAGE_FONT = 14
OLDER_H = 24  # the "older messages" line at the top
STALE_RING = (120, 128, 140)
OFFLINE_DOT = (88, 96, 112)


class ConversationView:
    def __init__(self, model: ChatModel, clock: Callable[[], float],
                 connected: Callable[[], bool]):
        self.model = model
        self.clock = clock
        self.connected = connected
        self.header = pygame.Rect(0, 0, 0, 0)
        self.rect = pygame.Rect(0, 0, 0, 0)  # the messages
        self.scroll = 0.0  # pixels scrolled up from the newest message
        self.outgoing_rects: list[tuple[pygame.Rect, int]] = []  # refused bubbles: click to retry
        self._layout_cache: dict[tuple, tuple[list[pygame.Surface], int]] = {}

    # -- sizes ---------------------------------------------------------------------------
    def laid_out(self, item) -> tuple[list[pygame.Surface], int]:
        """An item's rendered lines and the height it takes."""
        width = int(self.rect.width * 0.78) - 2 * BUBBLE_PAD
        if isinstance(item, Outgoing):
            key = ("out", item.local_id, width)
        else:
            key = (item.get("id"), item.get("system"), item.get("at"), width)
        cached = self._layout_cache.get(key)
        if cached is None:
            if isinstance(item, dict) and "system" in item:
                lines = [theme.font(12).render(item["system"], True, theme.MUTED)]
                cached = (lines, 24)
            else:
                text = item.text if isinstance(item, Outgoing) else item["text"]
                text = P.visible_text(text)  # never drawn as something it is not
                font = theme.font(MESSAGE_FONT)
                lines = [font.render(line, True, theme.INK) for line in theme.wrap(text, font, width)]
                cached = (lines, len(lines) * LINE_H + 2 * BUBBLE_PAD + 18)
            self._layout_cache[key] = cached
        return cached

    def shown(self) -> list:
        """Stored messages and notices, then ours on their way."""
        return self.model.items + self.model.outgoing()

    def content_height(self) -> int:
        return (sum(self.laid_out(item)[1] for item in self.shown())
                + (OLDER_H if self.model.has_more else 0))

    def max_scroll(self) -> float:
        return max(0.0, self.content_height() - self.rect.height)

    def retry_at(self, pos: tuple[int, int]) -> int | None:
        """The refused message drawn under ``pos`` (its local id)."""
        for rect, local_id in self.outgoing_rects:
            if rect.collidepoint(pos):
                return local_id
        return None

    # -- words -----------------------------------------------------------------------------
    def peer_status(self) -> str:
        model = self.model
        if model.is_blocked(model.peer):
            return "blocked: you see nothing from them"
        if not self.connected():
            return "not connected; messages go when it returns"
        if model.peer_here:
            return f"{model.peer} is here, in this conversation"
        if model.peer_online:
            return "online, in the world"
        return "offline; they will see your messages later"

    def outgoing_label(self, item: Outgoing) -> tuple[str, tuple]:
        """The line under a message on its way: what happens to it next."""
        if item.state == FAILED and item.not_delivered:
            return "Not delivered", theme.BAD
        if item.state == FAILED:
            return f"Not sent: {item.reason}. Click to try again.", theme.BAD
        if not self.connected():
            return "Waiting for the connection…", theme.WARN
        if item.uncertain:
            return "Checking whether it arrived…", theme.MUTED
        if item.state == WAITING:
            wait = max(1, int(item.retry_at - self.clock() + 0.999))
            return f"Sends in {wait} s ({item.reason})", theme.WARN
        return ("Sending…" if item.state == SENDING else "Queued"), theme.MUTED

    # -- drawing -----------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface) -> None:
        head, model = self.header, self.model
        self.outgoing_rects = []
        if model.peer is None:
            theme.draw_text(surface, "Click a name to start a conversation.",
                            (head.centerx, head.y + 30), 14, theme.MUTED, anchor="midtop")
            return
        connected = self.connected()
        if not connected:
            pygame.draw.circle(surface, STALE_RING, (head.x + 22, head.y + 18), 5, 1)
        else:
            colour = theme.GOOD if model.peer_online else OFFLINE_DOT
            pygame.draw.circle(surface, colour, (head.x + 22, head.y + 18), 5)
        theme.draw_text(surface, model.peer, (head.x + 34, head.y + 6), 18, bold=True)
        if model.opening and self.shown():
            # left of the Block button (ChatPanel places it at the header's right)
            theme.draw_text(surface, "updating…", (head.right - 108, head.y + 10), 12,
                            theme.MUTED, anchor="topright")
        theme.draw_text(surface, self.peer_status(), (head.x + 34, head.y + 30), 12,
                        theme.WARN if not connected else theme.MUTED)
        self._draw_messages(surface)

    def _draw_messages(self, surface: pygame.Surface) -> None:
        area, model = self.rect, self.model
        clip = surface.get_clip()
        surface.set_clip(area)
        shown = self.shown()
        total = self.content_height()
        y = area.bottom - total + int(self.scroll)
        if not shown:  # a note in the empty view, never over a message
            label = ("Loading…" if model.opening else
                     "You block this player. Unblock to see your messages." if
                     model.is_blocked(model.peer) else "No messages yet. Say hello!")
            theme.draw_text(surface, label, (area.centerx, area.y + 8), 13, theme.MUTED,
                            anchor="midtop")
        if model.has_more:
            label = "Loading older messages…" if model.loading_older else "Scroll up for older messages"
            theme.draw_text(surface, label, (area.centerx, y + 4), 12, theme.MUTED, anchor="midtop")
            y += OLDER_H
        for item in shown:
            lines, height = self.laid_out(item)
            if y + height >= area.y and y <= area.bottom:
                self._draw_item(surface, item, lines, y)
            y += height
        surface.set_clip(clip)

    def _draw_item(self, surface: pygame.Surface, item, lines: list[pygame.Surface],
                   y: int) -> None:
        area = self.rect
        if isinstance(item, dict) and "system" in item:
            surface.blit(lines[0], lines[0].get_rect(midtop=(area.centerx, y + 4)))
            return
        outgoing = isinstance(item, Outgoing)
        mine = outgoing or item.get("from") == self.model.me
        width = max(line.get_width() for line in lines) + 2 * BUBBLE_PAD
        height = len(lines) * LINE_H + 2 * BUBBLE_PAD
        bubble = pygame.Rect(0, y, width, height)
        if mine:
            bubble.right = area.right - 2
        else:
            bubble.left = area.left + 2
        if outgoing:  # not stored yet: an outline, not a filled bubble
            theme.rounded_rect(surface, theme.PANEL, bubble, 10)
            edge = theme.BAD if item.state == FAILED else theme.BUBBLE_MINE
            theme.rounded_rect(surface, edge, bubble, 10, 2)
        else:
            theme.rounded_rect(surface, theme.BUBBLE_MINE if mine else theme.BUBBLE_THEIRS, bubble, 10)
        for i, line in enumerate(lines):
            surface.blit(line, (bubble.x + BUBBLE_PAD, bubble.y + BUBBLE_PAD + i * LINE_H))
        if outgoing:
            text, colour = self.outgoing_label(item)
            label = theme.font(11).render(text, True, colour)
            rect = label.get_rect(topright=(bubble.right - 2, bubble.bottom + 1))
            if rect.left < area.left:
                rect.left = area.left
            surface.blit(label, rect)
            if item.state == FAILED:
                self.outgoing_rects.append((bubble.union(rect), item.local_id))
            return
        sent = item.get("sent_at")
        when = time.strftime("%H:%M", time.localtime(sent / 1000.0)) if isinstance(sent, (int, float)) else ""
        label = theme.font(11).render(when, True, theme.MUTED)
        if mine:
            surface.blit(label, label.get_rect(topright=(bubble.right - 2, bubble.bottom + 1)))
        else:
            surface.blit(label, (bubble.x + 2, bubble.bottom + 1))
