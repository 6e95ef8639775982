"""World rules shared by the host (to validate) and the client (to predict).

Pure Python: no pygame, Flask, socket or sqlite import, so the host, the
client, the bots and the unit tests all run exactly the same rules.

A player's position is the centre of their feet.  Collision uses a small box
around that point (``BOX_HALF_W`` x ``BOX_HALF_H``), smaller than a tile, so a
one-tile gap between two walls is passable.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

TILE_SIZE = 32
WALK_SPEED = 160.0  # pixels per second
BOX_HALF_W = 9.0
BOX_HALF_H = 5.0
# Movement the host tolerates beyond the walking speed: network jitter bunches
# packets together, so speed is checked against a budget that refills at
# SPEED_SLACK times the walking speed and can hold at most MOVE_BUDGET_MAX_S
# seconds of walking.  A bigger jump than that is a teleport and is refused.
SPEED_SLACK = 1.25
MOVE_BUDGET_MAX_S = 0.6
# Straight lines are checked for walls at least this often (pixels).
SEGMENT_STEP = 4.0
# A joining player is placed at least this far (pixels) beside everyone else
# (avatars are 32 px wide, their bodies about 14), searching walkable tiles up
# to PLACE_RADIUS_TILES steps from where they would have appeared.
PERSONAL_SPACE_PX = 24.0
PERSONAL_SPACE_TALL = 2.0  # ... and twice that above or below (name tags)
PLACE_RADIUS_TILES = 12

DEFAULT_MAP_PATH = Path(__file__).resolve().parents[2] / "assets" / "world.tmx"


class MapError(ValueError):
    """The map file is missing something the game needs."""


@dataclass(frozen=True)
class WorldMap:
    """Bounds, blocked tiles and the spawn point of the world."""

    width_tiles: int
    height_tiles: int
    tile_size: int
    blocked: bytes  # one byte per tile, row-major; 1 = blocked
    spawn: tuple[float, float]

    @property
    def width_px(self) -> int:
        return self.width_tiles * self.tile_size

    @property
    def height_px(self) -> int:
        return self.height_tiles * self.tile_size

    # -- construction -----------------------------------------------------
    @classmethod
    def from_rows(cls, rows: Sequence[str], tile_size: int = TILE_SIZE,
                  spawn: tuple[float, float] | None = None) -> "WorldMap":
        """Build a map from text rows: '#' blocks, anything else is open.

        An 'S' marks the spawn tile when ``spawn`` is not given.
        """
        height = len(rows)
        width = len(rows[0]) if rows else 0
        if not width or any(len(r) != width for r in rows):
            raise MapError("rows must be non-empty and of equal length")
        blocked = bytearray(width * height)
        found_spawn = None
        for ty, row in enumerate(rows):
            for tx, ch in enumerate(row):
                if ch == "#":
                    blocked[ty * width + tx] = 1
                elif ch == "S":
                    found_spawn = ((tx + 0.5) * tile_size, (ty + 0.5) * tile_size)
        spawn = spawn or found_spawn
        if spawn is None:
            raise MapError("no spawn point")
        return cls._checked(width, height, tile_size, bytes(blocked), spawn)

    @classmethod
    def load_tmx(cls, path: str | Path = DEFAULT_MAP_PATH) -> "WorldMap":
        """Read a Tiled map: a tile blocks when any layer's tile at it has the
        property ``blocked``; the spawn is the object named ``spawn``."""
        pytmx = _import_pytmx()
        tmx = pytmx.TiledMap(str(path))
        width, height, tile_size = tmx.width, tmx.height, tmx.tilewidth
        blocked = bytearray(width * height)
        blocking_gids: dict[int, bool] = {}
        for layer in tmx.visible_layers:
            if not isinstance(layer, pytmx.TiledTileLayer):
                continue
            for tx, ty, gid in layer.iter_data():
                if not gid:
                    continue
                is_blocking = blocking_gids.get(gid)
                if is_blocking is None:
                    props = tmx.get_tile_properties_by_gid(gid) or {}
                    is_blocking = bool(props.get("blocked", False))
                    blocking_gids[gid] = is_blocking
                if is_blocking:
                    blocked[ty * width + tx] = 1
        try:
            spawn_obj = tmx.get_object_by_name("spawn")
        except (KeyError, ValueError) as exc:  # pytmx raises KeyError for a missing name
            raise MapError(f"{path}: no object named 'spawn'") from exc
        return cls._checked(width, height, tile_size, bytes(blocked),
                            (float(spawn_obj.x), float(spawn_obj.y)))

    @classmethod
    def _checked(cls, width: int, height: int, tile_size: int, blocked: bytes,
                 spawn: tuple[float, float]) -> "WorldMap":
        world = cls(width, height, tile_size, blocked, spawn)
        if not world.box_free(*spawn):
            raise MapError(f"spawn point {spawn} is not walkable")
        return world

    # -- queries ----------------------------------------------------------
    def tile_blocked(self, tx: int, ty: int) -> bool:
        """True for blocked tiles and for anything outside the map."""
        if tx < 0 or ty < 0 or tx >= self.width_tiles or ty >= self.height_tiles:
            return True
        return self.blocked[ty * self.width_tiles + tx] == 1

    def in_bounds(self, x: float, y: float) -> bool:
        """True when the whole collision box around (x, y) is on the map."""
        return (math.isfinite(x) and math.isfinite(y)
                and BOX_HALF_W <= x <= self.width_px - BOX_HALF_W
                and BOX_HALF_H <= y <= self.height_px - BOX_HALF_H)

    def box_free(self, x: float, y: float) -> bool:
        """True when a player standing at (x, y) overlaps no blocked tile."""
        if not self.in_bounds(x, y):
            return False
        ts = self.tile_size
        # The box is half-open on its far edges so standing flush against
        # a wall is allowed.
        left = int((x - BOX_HALF_W) // ts)
        right = int(math.ceil((x + BOX_HALF_W) / ts)) - 1
        top = int((y - BOX_HALF_H) // ts)
        bottom = int(math.ceil((y + BOX_HALF_H) / ts)) - 1
        for ty in range(top, bottom + 1):
            for tx in range(left, right + 1):
                if self.tile_blocked(tx, ty):
                    return False
        return True

    def start_position(self, stored: tuple[float, float] | None,
                       occupied: Iterable[tuple[float, float]] = ()) -> tuple[float, float]:
        """Where a joining player appears: their stored spot while a player can
        stand there (the map may have changed since), else the spawn; and when
        someone in ``occupied`` already stands there, the nearest free spot
        around it (see ``free_spot_near``)."""
        target = stored if stored and self.box_free(*stored) else self.spawn
        return self.free_spot_near(target, occupied)

    def free_spot_near(self, target: tuple[float, float],
                       occupied: Iterable[tuple[float, float]] = (),
                       gap: float = PERSONAL_SPACE_PX) -> tuple[float, float]:
        """``target`` when no one in ``occupied`` stands within ``gap`` of it
        (``PERSONAL_SPACE_TALL`` times that above or below), else the nearest walkable tile centre (beside before above or below),
        reached by walking from the target's tile within ``PLACE_RADIUS_TILES``,
        that has no one within ``gap``.  When every such spot is taken (a dense crowd), the one with
        the most room around it."""
        buckets = _Buckets(occupied, gap)
        if buckets.clearance(*target) >= gap:
            return target
        best, best_room = target, buckets.clearance(*target)
        for spot in _spots_near(self, int(target[0] // self.tile_size),
                                int(target[1] // self.tile_size)):
            room = buckets.clearance(*spot)
            if room >= gap:
                return spot
            if room > best_room:
                best, best_room = spot, room
        return best

    def segment_free(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """True when the box can slide in a straight line from one point to the
        other without touching a blocked tile (so no walking through walls)."""
        dist = math.hypot(x1 - x0, y1 - y0)
        steps = max(1, int(math.ceil(dist / SEGMENT_STEP)))
        for i in range(1, steps + 1):
            t = i / steps
            if not self.box_free(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t):
                return False
        return True

    def walkable_tiles(self) -> Iterable[tuple[int, int]]:
        """Every tile whose centre a player can stand on."""
        ts = self.tile_size
        for ty in range(self.height_tiles):
            for tx in range(self.width_tiles):
                if not self.tile_blocked(tx, ty) and self.box_free((tx + 0.5) * ts, (ty + 0.5) * ts):
                    yield tx, ty


class _Buckets:
    """Occupied positions grouped in buckets ``gap`` wide and
    ``gap * PERSONAL_SPACE_TALL`` high, so asking how much room a spot has
    looks at 9 buckets, not at everyone on the map.

    Room is measured with vertical distances divided by ``PERSONAL_SPACE_TALL``:
    a name tag floats above the head, so someone one tile north would have
    their body covered by the tag of the player below."""

    def __init__(self, points: Iterable[tuple[float, float]], gap: float):
        self.size = max(1.0, float(gap))
        self.height = self.size * PERSONAL_SPACE_TALL
        self.cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for x, y in points:
            self.cells.setdefault((int(x // self.size), int(y // self.height)), []).append((x, y))

    def clearance(self, x: float, y: float) -> float:
        """Distance to the nearest point (vertical distances scaled down), or
        ``inf`` when none is within ``gap``."""
        cx, cy = int(x // self.size), int(y // self.height)
        nearest = math.inf
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                for px, py in self.cells.get((cx + dx, cy + dy), ()):
                    nearest = min(nearest, math.hypot(px - x, (py - y) / PERSONAL_SPACE_TALL))
        return nearest if nearest < self.size else math.inf


@functools.lru_cache(maxsize=256)
def _spots_near(world: "WorldMap", tx: int, ty: int) -> tuple[tuple[float, float], ...]:
    """Walkable tile centres reachable on foot from tile (tx, ty) within
    ``PLACE_RADIUS_TILES`` steps, nearest first (rows count double)."""
    ts = world.tile_size
    seen = {(tx, ty)}
    frontier = [(tx, ty)]
    start = ((tx + 0.5) * ts, (ty + 0.5) * ts)
    found = [start] if world.box_free(*start) else []
    for _ in range(PLACE_RADIUS_TILES):
        following = []
        for x, y in frontier:
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if (nx, ny) in seen:
                    continue
                seen.add((nx, ny))
                centre = ((nx + 0.5) * ts, (ny + 0.5) * ts)
                if world.tile_blocked(nx, ny) or not world.box_free(*centre):
                    continue
                following.append((nx, ny))
                found.append(centre)
        frontier = following
    cx, cy = (tx + 0.5) * ts, (ty + 0.5) * ts
    # Side by side before one above the other: a name tag, drawn above the
    # head, would cover the body of someone standing just north.
    found.sort(key=lambda p: (math.hypot(p[0] - cx, (p[1] - cy) * 2), abs(p[1] - cy), p[0]))
    return tuple(found)


def _import_pytmx():
    """Import pytmx without dragging pygame into processes that never draw.

    pytmx imports pygame whenever it is installed, only for its image loader;
    the rules read tiles and properties alone, so a host stays free of SDL.
    """
    import sys

    if "pytmx" in sys.modules or "pygame" in sys.modules:
        import pytmx
        return pytmx
    import logging

    quiet = logging.getLogger("pytmx.util_pygame")
    was_disabled, quiet.disabled = quiet.disabled, True
    sys.modules["pygame"] = None  # type: ignore[assignment]  # makes "import pygame" fail
    try:
        import pytmx
    finally:
        del sys.modules["pygame"]
        quiet.disabled = was_disabled
        # Let a later import (a client in the same process) load it with pygame.
        sys.modules.pop("pytmx.util_pygame", None)
    return pytmx


_WORLD_CACHE: dict[str, WorldMap] = {}


def load_world(path: str | Path | None = None) -> WorldMap:
    """Load (once per process) the world map at ``path`` or the default map."""
    key = str(Path(path or DEFAULT_MAP_PATH).resolve())
    if key not in _WORLD_CACHE:
        _WORLD_CACHE[key] = WorldMap.load_tmx(key)
    return _WORLD_CACHE[key]


# -- movement ---------------------------------------------------------------
def input_direction(left: bool, right: bool, up: bool, down: bool) -> tuple[float, float]:
    """Unit vector for held keys; diagonals are normalised so they are not faster."""
    dx = float(right) - float(left)
    dy = float(down) - float(up)
    if dx and dy:
        inv = 1.0 / math.sqrt(2.0)
        return dx * inv, dy * inv
    return dx, dy


def step(world: WorldMap, x: float, y: float, dx: float, dy: float, dt: float,
         speed: float = WALK_SPEED) -> tuple[float, float]:
    """Move from (x, y) along direction (dx, dy) for dt seconds.

    Each axis moves separately, so walking diagonally into a wall slides along
    it.  When the full step on an axis is blocked the player moves as far as
    the wall allows.
    """
    nx = _advance(world, x, y, dx * speed * dt, axis=0)
    ny = _advance(world, nx, y, dy * speed * dt, axis=1)
    return nx, ny


def _advance(world: WorldMap, x: float, y: float, delta: float, axis: int) -> float:
    start = x if axis == 0 else y
    if delta == 0.0:
        return start

    def free(value: float) -> bool:
        return world.box_free(value, y) if axis == 0 else world.box_free(x, value)

    # Advance in hops no longer than SEGMENT_STEP so a long step (a big dt)
    # cannot jump over a wall thinner than the step.
    hops = max(1, int(math.ceil(abs(delta) / SEGMENT_STEP)))
    hop = delta / hops
    origin = start
    for _ in range(hops):
        if not free(start + hop):
            break
        start += hop
    else:
        return origin + delta
    lo, hi = 0.0, 1.0  # fraction of the blocked hop known free / known blocked
    for _ in range(8):
        mid = (lo + hi) / 2.0
        if free(start + hop * mid):
            lo = mid
        else:
            hi = mid
    return start + hop * lo


@dataclass
class MoveBudget:
    """How far a player may still walk right now, refilled over time.

    The host keeps one per player.  It refills at ``SPEED_SLACK`` times the
    walking speed up to ``MOVE_BUDGET_MAX_S`` seconds of walking, so packets
    that arrive bunched up by network jitter are accepted while a sustained
    speed hack or a teleport is not.
    """

    available: float
    updated_at: float
    speed: float = WALK_SPEED

    @classmethod
    def full(cls, now: float, speed: float = WALK_SPEED) -> "MoveBudget":
        return cls(available=speed * MOVE_BUDGET_MAX_S, updated_at=now, speed=speed)

    @property
    def capacity(self) -> float:
        return self.speed * MOVE_BUDGET_MAX_S

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated_at)
        self.available = min(self.capacity, self.available + elapsed * self.speed * SPEED_SLACK)
        self.updated_at = now

    def try_spend(self, distance: float, now: float) -> bool:
        self.refill(now)
        if distance > self.available + 1e-6:
            return False
        self.available -= distance
        return True


# Reasons a move is refused; the host sends them back in a correction.
OUT_OF_BOUNDS = "out_of_bounds"
BLOCKED = "blocked"
THROUGH_WALL = "through_wall"
TOO_FAST = "too_fast"


def check_move(world: WorldMap, budget: MoveBudget, from_xy: tuple[float, float],
               to_xy: tuple[float, float], now: float) -> str | None:
    """Validate a reported move; return None when accepted, else the reason.

    On acceptance the distance is charged to ``budget``; a refused move costs
    nothing.
    """
    x1, y1 = to_xy
    if not world.in_bounds(x1, y1):
        return OUT_OF_BOUNDS
    if not world.box_free(x1, y1):
        return BLOCKED
    x0, y0 = from_xy
    distance = math.hypot(x1 - x0, y1 - y0)
    budget.refill(now)
    if distance > budget.available + 1e-6:
        return TOO_FAST
    if not world.segment_free(x0, y0, x1, y1):
        return THROUGH_WALL
    budget.available -= distance
    return None
