"""Avatar sprites and name labels.

``assets/avatars.png`` holds 8 looks x 4 directions x 4 walking frames; row
``look * 4 + direction``, the feet at the bottom centre of each frame
(``feet_offset_y`` in ``avatars.json``).  Frame 0 is standing still.
"""
from __future__ import annotations

import json
from pathlib import Path

import pygame

from . import theme
from .prediction import STRIDE_PX

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SCALE = 1  # the world is drawn at the art's native size


class AvatarSheet:
    def __init__(self, png: Path = ASSETS / "avatars.png", meta: Path = ASSETS / "avatars.json"):
        info = json.loads(Path(meta).read_text())
        self.fw, self.fh = int(info["frame_width"]), int(info["frame_height"])
        self.looks = int(info["looks"])
        self.directions = len(info["directions"])
        self.frames_per_walk = int(info["frames"])
        self.feet_y = int(info.get("feet_offset_y", self.fh))
        sheet = pygame.image.load(str(png))
        if pygame.display.get_surface() is not None:
            sheet = sheet.convert_alpha()
        self.frames = [
            [[sheet.subsurface((f * self.fw, (look * self.directions + d) * self.fh, self.fw, self.fh))
              for f in range(self.frames_per_walk)]
             for d in range(self.directions)]
            for look in range(self.looks)
        ]

    def frame(self, look: int, facing: int, walked: float, moving: bool) -> pygame.Surface:
        index = int(walked / STRIDE_PX) % self.frames_per_walk if moving else 0
        return self.frames[look % self.looks][facing % self.directions][index]

    def topleft(self, feet_x: int, feet_y: int) -> tuple[int, int]:
        """Where to blit a frame so its feet land on (feet_x, feet_y)."""
        return feet_x - self.fw // 2, feet_y - self.feet_y


class NameTags:
    """Rendered name labels, cached per name (drawing text is slow)."""

    def __init__(self, size: int = 12):
        self.size = size
        self._cache: dict[tuple[str, bool], pygame.Surface] = {}

    def get(self, name: str, me: bool = False) -> pygame.Surface:
        key = (name, me)
        tag = self._cache.get(key)
        if tag is None:
            tag = self._cache[key] = self._render(name, me)
        return tag

    def _render(self, name: str, me: bool) -> pygame.Surface:
        text = theme.font(self.size, bold=True).render(name, True, (255, 236, 150) if me else theme.INK)
        w, h = text.get_width() + 10, text.get_height() + 2
        tag = pygame.Surface((w, h), pygame.SRCALPHA)
        pygame.draw.rect(tag, (12, 14, 20, 150), tag.get_rect(), border_radius=h // 2)
        tag.blit(text, (5, 1))
        return tag
