"""A small right-click menu, and the dialog an action that needs a reason opens.

``ContextMenu`` lists (label, action) items beside the pointer: Up/Down or the
mouse choose, Enter or a click runs the item, Escape or a click outside closes
it.  ``TextDialog`` asks for one line of text (a reason, an announcement) with
Confirm and Cancel: Enter confirms, Escape cancels.  Both own their state and
follow the widget pattern: ``handle_event`` (True when used), ``draw``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pygame

from .. import theme

ROW_H = 28
MENU_W = 210
TITLE_H = 30
PAD = 6


@dataclass
class MenuItem:
    label: str
    action: Callable[[], None]
    colour: tuple = theme.INK


class ContextMenu:
    def __init__(self):
        self.items: list[MenuItem] = []
        self.title = ""
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.selected = -1
        self.is_open = False

    def open(self, pos: tuple[int, int], title: str, items: list[MenuItem],
             bounds: pygame.Rect) -> None:
        """Show ``items`` under a ``title`` at ``pos``, kept inside ``bounds``."""
        self.items, self.title, self.selected = list(items), title, -1
        height = TITLE_H + len(self.items) * ROW_H + PAD
        self.rect = pygame.Rect(pos[0], pos[1], MENU_W, height)
        self.rect.clamp_ip(bounds)
        self.is_open = bool(self.items)

    def close(self) -> None:
        self.is_open = False
        self.selected = -1

    def labels(self) -> list[str]:
        return [item.label for item in self.items]

    def row_rect(self, index: int) -> pygame.Rect:
        return pygame.Rect(self.rect.x + 4, self.rect.y + TITLE_H + index * ROW_H,
                           self.rect.width - 8, ROW_H)

    def index_at(self, pos: tuple[int, int]) -> int:
        for i in range(len(self.items)):
            if self.row_rect(i).collidepoint(pos):
                return i
        return -1

    def choose(self, index: int) -> None:
        """Run item ``index`` (the menu closes first: the action may open a dialog)."""
        if 0 <= index < len(self.items):
            item = self.items[index]
            self.close()
            item.action()

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.is_open:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.close()
            elif event.key in (pygame.K_DOWN, pygame.K_s, pygame.K_TAB):
                self.selected = (self.selected + 1) % len(self.items)
            elif event.key in (pygame.K_UP, pygame.K_w):
                start = self.selected if self.selected >= 0 else len(self.items)
                self.selected = (start - 1) % len(self.items)
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_SPACE):
                self.choose(self.selected)
            return True  # the keys do not walk or type while the menu is open
        if event.type in (pygame.KEYUP, pygame.TEXTINPUT):
            return True
        if event.type == pygame.MOUSEMOTION:
            index = self.index_at(event.pos)
            if index >= 0:
                self.selected = index
            return False
        if event.type == pygame.MOUSEBUTTONDOWN:
            if not self.rect.collidepoint(event.pos):
                self.close()  # a click outside only closes the menu
                return True
            if event.button == 1:
                self.choose(self.index_at(event.pos))
            return True
        if event.type == pygame.MOUSEBUTTONUP:
            return self.rect.collidepoint(event.pos)
        return False

    def draw(self, surface: pygame.Surface) -> None:
        if not self.is_open:
            return
        r = self.rect
        shadow = r.move(3, 4)
        surface.blit(theme.translucent(shadow.size, (0, 0, 0), 110, 10), shadow)
        theme.rounded_rect(surface, theme.PANEL, r, 10)
        theme.rounded_rect(surface, theme.PANEL_EDGE, r, 10, 1)
        theme.draw_text(surface, self.title, (r.x + 12, r.y + TITLE_H // 2 + 1), 13, theme.MUTED,
                        bold=True, anchor="midleft")
        pygame.draw.line(surface, theme.PANEL_EDGE, (r.x + 8, r.y + TITLE_H - 3),
                         (r.right - 8, r.y + TITLE_H - 3))
        for i, item in enumerate(self.items):
            row = self.row_rect(i)
            if i == self.selected:
                theme.rounded_rect(surface, theme.BUBBLE_MINE, row, 6)
            theme.draw_text(surface, item.label, (row.x + 10, row.centery), 14, item.colour,
                            anchor="midleft")


class TextLine:
    """A one-line text field drawn in the game's style (typing, Backspace,
    a length limit); the dialog around it decides what Enter does."""

    def __init__(self, limit: int, placeholder: str = ""):
        self.text = ""
        self.limit = limit
        self.placeholder = placeholder

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.TEXTINPUT:
            self.text = (self.text + event.text)[:self.limit]
            return True
        if event.type == pygame.KEYDOWN and event.key == pygame.K_BACKSPACE:
            self.text = self.text[:-1]
            return True
        return False

    def draw(self, surface: pygame.Surface, rect: pygame.Rect, now: float) -> None:
        theme.rounded_rect(surface, (18, 21, 29), rect, 6)
        theme.rounded_rect(surface, theme.ACCENT, rect, 6, 2)
        font = theme.font(15)
        shown, colour = (self.text, theme.INK) if self.text else (self.placeholder, theme.MUTED)
        while shown and font.size(shown)[0] > rect.width - 20:
            shown = shown[1:]  # the end of a long line stays in view
        image = font.render(shown, True, colour)
        surface.blit(image, image.get_rect(midleft=(rect.x + 10, rect.centery)))
        if int(now * 2) % 2 == 0:  # the caret blinks
            x = rect.x + 10 + (font.size(shown)[0] if self.text else 0) + 1
            pygame.draw.line(surface, theme.INK, (x, rect.y + 8), (x, rect.bottom - 8), 2)


class TextDialog:
    """A small box over the screen: a title, a line of explanation, a text
    field and Confirm / Cancel.  ``on_confirm(text)`` gets the text (stripped;
    it may be empty unless ``required``)."""

    WIDTH, HEIGHT = 440, 200

    def __init__(self, title: str, explain: str, confirm: str,
                 on_confirm: Callable[[str], None], *, limit: int = 200,
                 placeholder: str = "", required: bool = False, danger: bool = False):
        self.title, self.explain, self.confirm_label = title, explain, confirm
        self.on_confirm = on_confirm
        self.field = TextLine(limit, placeholder)
        self.required = required
        self.danger = danger
        self.is_open = True
        self.rect = pygame.Rect(0, 0, self.WIDTH, self.HEIGHT)
        self.confirm_rect = pygame.Rect(0, 0, 0, 0)
        self.cancel_rect = pygame.Rect(0, 0, 0, 0)
        self.problem = ""

    def layout(self, size: tuple[int, int]) -> None:
        self.rect.center = (size[0] // 2, size[1] // 2)
        self.field_rect = pygame.Rect(self.rect.x + 20, self.rect.y + 86, self.rect.width - 40, 38)
        self.cancel_rect = pygame.Rect(0, 0, 120, 36)
        self.cancel_rect.bottomright = (self.rect.right - 20, self.rect.bottom - 16)
        self.confirm_rect = pygame.Rect(0, 0, 150, 36)
        self.confirm_rect.bottomright = (self.cancel_rect.x - 10, self.cancel_rect.bottom)

    def confirm(self) -> None:
        text = self.field.text.strip()
        if self.required and not text:
            self.problem = "Write something first."
            return
        self.is_open = False
        self.on_confirm(text)

    def cancel(self) -> None:
        self.is_open = False

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.is_open:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.cancel()
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.confirm()
            else:
                self.field.handle_event(event)
            return True
        if self.field.handle_event(event):
            self.problem = ""
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.confirm_rect.collidepoint(event.pos):
                self.confirm()
            elif self.cancel_rect.collidepoint(event.pos):
                self.cancel()
            return True  # the dialog is modal: the world does not get the click
        return event.type in (pygame.KEYUP, pygame.MOUSEBUTTONUP, pygame.MOUSEWHEEL)

    def draw(self, surface: pygame.Surface, now: float) -> None:
        if not self.is_open:
            return
        self.layout(surface.get_size())
        surface.blit(theme.translucent(surface.get_size(), theme.SHADE, 120, 0), (0, 0))
        r = self.rect
        theme.rounded_rect(surface, theme.PANEL, r, 14)
        theme.rounded_rect(surface, theme.PANEL_EDGE, r, 14, 1)
        theme.draw_text(surface, self.title, (r.x + 20, r.y + 16), 19, bold=True)
        theme.draw_text(surface, self.explain, (r.x + 20, r.y + 50), 13, theme.MUTED)
        self.field.draw(surface, self.field_rect, now)
        if self.problem:
            theme.draw_text(surface, self.problem, (r.x + 20, self.field_rect.bottom + 6), 12,
                            theme.BAD)
        pointer = pygame.mouse.get_pos() if pygame.display.get_surface() is not None else (-1, -1)
        for rect, label, colour in ((self.confirm_rect, self.confirm_label,
                                     (168, 52, 60) if self.danger else (47, 91, 148)),
                                    (self.cancel_rect, "Cancel", (52, 60, 78))):
            hovered = rect.collidepoint(pointer)
            theme.rounded_rect(surface, tuple(min(255, c + 22) for c in colour) if hovered
                               else colour, rect, 6)
            theme.draw_text(surface, label, rect.center, 15, bold=True, anchor="center")
        theme.draw_text(surface, "Enter: confirm    Esc: cancel", (r.x + 20, r.bottom - 34), 12,
                        theme.MUTED, anchor="midleft")
