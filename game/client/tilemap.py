"""Drawing a Tiled map (a ``game.core.tiled.TiledMap``).

The tiles that never change are drawn once into large surfaces (chunks of
about ``CHUNK_PX`` pixels, built the first time they come into view), so a
frame costs a handful of blits instead of thousands of tiles.  The layers are
cut into *bands* of layers drawn the same way: a new band starts after a layer
with animated tiles (the animated cells are drawn each frame between the band
below them and the band above) and where the layers above the players begin.
A map with neither (the bundled one) is one opaque band, as cheap as ever.

Tiled's rules, as Tiled draws them: a tile bigger than the grid stands with its
bottom-left corner on its cell's bottom-left corner; a flipped tile is first
transposed (the diagonal flag), then mirrored horizontally and vertically; a
layer's opacity applies to the layer as a whole; a layer's offset moves it.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pygame

from game.core.rules import DEFAULT_MAP_PATH

from .camera import Camera

CHUNK_PX = 512
# Chunks of animated cells kept, one per chunk and combination of frames
# (at most 1 MB each): enough for the view's chunks in every frame of a
# typical animation, without keeping a whole big map for each frame.
ANIMATED_CHUNKS_KEPT = 96
BACKGROUND = (38, 64, 44)
OUTSIDE = (16, 20, 28)
FLIP_H, FLIP_V, FLIP_D = 0x80000000, 0x40000000, 0x20000000
GID_MASK = 0x0FFFFFFF


def transformed(image: pygame.Surface, flags: int) -> pygame.Surface:
    """``image`` as Tiled draws it with the flip bits of ``flags``."""
    if flags & FLIP_D:  # transpose: (x, y) -> (y, x)
        image = pygame.transform.flip(pygame.transform.rotate(image, 90), False, True)
    if flags & (FLIP_H | FLIP_V):
        image = pygame.transform.flip(image, bool(flags & FLIP_H), bool(flags & FLIP_V))
    return image


@dataclass
class Band:
    """Consecutive layers drawn into the same chunks."""

    layers: list[int]
    above: bool
    opaque: bool  # the first band: filled with the background, no alpha
    chunks: dict[tuple[int, int], pygame.Surface | None] = field(default_factory=dict)


@dataclass
class AnimatedLayer:
    """The animated cells of one layer, by chunk: (x px, y px, raw gid).

    A chunk's animated cells are drawn into a surface of their own for each
    combination of frames they show (``state``), kept in a bounded cache:
    water that cycles through four frames costs one blit per chunk a frame.
    """

    layer: int
    above: bool
    alpha: int
    cells: dict[tuple[int, int], list[tuple[int, int, int]]]
    gids_near: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    chunks: "OrderedDict[tuple, pygame.Surface]" = field(default_factory=OrderedDict)


class TileMapRenderer:
    def __init__(self, source=DEFAULT_MAP_PATH, chunk_px: int = CHUNK_PX):
        if isinstance(source, (str, Path)):
            from game.core import tiled

            source = tiled.load_map(source)
        self.map = m = source
        self.tile = ts = m.tile_size
        self.tile_w = self.tile_h = ts
        self.width_tiles, self.height_tiles = m.width, m.height
        self.width_px, self.height_px = m.width * ts, m.height * ts
        self.chunk_tiles = max(1, chunk_px // ts)
        self.chunk_w = self.chunk_h = self.chunk_tiles * ts
        self.chunks_x = (self.width_px + self.chunk_w - 1) // self.chunk_w
        self.chunks_y = (self.height_px + self.chunk_h - 1) // self.chunk_h
        self._sheets: dict[str, pygame.Surface | None] = {}
        self._plain: dict[int, pygame.Surface | None] = {}
        self._images: dict[int, pygame.Surface | None] = {}  # raw gid (with flags) -> image
        self.animations = {gid: ([f.gid for f in frames], [max(1, f.duration_ms) for f in frames])
                           for gid, frames in m.animations.items() if frames}
        self._plan()

    # -- images ---------------------------------------------------------------------------
    def _sheet(self, source: str) -> pygame.Surface | None:
        if source not in self._sheets:
            try:
                image = pygame.image.load(str(self.map.folder / source))
            except (pygame.error, OSError, FileNotFoundError):
                image = None  # a missing picture leaves its tiles empty, never a crash
            else:
                image = image.convert_alpha() if pygame.display.get_surface() else image
            self._sheets[source] = image
        return self._sheets[source]

    def plain(self, gid: int) -> pygame.Surface | None:
        """The picture of a gid (no flags), cut from its sheet once."""
        if gid not in self._plain:
            image = None
            info = self.map.tiles.get(gid)
            sheet = self._sheet(info.source) if info is not None else None
            if sheet is not None:
                if info.rect is None:
                    image = sheet
                else:
                    rect = pygame.Rect(info.rect).clip(sheet.get_rect())
                    image = sheet.subsurface(rect) if rect.w and rect.h else None
            self._plain[gid] = image
        return self._plain[gid]

    def image(self, raw: int) -> pygame.Surface | None:
        """The picture of a raw gid as drawn: flips and rotation applied."""
        try:
            return self._images[raw]
        except KeyError:
            image = self.plain(raw & GID_MASK)
            flags = raw & (FLIP_H | FLIP_V | FLIP_D)
            if image is not None and flags:
                image = transformed(image, flags)
            self._images[raw] = image
            return image

    # -- the plan -------------------------------------------------------------------------
    def _plan(self) -> None:
        """Cut the layers into bands around animated layers and the players."""
        m, ts = self.map, self.tile
        self.steps: list[tuple[bool, object]] = []  # (above, Band | AnimatedLayer)
        band: Band | None = None
        self._margin = 1
        for index, layer in enumerate(m.layers):
            if band is None or band.above != layer.above:
                band = Band([], layer.above, opaque=not self.steps)
                self.steps.append((layer.above, band))
            band.layers.append(index)
            ox, oy = layer.offset
            anim_cells: list[tuple[int, int, int]] = []
            biggest = ts
            for i, raw in enumerate(layer.data):
                if not raw:
                    continue
                gid = raw & GID_MASK
                info = m.tiles.get(gid)
                if info is not None and info.rect is not None:
                    biggest = max(biggest, info.rect[2], info.rect[3])
                if gid in self.animations:
                    tx, ty = i % m.width, i // m.width
                    x, y = tx * ts + round(ox), (ty + 1) * ts + round(oy)
                    anim_cells.append((x, y, raw))
            # How many cells around a chunk can reach into it (big tiles, offsets).
            size = max(biggest, self._image_extent(layer))
            self._margin = max(self._margin, math.ceil((size - ts + abs(ox) + abs(oy)) / ts) + 1)
            if anim_cells:
                alpha = round(max(0.0, min(1.0, layer.opacity)) * 255)
                step = AnimatedLayer(index, layer.above, alpha, self._by_chunk(anim_cells, size))
                step.gids_near = {key: tuple(sorted({raw & GID_MASK for _, _, raw in cells}))
                                  for key, cells in step.cells.items()}
                self.steps.append((layer.above, step))
                band = None  # the layers after it are drawn over its animated cells

    def _by_chunk(self, cells, size: int) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
        """Animated cells (x, y of their bottom-left, raw gid) under every chunk
        their picture (at most ``size`` px) can reach into."""
        out: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
        cw, ch = self.chunk_w, self.chunk_h
        for cell in cells:
            x, y, _ = cell
            for cy in range(max(0, (y - size) // ch), min(self.chunks_y - 1, (y - 1) // ch) + 1):
                for cx in range(max(0, x // cw), min(self.chunks_x - 1, (x + size - 1) // cw) + 1):
                    out.setdefault((cx, cy), []).append(cell)
        return out

    def _image_extent(self, layer) -> int:
        """The biggest whole-image tile (image collections) used by a layer."""
        biggest = 0
        for raw in set(layer.data):
            gid = raw & GID_MASK
            info = self.map.tiles.get(gid)
            if raw and info is not None and info.rect is None:
                image = self.plain(gid)
                if image is not None:
                    biggest = max(biggest, *image.get_size())
        return biggest

    @property
    def has_above(self) -> bool:
        return any(above for above, _ in self.steps)

    # -- chunks ---------------------------------------------------------------------------
    def band_chunk(self, band: Band, cx: int, cy: int) -> pygame.Surface | None:
        key = (cx, cy)
        if key not in band.chunks:
            band.chunks[key] = self._render_chunk(band, cx, cy)
        return band.chunks[key]

    def chunk(self, cx: int, cy: int) -> pygame.Surface:
        """The ground under the players (the first band) of one chunk."""
        return self.band_chunk(self.steps[0][1], cx, cy) if self.steps else self._empty_chunk()

    def _empty_chunk(self) -> pygame.Surface:
        surface = pygame.Surface((self.chunk_w, self.chunk_h))
        surface.fill(BACKGROUND)
        return surface

    def _render_chunk(self, band: Band, cx: int, cy: int) -> pygame.Surface | None:
        m, ts, n = self.map, self.tile, self.chunk_tiles
        if band.opaque:
            surface = self._empty_chunk()
        else:
            surface = pygame.Surface((self.chunk_w, self.chunk_h), pygame.SRCALPHA)
        drew = False
        x0, y0 = cx * n, cy * n
        reach = self._margin
        left, right = max(0, x0 - reach), min(m.width, x0 + n + reach)
        top, bottom = max(0, y0 - reach), min(m.height, y0 + n + reach)
        base_x, base_y = x0 * ts, y0 * ts
        for index in band.layers:
            layer = m.layers[index]
            if layer.opacity <= 0:
                continue
            ox, oy = round(layer.offset[0]) - base_x, round(layer.offset[1]) - base_y
            target = surface
            if layer.opacity < 1:  # the layer as a whole is see-through
                target = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
            blits = []
            data, width, animated, image = layer.data, m.width, self.animations, self.image
            for ty in range(top, bottom):
                row = ty * width
                bottom_px = (ty + 1) * ts + oy
                for tx in range(left, right):
                    raw = data[row + tx]
                    if raw and (raw & GID_MASK) not in animated:
                        picture = image(raw)
                        if picture is not None:
                            blits.append((picture, (tx * ts + ox, bottom_px - picture.get_height())))
            if not blits:
                continue
            drew = True
            target.blits(blits, doreturn=False)
            if target is not surface:
                target.set_alpha(round(layer.opacity * 255))
                surface.blit(target, (0, 0))
        if not drew and not band.opaque:
            return None  # nothing here: nothing to blit each frame
        if pygame.display.get_surface():
            surface = surface.convert() if band.opaque else surface.convert_alpha()
        return surface

    def prerender(self) -> None:
        """Build every chunk now (used before timing-sensitive drawing)."""
        for _, step in self.steps:
            if isinstance(step, Band):
                for cy in range(self.chunks_y):
                    for cx in range(self.chunks_x):
                        self.band_chunk(step, cx, cy)

    # -- drawing --------------------------------------------------------------------------
    def frame_gid(self, gid: int, now_ms: float) -> int:
        """The gid an animated tile shows at a time (ms)."""
        frames, durations = self.animations[gid]
        t = now_ms % sum(durations)
        for frame, duration in zip(frames, durations):
            if t < duration:
                return frame
            t -= duration
        return frames[-1]

    def draw(self, surface: pygame.Surface, camera: Camera, now: float | None = None) -> None:
        """The whole map, players or not (the login screen's backdrop)."""
        self.draw_below(surface, camera, now)
        self.draw_above(surface, camera, now)

    def draw_below(self, surface: pygame.Surface, camera: Camera, now: float | None = None) -> None:
        """Everything under the players; ``now`` in seconds drives the animations."""
        ox, oy = camera.offset()
        view_w, view_h = surface.get_size()
        if ox < 0 or oy < 0 or ox + view_w > self.width_px or oy + view_h > self.height_px:
            surface.fill(OUTSIDE)
        self._draw_steps(surface, camera, now, above=False)
        # Clip the chunks on the far map edge, which are partly outside the map.
        right, bottom = self.width_px - ox, self.height_px - oy
        if right < view_w:
            surface.fill(OUTSIDE, (right, 0, view_w - right, view_h))
        if bottom < view_h:
            surface.fill(OUTSIDE, (0, bottom, view_w, view_h - bottom))

    def draw_above(self, surface: pygame.Surface, camera: Camera, now: float | None = None) -> None:
        """The layers over the players (roofs, tree tops); nothing on most maps."""
        if self.has_above:
            ox, oy = camera.offset()
            clip = surface.get_clip()
            surface.set_clip(pygame.Rect(-ox, -oy, self.width_px, self.height_px).clip(clip))
            self._draw_steps(surface, camera, now, above=True)
            surface.set_clip(clip)

    def _draw_steps(self, surface, camera: Camera, now: float | None, above: bool) -> None:
        ox, oy = camera.offset()
        view_w, view_h = surface.get_size()
        first_cx, first_cy = max(0, ox // self.chunk_w), max(0, oy // self.chunk_h)
        last_cx = min((ox + view_w - 1) // self.chunk_w, self.chunks_x - 1)
        last_cy = min((oy + view_h - 1) // self.chunk_h, self.chunks_y - 1)
        now_ms = (time.monotonic() if now is None else now) * 1000.0
        frames: dict[int, int] = {}
        for step_above, step in self.steps:
            if step_above != above:
                continue
            blits = []
            if isinstance(step, Band):
                for cy in range(first_cy, last_cy + 1):
                    for cx in range(first_cx, last_cx + 1):
                        chunk = self.band_chunk(step, cx, cy)
                        if chunk is not None:
                            blits.append((chunk, (cx * self.chunk_w - ox, cy * self.chunk_h - oy)))
            else:
                for cy in range(first_cy, last_cy + 1):
                    for cx in range(first_cx, last_cx + 1):
                        gids = step.gids_near.get((cx, cy))
                        if gids is None:
                            continue
                        state = []
                        for gid in gids:
                            shown = frames.get(gid)
                            if shown is None:
                                shown = frames[gid] = self.frame_gid(gid, now_ms)
                            state.append(shown)
                        chunk = self._animated_chunk(step, cx, cy, tuple(state), frames)
                        blits.append((chunk, (cx * self.chunk_w - ox, cy * self.chunk_h - oy)))
            surface.blits(blits, doreturn=False)

    def _animated_chunk(self, step: AnimatedLayer, cx: int, cy: int, state: tuple,
                        frames: dict[int, int]) -> pygame.Surface:
        """One chunk of an animated layer showing the frames in ``state``."""
        key = (cx, cy, state)
        chunk = step.chunks.get(key)
        if chunk is not None:
            step.chunks.move_to_end(key)
            return chunk
        chunk = pygame.Surface((self.chunk_w, self.chunk_h), pygame.SRCALPHA)
        base_x, base_y = cx * self.chunk_w, cy * self.chunk_h
        blits = []
        for x, y, raw in step.cells[(cx, cy)]:
            picture = self.image(frames[raw & GID_MASK] | (raw & ~GID_MASK))
            if picture is not None:
                blits.append((picture, (x - base_x, y - base_y - picture.get_height())))
        chunk.blits(blits, doreturn=False)
        if pygame.display.get_surface():
            chunk = chunk.convert_alpha()
        if step.alpha < 255:
            chunk.set_alpha(step.alpha)
        step.chunks[key] = chunk
        while len(step.chunks) > ANIMATED_CHUNKS_KEPT:
            step.chunks.popitem(last=False)
        return chunk

    def overview(self, size: tuple[int, int]) -> pygame.Surface:
        """The whole map shrunk to ``size`` (the minimap), above layers included."""
        image = pygame.Surface(size)
        image.fill(OUTSIDE)
        sx, sy = size[0] / self.width_px, size[1] / self.height_px
        for cy in range(self.chunks_y):
            for cx in range(self.chunks_x):
                piece = self._empty_chunk()
                camera = _FixedView(cx * self.chunk_w, cy * self.chunk_h)
                self._draw_steps(piece, camera, 0.0, above=False)
                self._draw_steps(piece, camera, 0.0, above=True)
                x0, y0 = round(cx * self.chunk_w * sx), round(cy * self.chunk_h * sy)
                x1, y1 = round((cx + 1) * self.chunk_w * sx), round((cy + 1) * self.chunk_h * sy)
                if x1 > x0 and y1 > y0:
                    image.blit(pygame.transform.smoothscale(piece, (x1 - x0, y1 - y0)), (x0, y0))
        # The far edge chunks reach past the map: outside the map stays dark.
        return image


def renderer_for(services: dict) -> TileMapRenderer:
    """The renderer of the map in ``services["map_path"]`` (the bundled world
    when none is set), made once per map and kept in ``services["tiles"]``."""
    path = str(services.get("map_path") or DEFAULT_MAP_PATH)
    if "tiles" not in services or services.get("tiles_path") != path:
        services["tiles"] = TileMapRenderer(path)
        services["tiles_path"] = path
    return services["tiles"]


class _FixedView:
    """A camera that looks at one spot (for drawing whole chunks)."""

    def __init__(self, x: int, y: int):
        self._offset = (x, y)

    def offset(self) -> tuple[int, int]:
        return self._offset
