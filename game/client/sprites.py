"""Avatar sprites and name labels.

``assets/avatars.png`` holds 8 looks x 4 directions x 4 walking frames; row
``look * 4 + direction``, the feet at the bottom centre of each frame
(``feet_offset_y`` in ``avatars.json``).  Frame 0 is standing still.  The
looks players choose are drawn from ``assets/avatar_templates.png`` (same
layout, one hair style per block) recoloured by ``LookArt``.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pygame

from game.core import protocol as P

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

        self.chosen = LookArt(meta)

    def frame(self, look: "int | P.Look", facing: int, walked: float,
              moving: bool) -> pygame.Surface:
        """A frame of a fixed look (an index into the sheet) or of a chosen look."""
        index = int(walked / STRIDE_PX) % self.frames_per_walk if moving else 0
        if isinstance(look, P.Look):
            return self.chosen.frames_for(look)[facing % self.directions][index]
        return self.frames[look % self.looks][facing % self.directions][index]

    def topleft(self, feet_x: int, feet_y: int) -> tuple[int, int]:
        """Where to blit a frame so its feet land on (feet_x, feet_y)."""
        return feet_x - self.fw // 2, feet_y - self.feet_y


def tint(colour, factor) -> tuple[int, int, int]:
    """A palette colour shaded by a factor (or one factor per channel), the
    same arithmetic ``assets/make_assets.py`` uses."""
    factors = factor if isinstance(factor, (list, tuple)) else (factor,) * 3
    return tuple(max(0, min(255, int(round(c * f)))) for c, f in zip(colour[:3], factors))


class LookArt:
    """Avatars for the looks players choose: ``avatar_templates.png`` holds
    every hair style drawn in key colours; a look's frames are a copy of its
    style with each key swapped for its palette colour, made once per look."""

    CACHE_LOOKS = 256

    def __init__(self, meta: Path = ASSETS / "avatars.json"):
        info = json.loads(Path(meta).read_text())
        spec = info["templates"]
        self.fw, self.fh = int(info["frame_width"]), int(info["frame_height"])
        self.directions = len(info["directions"])
        self.frames_per_walk = int(info["frames"])
        self.styles = list(spec["styles"])
        self.keys = [((r, g, b), part, factor) for r, g, b, part, factor in spec["keys"]]
        self.parts = {part: tuple(where) for part, where in spec["parts"].items()}
        self.palettes = {name: {k: tuple(v) for k, v in colours.items()}
                         for name, colours in spec["palettes"].items()}
        self.template = pygame.image.load(str(Path(meta).parent / spec["image"]))
        self._cache: "OrderedDict[P.Look, list[list[pygame.Surface]]]" = OrderedDict()

    def colour(self, look: P.Look, part: str, factor=1.0) -> tuple[int, int, int]:
        field_name, palette = self.parts[part]
        colours = self.palettes[palette]
        base = colours.get(getattr(look, field_name)) or next(iter(colours.values()))
        return tint(base, factor)

    def frames_for(self, look: P.Look) -> list[list[pygame.Surface]]:
        """[direction][frame] surfaces of ``look`` (cached for recent looks)."""
        frames = self._cache.get(look)
        if frames is not None:
            self._cache.move_to_end(look)
            return frames
        style = self.styles.index(look.hair) if look.hair in self.styles else 0
        rows = self.directions * self.fh
        block = self.template.subsurface((0, style * rows, self.fw * self.frames_per_walk,
                                          rows)).copy()
        pixels = pygame.PixelArray(block)
        for key, part, factor in self.keys:
            pixels.replace(key, self.colour(look, part, factor))
        pixels.close()
        if pygame.display.get_surface() is not None:
            block = block.convert_alpha()
        frames = [[block.subsurface((f * self.fw, d * self.fh, self.fw, self.fh))
                   for f in range(self.frames_per_walk)] for d in range(self.directions)]
        self._cache[look] = frames
        if len(self._cache) > self.CACHE_LOOKS:
            self._cache.popitem(last=False)
        return frames


class NameTags:
    """Rendered name labels, cached per name and strength (drawing text is slow)."""

    def __init__(self, size: int = 12):
        self.size = size
        self._cache: dict[tuple[str, bool, int], pygame.Surface] = {}

    def get(self, name: str, me: bool = False, alpha: int = 255) -> pygame.Surface:
        key = (name, me, alpha)
        tag = self._cache.get(key)
        if tag is None:
            if alpha >= 255:
                tag = self._render(name, me)
            else:
                tag = self.get(name, me).copy()
                tag.set_alpha(alpha)
            self._cache[key] = tag
        return tag

    def _render(self, name: str, me: bool) -> pygame.Surface:
        text = theme.font(self.size, bold=True).render(name, True, (255, 236, 150) if me else theme.INK)
        w, h = text.get_width() + 10, text.get_height() + 2
        tag = pygame.Surface((w, h), pygame.SRCALPHA)
        pygame.draw.rect(tag, (12, 14, 20, 150), tag.get_rect(), border_radius=h // 2)
        tag.blit(text, (5, 1))
        return tag


# Decluttering the name tags of a crowd.
TAG_FAR_PX = 360       # tags of players further from you than this are drawn lighter
TAG_FAR_ALPHA = 150
TAG_FADED_ALPHA = 80   # a tag that would sit on a clearer one is a faint ghost
TAG_HIDDEN = 0         # ...and one that would sit on a ghost too is not drawn (point at them)
TAG_OVERLAP_SLACK = (4, 2)  # tags that only touch at the edges do not count as overlapping


@dataclass
class TagSpot:
    """A name tag that wants to be drawn: where, whose, how far from you (world px)."""

    name: str
    rect: pygame.Rect
    distance: float = 0.0
    mine: bool = False
    hovered: bool = False


def arrange_tags(spots: list[TagSpot]) -> list[tuple[TagSpot, int]]:
    """How strongly to draw each tag, in drawing order (the last on top).

    Your own tag and the tag of the player under the mouse are always at
    full strength and on top (yours topmost).  The others are placed nearest
    to you first: a tag that overlaps one already placed clearly is faded to
    a ghost, a tag that would also overlap a ghost is left out, and a tag far
    from you is drawn lighter.  So a crowd shows a few readable names and
    pointing at anyone shows theirs."""
    order = sorted(spots, key=lambda s: (not s.mine, not s.hovered, s.distance))
    clear: list[pygame.Rect] = []
    ghosts: list[pygame.Rect] = []
    placed: list[tuple[TagSpot, int]] = []
    for spot in order:
        body = spot.rect.inflate(-TAG_OVERLAP_SLACK[0], -TAG_OVERLAP_SLACK[1])
        if spot.mine or spot.hovered:
            alpha = 255
        elif body.collidelist(clear) == -1:
            alpha = TAG_FAR_ALPHA if spot.distance > TAG_FAR_PX else 255
        elif body.collidelist(ghosts) == -1:
            alpha = TAG_FADED_ALPHA
        else:
            alpha = TAG_HIDDEN
        if alpha == TAG_HIDDEN:
            continue
        (ghosts if alpha == TAG_FADED_ALPHA else clear).append(body)
        placed.append((spot, alpha))
    # Faint ones first; within a strength, the most important last.
    return sorted(reversed(placed), key=lambda p: p[1] == 255)
