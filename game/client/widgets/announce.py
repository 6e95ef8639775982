"""What the host's announcements and the "Who is on" list look like.

``Banner``: an announcement across the top of the world for ``BANNER_S``
seconds (a newer one replaces it; several in a row queue up).
``WhoIsOn``: the answer to ``mod_list`` as a panel (name, role, map, online
since, and the address when the host shows it); Escape or a click closes it.
"""
from __future__ import annotations

import time
from functools import lru_cache

import pygame

from .. import theme

BANNER_S = 8.0
BANNER_COLOUR = (58, 44, 110)
ROLE_COLOURS = {"owner": (236, 180, 60), "moderator": (96, 170, 255)}
ROLE_TAGS = {"owner": "OWNER", "moderator": "MOD"}


def from_ms(value) -> float | None:
    """A wire time (Unix milliseconds) as seconds; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000.0


def clock_time(at: float | None) -> str:
    """18:30 today, "2 Dec 18:00" another day (local time)."""
    if at is None:
        return ""
    local, today = time.localtime(at), time.localtime()
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return f"{local.tm_mday} {time.strftime('%b %H:%M', local)}"


def role_tag(surface: pygame.Surface, role: str | None, midleft: tuple[int, int],
             size: int = 10) -> pygame.Rect | None:
    """A small coloured tag, OWNER or MOD, drawn at ``midleft``; None for players."""
    colour = ROLE_COLOURS.get(role or "")
    if colour is None:
        return None
    text = theme.font(size, bold=True).render(ROLE_TAGS[role], True, (20, 22, 30))
    rect = pygame.Rect(0, 0, text.get_width() + 10, text.get_height() + 2)
    rect.midleft = midleft
    theme.rounded_rect(surface, colour, rect, 5)
    surface.blit(text, text.get_rect(center=rect.center))
    return rect


@lru_cache(maxsize=32)
def role_mark(role: str | None, alpha: int = 255) -> pygame.Surface | None:
    """A small diamond in the role's colour, drawn beside a name tag."""
    colour = ROLE_COLOURS.get(role or "")
    if colour is None:
        return None
    image = pygame.Surface((12, 12), pygame.SRCALPHA)
    points = [(6, 0), (11, 6), (6, 11), (0, 6)]
    pygame.draw.polygon(image, (20, 22, 30), points)
    pygame.draw.polygon(image, colour, [(6, 2), (9, 6), (6, 9), (2, 6)])
    image.set_alpha(alpha)
    return image


class Banner:
    def __init__(self):
        self.queue: list[tuple[str, str]] = []  # (text, from)
        self.left = 0.0

    @property
    def showing(self) -> tuple[str, str] | None:
        return self.queue[0] if self.queue else None

    def add(self, text: str, sender: str) -> None:
        self.queue.append((text, sender))
        del self.queue[:-3]
        if len(self.queue) == 1:
            self.left = BANNER_S

    def update(self, dt: float) -> None:
        if not self.queue:
            return
        self.left -= dt
        if self.left <= 0:
            self.queue.pop(0)
            self.left = BANNER_S if self.queue else 0.0

    def draw(self, surface: pygame.Surface, view: pygame.Rect, top: int) -> pygame.Rect | None:
        """Draw the announcement shown now; its place, or None."""
        if not self.queue:
            return None
        text, sender = self.queue[0]
        fade = max(0.0, min(1.0, self.left / 0.5, (BANNER_S - self.left) / 0.3 + 0.2))
        head = theme.font(12, bold=True).render(f"ANNOUNCEMENT FROM {sender.upper()}", True,
                                                (214, 200, 255))
        font = theme.font(17, bold=True)
        most = view.width - 80
        line = text
        while line and font.size(line)[0] > most - 40:
            line = line[:-2] + "…" if len(line) > 2 else ""
        body = font.render(line, True, theme.INK)
        rect = pygame.Rect(0, top, min(most, max(420, body.get_width() + 40)), 58)
        rect.centerx = view.centerx
        image = pygame.Surface(rect.size, pygame.SRCALPHA)
        theme.rounded_rect(image, BANNER_COLOUR, image.get_rect(), 12)
        theme.rounded_rect(image, (150, 126, 240), image.get_rect(), 12, 2)
        image.blit(head, head.get_rect(midtop=(rect.width // 2, 8)))
        image.blit(body, body.get_rect(midtop=(rect.width // 2, 26)))
        image.set_alpha(int(255 * fade))
        surface.blit(image, rect)
        return rect


class WhoIsOn:
    WIDTH = 620
    ROW = 26

    def __init__(self, players: list[dict], now: float | None = None):
        self.players = sorted((p for p in players if isinstance(p, dict)),
                              key=lambda p: str(p.get("name", "")).lower())
        self.now = time.time() if now is None else now
        self.is_open = True
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.scroll = 0

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.is_open:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_ESCAPE, pygame.K_RETURN, pygame.K_KP_ENTER):
                self.is_open = False
            elif event.key in (pygame.K_DOWN, pygame.K_s):
                self.scroll = min(self.scroll + 1, max(0, len(self.players) - 1))
            elif event.key in (pygame.K_UP, pygame.K_w):
                self.scroll = max(0, self.scroll - 1)
            return True
        if event.type == pygame.MOUSEWHEEL:
            self.scroll = min(max(0, self.scroll - event.y), max(0, len(self.players) - 1))
            return True
        if event.type == pygame.MOUSEBUTTONDOWN:
            if not self.rect.collidepoint(event.pos) or event.button == 1:
                self.is_open = False
            return True
        return event.type in (pygame.KEYUP, pygame.TEXTINPUT, pygame.MOUSEBUTTONUP)

    def since(self, at_ms) -> str:
        at = from_ms(at_ms)
        if at is None:
            return ""
        minutes = max(0, int(self.now - at) // 60)
        ago = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
        return f"{clock_time(at)} ({ago})"

    def draw(self, surface: pygame.Surface) -> None:
        if not self.is_open:
            return
        w, h = surface.get_size()
        addresses = any("address" in p for p in self.players)
        rows = max(1, min(len(self.players) - self.scroll, (h - 200) // self.ROW))
        self.rect = pygame.Rect(0, 0, min(self.WIDTH, w - 40), 100 + rows * self.ROW)
        self.rect.center = (w // 2, h // 2)
        r = self.rect
        surface.blit(theme.translucent(surface.get_size(), theme.SHADE, 120, 0), (0, 0))
        theme.rounded_rect(surface, theme.PANEL, r, 14)
        theme.rounded_rect(surface, theme.PANEL_EDGE, r, 14, 1)
        count = len(self.players)
        theme.draw_text(surface, f"Who is on  ·  {count} online", (r.x + 20, r.y + 14), 19,
                        bold=True)
        cols = [r.x + 20, r.x + 190, r.x + 290, r.x + 420 if addresses else r.right]
        y = r.y + 50
        for x, head in zip(cols, ("NAME", "MAP", "SINCE", "ADDRESS" if addresses else "")):
            theme.draw_text(surface, head, (x, y), 11, theme.MUTED, bold=True)
        y += 20
        for p in self.players[self.scroll:self.scroll + rows]:
            name = str(p.get("name", "?"))
            text = theme.draw_text(surface, name, (cols[0], y + self.ROW // 2), 14,
                                   anchor="midleft")
            role_tag(surface, p.get("role"), (text.right + 6, text.centery))
            theme.draw_text(surface, str(p.get("map") or ""), (cols[1], y + self.ROW // 2), 13,
                            theme.MUTED, anchor="midleft")
            theme.draw_text(surface, self.since(p.get("since")), (cols[2], y + self.ROW // 2), 13,
                            theme.MUTED, anchor="midleft")
            if addresses:
                theme.draw_text(surface, str(p.get("address") or ""),
                                (cols[3], y + self.ROW // 2), 13, theme.MUTED, anchor="midleft")
            y += self.ROW
        hint = "Esc or click: close" + ("    wheel: scroll" if count > rows else "")
        theme.draw_text(surface, hint, (r.x + 20, r.bottom - 20), 12, theme.MUTED,
                        anchor="midleft")
