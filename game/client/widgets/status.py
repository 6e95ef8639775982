"""The connection indicator: a small pill with a coloured dot and the ping."""
from __future__ import annotations

import pygame

from .. import theme

ONLINE, RECONNECTING, JOINING, OFFLINE = "online", "reconnecting", "joining", "offline"


class ConnectionIndicator:
    def __init__(self):
        self.state = JOINING
        self.ping_ms: float | None = None
        self.players = 0  # you and the players near you
        self.online = 0  # everyone in the world, you included
        self.t = 0.0

    def handle_event(self, event: pygame.event.Event) -> bool:
        return False

    def update(self, dt: float) -> None:
        self.t += dt

    def set_ping(self, rtt_ms: float) -> None:
        # Smooth the number so it is readable, but follow big changes quickly.
        if self.ping_ms is None or abs(rtt_ms - self.ping_ms) > 50:
            self.ping_ms = rtt_ms
        else:
            self.ping_ms += (rtt_ms - self.ping_ms) * 0.3

    def text(self) -> str:
        if self.state == ONLINE:
            ping = f"{self.ping_ms:.0f} ms" if self.ping_ms is not None else "… ms"
            return f"Online  ·  {ping}{self.crowd_text()}"
        dots = "." * (1 + int(self.t * 3) % 3)
        if self.state == RECONNECTING:
            return "Reconnecting" + dots
        if self.state == JOINING:
            return "Joining" + dots
        return "Offline"

    def crowd_text(self) -> str:
        """Who is around, in words: "  ·  22 players  ·  10 near you"."""
        if not self.online:
            return ""
        if self.online <= 1:
            return "  ·  only you in the world"
        near = max(0, self.players - 1)
        return f"  ·  {self.online} players  ·  {near or 'nobody'} near you"

    def colour(self):
        return {ONLINE: theme.GOOD, RECONNECTING: theme.WARN, JOINING: theme.ACCENT}.get(
            self.state, theme.BAD)

    def draw(self, surface: pygame.Surface, pos: tuple[int, int] = (12, 12)) -> pygame.Rect:
        text = theme.font(14, bold=True).render(self.text(), True, theme.INK)
        rect = pygame.Rect(pos, (text.get_width() + 38, 30))
        surface.blit(theme.translucent(rect.size, theme.PANEL, 210, 15), rect)
        colour = self.colour()
        if self.state == RECONNECTING and int(self.t * 2) % 2:
            colour = tuple(c // 2 for c in colour)
        pygame.draw.circle(surface, colour, (rect.x + 16, rect.centery), 6)
        surface.blit(text, (rect.x + 28, rect.centery - text.get_height() // 2))
        return rect
