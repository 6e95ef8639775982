"""Choosing what your avatar looks like.

``LookPicker`` is the chooser itself: a turning, walking preview and one row
per part of the look (skin, hair, hair colour, shirt, trousers, shoes), each
with arrows to step through its options.  The login screen shows one beside
the form for new accounts.

``LookEditor`` is the "Your look" window over the world (L in the game, or
from a menu): the picker with Random, Save and Cancel.  It sends ``set_look``
itself and reads the host's answer, so the scene only passes events, answers
and the client to it.

Controls in the editor: Up/Down choose a row, Left/Right change it, R picks a
random look, Enter saves, Escape cancels; the mouse works on every control.
"""
from __future__ import annotations

import random
from typing import Any, Callable

import pygame

from game.core import protocol as P

from .. import theme

ROWS = (("skin", "Skin"), ("hair", "Hair"), ("hair_colour", "Hair colour"),
        ("shirt", "Shirt"), ("trousers", "Trousers"), ("shoes", "Shoes"))
# The part of the drawing whose colour a row's swatch shows.
SWATCH_PART = {"skin": "skin", "hair_colour": "hair", "shirt": "shirt", "trousers": "pants",
               "shoes": "shoes"}
ROW_H = 30
PREVIEW_SCALE = 4
TURN_S = 1.4  # the preview faces each way this long
STRIDE_S = 0.16  # one walking frame
ANSWER_TIMEOUT_S = 6.0
PICKER_W = 300
EDITOR_W, EDITOR_H = 380, 520


def pretty(value: str) -> str:
    return value.replace("_", " ")


class LookPicker:
    """The look chooser: a preview and a row of arrows per part."""

    def __init__(self, look: P.Look, art: Any, rng: random.Random | None = None):
        self.look = look
        self.art = art  # a sprites.LookArt
        self.rng = rng or random.Random()
        self.row = 0  # the row the keyboard changes
        self.rect = pygame.Rect(0, 0, PICKER_W, self.height())
        self.clock = 0.0
        self._arrows: list[tuple[pygame.Rect, int, int]] = []  # (rect, row, step)
        self._rows: list[pygame.Rect] = []
        self.random_button = pygame.Rect(0, 0, 0, 0)
        self.hover: tuple[int, int] | None = None

    @staticmethod
    def height() -> int:
        return 32 * PREVIEW_SCALE + 16 + ROW_H * len(ROWS) + 44

    def layout(self, topleft: tuple[int, int], width: int = PICKER_W) -> None:
        self.rect = pygame.Rect(topleft, (width, self.height()))
        top = self.rect.y + 32 * PREVIEW_SCALE + 16
        self._arrows, self._rows = [], []
        for i in range(len(ROWS)):
            row = pygame.Rect(self.rect.x, top + i * ROW_H, width, ROW_H - 2)
            self._rows.append(row)
            left = pygame.Rect(row.x + 104, row.y + 2, 26, ROW_H - 6)
            right = pygame.Rect(row.right - 26, row.y + 2, 26, ROW_H - 6)
            self._arrows += [(left, i, -1), (right, i, 1)]
        self.random_button = pygame.Rect(0, 0, 120, 32)
        self.random_button.midtop = (self.rect.centerx, top + len(ROWS) * ROW_H + 8)

    # -- changing the look --------------------------------------------------------------
    def step(self, row: int, step: int) -> None:
        name = ROWS[row][0]
        options = P.LOOK_OPTIONS[name]
        current = options.index(getattr(self.look, name))
        self.look = self.look.replace(name, options[(current + step) % len(options)])

    def randomise(self) -> None:
        self.look = P.random_look(self.rng)

    # -- input ---------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event, keyboard: bool = True) -> bool:
        """True when the event changed or was meant for the picker."""
        if event.type == pygame.MOUSEMOTION:
            self.hover = next(((r, s) for rect, r, s in self._arrows
                               if rect.collidepoint(event.pos)), None)
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button in (1, 4, 5):
            for rect, row, step in self._arrows:
                if event.button == 1 and rect.collidepoint(event.pos):
                    self.row = row
                    self.step(row, step)
                    return True
            for row, rect in enumerate(self._rows):
                if rect.collidepoint(event.pos):
                    self.row = row
                    if event.button in (4, 5):  # the wheel steps through a row
                        self.step(row, -1 if event.button == 4 else 1)
                    return True
            if event.button == 1 and self.random_button.collidepoint(event.pos):
                self.randomise()
                return True
            return False
        if keyboard and event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_UP, pygame.K_w):
                self.row = (self.row - 1) % len(ROWS)
            elif event.key in (pygame.K_DOWN, pygame.K_s):
                self.row = (self.row + 1) % len(ROWS)
            elif event.key in (pygame.K_LEFT, pygame.K_a):
                self.step(self.row, -1)
            elif event.key in (pygame.K_RIGHT, pygame.K_d):
                self.step(self.row, 1)
            elif event.key == pygame.K_r:
                self.randomise()
            else:
                return False
            return True
        return False

    def update(self, dt: float) -> None:
        self.clock += dt

    # -- drawing ---------------------------------------------------------------------------
    def preview(self) -> pygame.Surface:
        """The look, walking and turning, at PREVIEW_SCALE times its size."""
        frames = self.art.frames_for(self.look)
        facing = (0, 1, 3, 2)[int(self.clock / TURN_S) % 4]  # down, left, up, right
        frame = frames[facing][int(self.clock / STRIDE_S) % len(frames[facing])]
        return pygame.transform.scale_by(frame, PREVIEW_SCALE)

    def draw(self, surface: pygame.Surface, focused: bool = True) -> None:
        image = self.preview()
        spot = image.get_rect(midtop=(self.rect.centerx, self.rect.y))
        pad = spot.inflate(24, 8)
        surface.blit(theme.translucent(pad.size, (112, 178, 84), 255, 14), pad)
        surface.blit(image, spot)
        for i, ((name, caption), row) in enumerate(zip(ROWS, self._rows)):
            selected = focused and i == self.row
            if selected:
                theme.rounded_rect(surface, theme.PANEL_ALT, row, 6)
            theme.draw_text(surface, caption, (row.x + 8, row.centery), 14,
                            theme.INK if selected else theme.MUTED, bold=selected,
                            anchor="midleft")
            value = getattr(self.look, name)
            middle = pygame.Rect(row.x + 132, row.y, row.width - 132 - 28, row.height)
            part = SWATCH_PART.get(name)
            text_x = middle.centerx
            if part is not None:
                swatch = pygame.Rect(0, 0, 14, 14)
                swatch.midleft = (middle.x + 8, middle.centery)
                theme.rounded_rect(surface, self.art.colour(self.look, part), swatch, 3)
                theme.rounded_rect(surface, theme.PANEL_EDGE, swatch, 3, 1)
                text_x += 10
            theme.draw_text(surface, pretty(value), (text_x, middle.centery), 14, theme.INK,
                            anchor="center")
        for rect, row, step in self._arrows:
            hot = self.hover == (row, step)
            theme.rounded_rect(surface, (61, 114, 184) if hot else (47, 91, 148), rect, 5)
            tip = rect.centerx + 3 * step
            points = [(tip, rect.centery), (tip - 6 * step, rect.centery - 6),
                      (tip - 6 * step, rect.centery + 6)]
            pygame.draw.polygon(surface, theme.INK, points)
        _button(surface, self.random_button, "Random", secondary=True)


def _button(surface: pygame.Surface, rect: pygame.Rect, label: str, secondary: bool = False,
            enabled: bool = True) -> None:
    fill = (52, 60, 78) if secondary else (47, 91, 148)
    edge = (86, 96, 122) if secondary else theme.ACCENT
    if not enabled:
        fill, edge = (42, 47, 59), (58, 66, 84)
    theme.rounded_rect(surface, fill, rect, 6)
    theme.rounded_rect(surface, edge, rect, 6, 1)
    theme.draw_text(surface, label, rect.center, 15, theme.INK if enabled else theme.MUTED,
                    bold=True, anchor="center")


class LookEditor:
    """The "Your look" window: a modal panel over the game.

    ``client`` is the game's ``HostClient``; the editor sends ``set_look``
    with ``client.request`` and the scene hands the answer back through
    ``on_answer``.  ``on_saved(look)`` runs when the host has stored it.
    """

    def __init__(self, art: Any, client: Any, on_saved: Callable[[P.Look], None] | None = None,
                 clock: Callable[[], float] | None = None):
        self.art = art
        self.client = client
        self.on_saved = on_saved
        self.clock = clock
        self.visible = False
        self.saved_look: P.Look | None = None
        self.picker: LookPicker | None = None
        self.message = ""
        self.waiting_since: float | None = None
        self._token = 0
        self._elapsed = 0.0
        self.rect = pygame.Rect(0, 0, EDITOR_W, EDITOR_H)
        self.save_button = pygame.Rect(0, 0, 150, 38)
        self.cancel_button = pygame.Rect(0, 0, 150, 38)

    # -- opening and closing -------------------------------------------------------------
    def open(self, look: P.Look, size: tuple[int, int]) -> None:
        self.saved_look = look
        self.picker = LookPicker(look, self.art)
        self.message = ""
        self.waiting_since = None
        self.visible = True
        self.layout(size)

    def close(self) -> None:
        self.visible = False
        self.waiting_since = None

    def layout(self, size: tuple[int, int]) -> None:
        self.rect = pygame.Rect(0, 0, EDITOR_W, EDITOR_H)
        self.rect.center = (size[0] // 2, size[1] // 2)
        self.rect.clamp_ip(pygame.Rect((0, 0), size))
        if self.picker is not None:
            self.picker.layout((self.rect.x + 40, self.rect.y + 62), EDITOR_W - 80)
        gap = 12
        self.save_button.topleft = (self.rect.centerx + gap // 2, self.rect.bottom - 86)
        self.cancel_button.topright = (self.rect.centerx - gap // 2, self.rect.bottom - 86)

    @property
    def saving(self) -> bool:
        return self.waiting_since is not None

    @property
    def changed(self) -> bool:
        return self.picker is not None and self.picker.look != self.saved_look

    # -- input --------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        """While open the editor takes every event (it is modal)."""
        if not self.visible:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.close()
                return True
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.save()
                return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.save_button.collidepoint(event.pos):
                self.save()
                return True
            if self.cancel_button.collidepoint(event.pos):
                self.close()
                return True
        if not self.saving and self.picker.handle_event(event):
            self.message = ""
        return event.type not in (pygame.QUIT, pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED)

    def save(self) -> None:
        if self.saving or self.picker is None:
            return
        if not self.changed:
            self.close()
            return
        if not self.client.connected:
            self.message = "Not connected to the host. Try again when you are back online."
            return
        self._token += 1
        try:
            self.client.request(P.SET_LOOK, self.picker.look.as_dict(), ("look", self._token))
        except Exception:
            self.message = "Not connected to the host. Try again when you are back online."
            return
        self.waiting_since = self._elapsed
        self.message = ""

    def on_answer(self, tag: Any, reply: Any) -> None:
        """The host's answer to a ``set_look`` this editor sent."""
        if tag != ("look", self._token) or not self.saving:
            return  # an answer to an earlier attempt, or the editor was closed
        self.waiting_since = None
        if isinstance(reply, dict) and reply.get("ok"):
            try:
                look = P.parse_look(reply.get("look"))
            except P.ProtocolError:
                look = self.picker.look  # stored; the answer just did not echo it
            self.saved_look = look
            if self.on_saved is not None:
                self.on_saved(look)
            self.close()
            return
        message = reply.get("message") if isinstance(reply, dict) else None
        self.message = _sentence(message or "The host did not accept that look.")[:70]

    def update(self, dt: float) -> None:
        if not self.visible:
            return
        self._elapsed += dt
        self.picker.update(dt)
        if self.saving and self._elapsed - self.waiting_since > ANSWER_TIMEOUT_S:
            self.waiting_since = None
            self._token += 1  # a late answer no longer counts
            self.message = "The host did not answer. Try again."

    # -- drawing --------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface) -> None:
        if not self.visible:
            return
        shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
        shade.fill((10, 12, 18, 150))
        surface.blit(shade, (0, 0))
        card = self.rect
        surface.blit(theme.translucent(card.size, theme.PANEL, 245, 16), card)
        theme.rounded_rect(surface, theme.PANEL_EDGE, card, 16, 1)
        theme.draw_text(surface, "Your look", (card.centerx, card.y + 18), 24, bold=True,
                        anchor="midtop")
        self.picker.draw(surface, focused=not self.saving)
        _button(surface, self.cancel_button, "Cancel", secondary=True)
        _button(surface, self.save_button, "Saving…" if self.saving else "Save",
                enabled=not self.saving)
        if self.message:
            theme.draw_text(surface, self.message, (card.centerx, self.save_button.bottom + 10),
                            13, theme.BAD, anchor="midtop")
        else:
            theme.draw_text(surface, "Arrows: choose and change   R: random   Enter: save   "
                            "Esc: cancel", (card.centerx, self.save_button.bottom + 12), 12,
                            theme.MUTED, anchor="midtop")


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."
