"""The connection indicator: a small pill with a coloured dot and the ping.

Away from the host it says so in words, with a second line telling what that
means for the player (the world on screen is out of date; when the next try
is), until the connection returns."""
from __future__ import annotations

import pygame

from .. import theme

ONLINE, RECONNECTING, JOINING, OFFLINE = "online", "reconnecting", "joining", "offline"
HOST_STOPPED = "host_stopped"  # the host said goodbye; the client retries in the background


class ConnectionIndicator:
    def __init__(self):
        self.state = JOINING
        self.ping_ms: float | None = None
        self.players = 0  # you and the players near you
        self.online = 0  # everyone in the world, you included
        self.t = 0.0
        self.away_s = 0.0  # how long we have been without the host
        self.next_try_in: float | None = None  # seconds to the next reconnect attempt, if known

    def handle_event(self, event: pygame.event.Event) -> bool:
        return False

    def update(self, dt: float) -> None:
        self.t += dt
        if self.state in (RECONNECTING, HOST_STOPPED):
            self.away_s += dt
            if self.next_try_in is not None:
                self.next_try_in = max(0.0, self.next_try_in - dt)
        elif self.state == ONLINE:
            self.away_s, self.next_try_in = 0.0, None

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
        if self.state == HOST_STOPPED:
            return "The host was stopped"
        if self.state == JOINING:
            return "Joining" + dots
        return "Offline"

    def detail(self) -> str:
        """The second line, away from the host."""
        if self.state == HOST_STOPPED:
            if self.next_try_in is not None and self.next_try_in >= 1:
                return f"Trying again in {self.next_try_in:.0f} s · the world shown is out of date"
            return "Trying again… · the world shown is out of date"
        if self.state == RECONNECTING:
            return "The world shown is out of date until the connection returns"
        return ""

    def crowd_text(self) -> str:
        """Who is around, in words: "  ·  22 players  ·  10 near you"."""
        if not self.online:
            return ""
        if self.online <= 1:
            return "  ·  only you in the world"
        near = max(0, self.players - 1)
        return f"  ·  {self.online} players  ·  {near or 'nobody'} near you"

    def colour(self):
        return {ONLINE: theme.GOOD, RECONNECTING: theme.WARN, HOST_STOPPED: theme.WARN,
                JOINING: theme.ACCENT}.get(self.state, theme.BAD)

    def draw(self, surface: pygame.Surface, pos: tuple[int, int] = (12, 12)) -> pygame.Rect:
        text = theme.font(14, bold=True).render(self.text(), True, theme.INK)
        detail = self.detail()
        small = theme.font(12).render(detail, True, theme.MUTED) if detail else None
        width = max(text.get_width(), small.get_width() if small else 0) + 38
        rect = pygame.Rect(pos, (width, 48 if small else 30))
        surface.blit(theme.translucent(rect.size, theme.PANEL, 210, 15), rect)
        colour = self.colour()
        if self.state in (RECONNECTING, HOST_STOPPED) and int(self.t * 2) % 2:
            colour = tuple(c // 2 for c in colour)
        pygame.draw.circle(surface, colour, (rect.x + 16, rect.y + 15), 6)
        surface.blit(text, (rect.x + 28, rect.y + 15 - text.get_height() // 2))
        if small:
            surface.blit(small, (rect.x + 28, rect.y + 28))
        return rect
