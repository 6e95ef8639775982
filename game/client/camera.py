"""The camera: which part of the world is on screen.

Pure (no pygame): positions are plain floats, so the tests check it directly.
"""
from __future__ import annotations

import math

# How quickly the camera catches up with its target, per second.  High enough
# that the player never leaves the middle of the screen, low enough to soften
# the ease-back after a correction.
FOLLOW_RATE = 12.0


class Camera:
    """Keeps a target in the middle of a view, never showing past the map edges.

    ``x``/``y`` is the world position of the view's top-left corner.
    """

    def __init__(self, view_w: int, view_h: int, world_w: int, world_h: int):
        self.view_w, self.view_h = view_w, view_h
        self.world_w, self.world_h = world_w, world_h
        self.x = 0.0
        self.y = 0.0

    def resize(self, view_w: int, view_h: int) -> None:
        self.view_w, self.view_h = view_w, view_h
        self.x, self.y = self._clamp(self.x, self.y)

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        """Keep the view on the map; centre the map when it is smaller than the view."""
        if self.world_w <= self.view_w:
            x = (self.world_w - self.view_w) / 2.0
        else:
            x = min(max(x, 0.0), self.world_w - self.view_w)
        if self.world_h <= self.view_h:
            y = (self.world_h - self.view_h) / 2.0
        else:
            y = min(max(y, 0.0), self.world_h - self.view_h)
        return x, y

    def centre_on(self, tx: float, ty: float) -> None:
        """Jump so (tx, ty) is in the middle (or as near as the edges allow)."""
        self.x, self.y = self._clamp(tx - self.view_w / 2.0, ty - self.view_h / 2.0)

    def follow(self, tx: float, ty: float, dt: float, rate: float = FOLLOW_RATE) -> None:
        """Move part of the way towards centring (tx, ty), frame-rate independent."""
        goal_x, goal_y = self._clamp(tx - self.view_w / 2.0, ty - self.view_h / 2.0)
        keep = math.exp(-rate * max(dt, 0.0))
        self.x = goal_x + (self.x - goal_x) * keep
        self.y = goal_y + (self.y - goal_y) * keep
        # Snap the last fraction of a pixel so a still player gives a still view.
        if abs(self.x - goal_x) < 0.05:
            self.x = goal_x
        if abs(self.y - goal_y) < 0.05:
            self.y = goal_y

    def offset(self) -> tuple[int, int]:
        """Whole-pixel top-left corner, so tiles never shimmer between pixels."""
        return round(self.x), round(self.y)

    def to_screen(self, wx: float, wy: float) -> tuple[int, int]:
        ox, oy = self.offset()
        return round(wx) - ox, round(wy) - oy

    def to_world(self, sx: float, sy: float) -> tuple[float, float]:
        ox, oy = self.offset()
        return sx + ox, sy + oy

    def visible(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the world on screen, widened by margin."""
        return (self.x - margin, self.y - margin,
                self.x + self.view_w + margin, self.y + self.view_h + margin)

    def sees(self, wx: float, wy: float, margin: float = 0.0) -> bool:
        left, top, right, bottom = self.visible(margin)
        return left <= wx <= right and top <= wy <= bottom
