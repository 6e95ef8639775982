"""The player's own avatar: moved at once on input, checked later by the host.

Pure (no pygame).  ``Predictor`` walks with the same ``game.core.rules.step`` the
host validates with, so walls block and the speed is capped exactly as the
host expects.  When the host refuses a move it sends a correction; the
avatar's true position jumps back but the drawn position eases there over a
fraction of a second.  ``MoveSender`` decides when a position goes out: at most
``SEND_RATE_HZ`` times a second, only while the position changes, and once
more when the player stops so the host knows where they came to rest.
"""
from __future__ import annotations

import math

from game.core import rules

SEND_RATE_HZ = 20.0
# How fast the drawn avatar closes the gap after a correction (per second).
EASE_RATE = 14.0
# Corrections further than this are not eased: the avatar simply appears there.
SNAP_DISTANCE = 256.0
# Walking animation: one frame every this many pixels walked.
STRIDE_PX = 10.0

DOWN, LEFT, RIGHT, UP = 0, 1, 2, 3  # rows of the avatar sheet, per direction


def facing_for(dx: float, dy: float, current: int = DOWN) -> int:
    """Which way an avatar moving by (dx, dy) faces (the bigger axis wins)."""
    if dx == 0 and dy == 0:
        return current
    if abs(dx) > abs(dy):
        return RIGHT if dx > 0 else LEFT
    return DOWN if dy > 0 else UP


class Predictor:
    def __init__(self, world: rules.WorldMap, x: float, y: float, speed: float = rules.WALK_SPEED):
        self.world = world
        self.speed = speed
        self.x, self.y = x, y
        self.prev_x, self.prev_y = x, y  # position before the last update, for drawing
        self.ease_x = self.ease_y = 0.0  # drawn position minus true position
        self.prev_ease_x = self.prev_ease_y = 0.0
        self.facing = DOWN
        self.walked = 0.0
        self.moving = False
        self.ignore_upto = -1  # corrections for moves up to this seq are stale

    def update(self, direction: tuple[float, float], dt: float) -> None:
        """One fixed step of walking in ``direction`` (a unit vector or zero)."""
        self.prev_x, self.prev_y = self.x, self.y
        self.prev_ease_x, self.prev_ease_y = self.ease_x, self.ease_y
        dx, dy = direction
        if dx or dy:
            self.facing = facing_for(dx, dy, self.facing)
            self.x, self.y = rules.step(self.world, self.x, self.y, dx, dy, dt, self.speed)
        moved = math.hypot(self.x - self.prev_x, self.y - self.prev_y)
        self.walked += moved
        self.moving = moved > 1e-6
        keep = math.exp(-EASE_RATE * dt)
        self.ease_x *= keep
        self.ease_y *= keep
        if abs(self.ease_x) < 0.1 and abs(self.ease_y) < 0.1:
            self.ease_x = self.ease_y = 0.0

    def drawn(self, alpha: float = 1.0) -> tuple[float, float]:
        """Where to draw the avatar, ``alpha`` of the way from the previous step."""
        x = self.prev_x + (self.x - self.prev_x) * alpha
        y = self.prev_y + (self.y - self.prev_y) * alpha
        ex = self.prev_ease_x + (self.ease_x - self.prev_ease_x) * alpha
        ey = self.prev_ease_y + (self.ease_y - self.prev_ease_y) * alpha
        return x + ex, y + ey

    def correct(self, seq: int | None, x: float, y: float, newest_seq: int) -> bool:
        """Apply a host correction; returns False when it is stale.

        Moves sent after the refused one were predicted from the refused
        position, so their corrections (already on the way) are ignored.
        """
        if seq is not None and seq <= self.ignore_upto:
            return False
        self.ignore_upto = max(self.ignore_upto, newest_seq)
        self.place(x, y, ease=True)
        return True

    def place(self, x: float, y: float, ease: bool = False) -> None:
        """Put the avatar at (x, y); with ``ease`` the drawn one glides there."""
        drawn_x, drawn_y = self.drawn()
        self.x, self.y = x, y
        self.prev_x, self.prev_y = x, y
        if ease and math.hypot(drawn_x - x, drawn_y - y) <= SNAP_DISTANCE:
            self.ease_x, self.ease_y = drawn_x - x, drawn_y - y
        else:
            self.ease_x = self.ease_y = 0.0
        self.prev_ease_x, self.prev_ease_y = self.ease_x, self.ease_y


class MoveSender:
    """Rate-limits position reports: only changes, at most ``rate`` per second."""

    def __init__(self, rate: float = SEND_RATE_HZ):
        self.interval = 1.0 / rate
        self.last_at = -math.inf
        self.last_sent: tuple[float, float] | None = None

    def set_rate(self, host_rate: float) -> None:
        """The host's snapshot rate (welcome, pace): no more moves than that."""
        self.interval = 1.0 / min(SEND_RATE_HZ, host_rate)

    def due(self, now: float, x: float, y: float) -> bool:
        """True when (x, y) should go out now (call ``sent`` after sending)."""
        pos = (round(x, 2), round(y, 2))
        if pos == self.last_sent:
            return False
        return now - self.last_at >= self.interval - 1e-9

    def sent(self, now: float, x: float, y: float) -> None:
        self.last_at = now
        self.last_sent = (round(x, 2), round(y, 2))

    def reset(self, x: float, y: float) -> None:
        """The host already knows (x, y) (welcome, correction): nothing to send."""
        self.last_sent = (round(x, 2), round(y, 2))
