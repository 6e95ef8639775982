"""World rules shared by the host (to validate) and the client (to predict).

Pure Python: no pygame, Flask, socket or sqlite import, so the host, the
client, the bots and the unit tests all run exactly the same rules.

A player's position is the centre of their feet.  Collision uses a small box
around that point (``BOX_HALF_W`` x ``BOX_HALF_H``), smaller than a tile, so a
one-tile gap between two walls of 32 px tiles is passable.  What blocks is
whole blocked cells and blocking polygons (``WorldMap.shapes``, concave ones
too); a box touching either only along an edge is free.  The cells a polygon
reaches are marked, so a box in open ground reads a few bytes and nothing
more.  Maps are read from Tiled files by ``game.core.tiled``.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

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
# A move may say when its client reached the position (its ``t``, the
# client's own clock).  The budget then refills by the client's time between
# moves, so moves that queued up on a busy host and are read all at once are
# judged as they were walked; but never by more time in total than passed on
# the host's clock: host time not yet credited is banked, up to
# CLIENT_CLOCK_BANK_MAX_S seconds (see MoveBudget.refill_by_client).
CLIENT_CLOCK_BANK_MAX_S = 2.0
# Straight lines are checked for walls at least this often (pixels).
SEGMENT_STEP = 4.0
# A joining player is placed at least this far (pixels) beside everyone else
# (avatars are 32 px wide, their bodies about 14), searching walkable tiles up
# to PLACE_RADIUS_TILES steps from where they would have appeared.
PERSONAL_SPACE_PX = 24.0
PERSONAL_SPACE_TALL = 2.0  # ... and twice that above or below (name tags)
PLACE_RADIUS_TILES = 12

DEFAULT_MAP_PATH = Path(__file__).resolve().parents[2] / "assets" / "world.tmx"


# A box touching a shape only along an edge is free (standing flush).
_SHAPE_EPS = 1e-6
# Per-cell states in WorldMap's private cell index.
_FREE, _BLOCKED, _SHAPED = 0, 1, 2


class MapError(ValueError):
    """The map file is missing something the game needs."""


@dataclass(frozen=True)
class Exit:
    """An area that takes a player who walks into it to another map."""

    points: tuple[tuple[float, float], ...]  # polygon, px
    target_map: str  # the other map's name (its file stem)
    target_entry: str | None = None  # an entry of that map; None = its spawn

    def contains(self, x: float, y: float) -> bool:
        return point_in_polygon(x, y, self.points, edge=True)


class Entries(Mapping):
    """Entry name -> point: a read-only, hashable mapping (kept as a tuple of
    pairs), so a WorldMap stays frozen and hashable."""

    __slots__ = ("_pairs", "_index")

    def __init__(self, pairs: Mapping | Iterable[tuple[str, tuple[float, float]]] = ()):
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        self._pairs = tuple((str(k), (float(v[0]), float(v[1]))) for k, v in items)
        self._index = dict(self._pairs)

    def __getitem__(self, name: str) -> tuple[float, float]:
        return self._index[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __hash__(self) -> int:
        return hash(frozenset(self._index.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"Entries({self._index!r})"


@dataclass(frozen=True)
class WorldMap:
    """Bounds, blocked tiles, blocking shapes, the spawn point, and the ways
    in (entries) and out (exits) of one map of the world."""

    width_tiles: int
    height_tiles: int
    tile_size: int
    blocked: bytes  # one byte per tile, row-major; 1 = blocked
    spawn: tuple[float, float]
    shapes: tuple[tuple[tuple[float, float], ...], ...] = ()  # blocking polygons, px
    exits: tuple[Exit, ...] = ()
    entries: Entries = field(default_factory=Entries)  # entry name -> point
    name: str = "world"  # the map's name: its file stem

    def __post_init__(self) -> None:
        if not isinstance(self.entries, Entries):
            object.__setattr__(self, "entries", Entries(self.entries))
        shapes = tuple(tuple((float(x), float(y)) for x, y in s) for s in self.shapes)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "exits", tuple(self.exits))
        # Private indexes (not fields): one byte per cell saying free, blocked,
        # or touched by a shape, so a box in open ground looks at bytes only;
        # and the shapes and exits touching each cell.
        cells = bytearray(self.blocked)
        self._set("_shape_cells", _index_polygons(shapes, self, cells, mark=_SHAPED))
        self._set("_prepared", tuple(_prepare(s) for s in shapes))
        self._set("_cells", bytes(cells))
        self._set("_exit_cells", _index_polygons([e.points for e in self.exits], self, None))

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        # Cheap: maps are keys of small caches (see _spots_near); equal maps
        # still hash equal since every field hashed here is compared by ==.
        return hash((self.width_tiles, self.height_tiles, self.tile_size, self.blocked,
                     self.spawn, len(self.shapes), len(self.exits), self.name))

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
        """Read a Tiled map (TMX or JSON) the way ``game.core.tiled`` does:
        collision, spawn, entries and exits."""
        from game.core import tiled

        return tiled.load_map(path).world

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
        """True when a player standing at (x, y) overlaps no blocked tile and
        no blocking shape."""
        ts, width = self.tile_size, self.width_tiles
        # in_bounds, inline (this is the hot path of every move check).
        if not (BOX_HALF_W <= x <= width * ts - BOX_HALF_W
                and BOX_HALF_H <= y <= self.height_tiles * ts - BOX_HALF_H):
            return False  # off the map, or NaN
        # The box is half-open on its far edges so standing flush against
        # a wall is allowed.  Being in bounds keeps every cell on the map.
        left = int((x - BOX_HALF_W) // ts)
        right = math.ceil((x + BOX_HALF_W) / ts) - 1
        top = int((y - BOX_HALF_H) // ts)
        bottom = math.ceil((y + BOX_HALF_H) / ts) - 1
        cells = self._cells
        shaped = False
        for ty in range(top, bottom + 1):
            row = ty * width
            for tx in range(left, right + 1):
                state = cells[row + tx]
                if state:
                    if state == _BLOCKED:
                        return False
                    shaped = True
        return not shaped or self._shapes_free(x, y, left, right, top, bottom)

    def _shapes_free(self, x: float, y: float, left: int, right: int, top: int,
                     bottom: int) -> bool:
        x0, x1 = x - BOX_HALF_W + _SHAPE_EPS, x + BOX_HALF_W - _SHAPE_EPS
        y0, y1 = y - BOX_HALF_H + _SHAPE_EPS, y + BOX_HALF_H - _SHAPE_EPS
        seen: set[int] = set()
        index, width = self._shape_cells, self.width_tiles
        for ty in range(top, bottom + 1):
            for tx in range(left, right + 1):
                for i in index.get(ty * width + tx, ()):
                    if i in seen:
                        continue
                    seen.add(i)
                    if _prepared_hits_box(self._prepared[i], x0, y0, x1, y1):
                        return False
        return True

    def exit_at(self, x: float, y: float) -> Exit | None:
        """The exit whose area contains the point (a player's feet), if any."""
        if not self.exits or not (0 <= x < self.width_px and 0 <= y < self.height_px):
            return None
        cell = int(y // self.tile_size) * self.width_tiles + int(x // self.tile_size)
        for i in self._exit_cells.get(cell, ()):
            if self.exits[i].contains(x, y):
                return self.exits[i]
        return None

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
        size, cells, hypot = self.size, self.cells, math.hypot
        cx, cy = int(x // size), int(y // self.height)
        # Only distances below ``size`` count, and a point farther than that
        # along either axis is farther in all: those skip the square root
        # (placing a newcomer in a crowd of hundreds asks this thousands of times).
        nearest = size
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                for px, py in cells.get((cx + dx, cy + dy), ()):
                    ex, ey = px - x, (py - y) / PERSONAL_SPACE_TALL
                    if -size < ex < size and -size < ey < size:
                        d = hypot(ex, ey)
                        if d < nearest:
                            nearest = d
        return nearest if nearest < size else math.inf


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


# -- polygons -----------------------------------------------------------------
def point_in_polygon(x: float, y: float, points: Sequence[tuple[float, float]],
                     edge: bool = False) -> bool:
    """Even-odd rule (concave polygons too).  A point on the outline counts
    as inside when ``edge`` is true."""
    n = len(points)
    if n < 3:
        return False
    inside = False
    jx, jy = points[-1]
    for ix, iy in points:
        if edge and _on_segment(x, y, jx, jy, ix, iy):
            return True
        if (iy > y) != (jy > y):
            cross_x = jx + (y - jy) * (ix - jx) / (iy - jy)
            if x < cross_x:
                inside = not inside
        jx, jy = ix, iy
    return inside


def _on_segment(x: float, y: float, ax: float, ay: float, bx: float, by: float) -> bool:
    if not (min(ax, bx) - 1e-9 <= x <= max(ax, bx) + 1e-9
            and min(ay, by) - 1e-9 <= y <= max(ay, by) + 1e-9):
        return False
    return abs((bx - ax) * (y - ay) - (by - ay) * (x - ax)) <= 1e-9 * max(1.0, abs(bx - ax) + abs(by - ay))


def _segment_hits_box(ax: float, ay: float, bx: float, by: float,
                      x0: float, y0: float, x1: float, y1: float) -> bool:
    """Liang-Barsky: does segment a-b meet the closed box?"""
    t0, t1 = 0.0, 1.0
    dx, dy = bx - ax, by - ay
    for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
        if p == 0.0:
            if q < 0.0:
                return False
        else:
            r = q / p
            if p < 0.0:
                if r > t1:
                    return False
                t0 = max(t0, r)
            else:
                if r < t0:
                    return False
                t1 = min(t1, r)
    return True


def polygon_crosses_box(points: Sequence[tuple[float, float]], x0: float, y0: float,
                        x1: float, y1: float, edges_only: bool = False) -> bool:
    """True when the polygon and the closed box overlap: an edge meets the
    box, or (unless ``edges_only``) the box lies inside the polygon."""
    jx, jy = points[-1]
    for ix, iy in points:
        if _segment_hits_box(jx, jy, ix, iy, x0, y0, x1, y1):
            return True
        jx, jy = ix, iy
    return not edges_only and point_in_polygon((x0 + x1) / 2.0, (y0 + y1) / 2.0, points)


def _prepare(points: tuple[tuple[float, float], ...]) -> tuple:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys), points)


def _prepared_hits_box(shape: tuple, x0: float, y0: float, x1: float, y1: float) -> bool:
    minx, miny, maxx, maxy, points = shape
    if maxx < x0 or minx > x1 or maxy < y0 or miny > y1:
        return False
    return polygon_crosses_box(points, x0, y0, x1, y1)


def _index_polygons(polygons: Iterable[Sequence[tuple[float, float]]], world: "WorldMap",
                    cells: bytearray | None, mark: int = _SHAPED) -> dict[int, tuple[int, ...]]:
    """cell -> indices of the polygons whose bounding box touches the cell;
    free cells among them are marked ``mark`` in ``cells``."""
    ts, width, height = world.tile_size, world.width_tiles, world.height_tiles
    index: dict[int, list[int]] = {}
    for i, points in enumerate(polygons):
        if len(points) < 3:
            continue
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        left = max(0, int(min(xs) // ts))
        right = min(width - 1, max(left, math.ceil(max(xs) / ts) - 1))
        top = max(0, int(min(ys) // ts))
        bottom = min(height - 1, max(top, math.ceil(max(ys) / ts) - 1))
        for ty in range(top, bottom + 1):
            for tx in range(left, right + 1):
                cell = ty * width + tx
                index.setdefault(cell, []).append(i)
                if cells is not None and cells[cell] == _FREE:
                    cells[cell] = mark
    return {cell: tuple(ids) for cell, ids in index.items()}


_WORLD_CACHE: dict[str, WorldMap] = {}


def load_world(path: str | Path | None = None) -> WorldMap:
    """Load (once per process) the world map at ``path`` or the default map."""
    key = str(Path(path or DEFAULT_MAP_PATH).resolve())
    if key not in _WORLD_CACHE:
        from game.core import tiled

        _WORLD_CACHE[key] = tiled.load_map(path or DEFAULT_MAP_PATH).world
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

    Time is the host's (``refill``) or, for moves stamped with the client's
    clock, the client's, bounded by the host's (``refill_by_client``).
    """

    available: float
    updated_at: float
    speed: float = WALK_SPEED
    # The client clock (seconds) of the last stamped move on this connection
    # (None: none yet), and host seconds passed but not yet credited.
    client_at: float | None = None
    bank: float = 0.0

    @classmethod
    def full(cls, now: float, speed: float = WALK_SPEED) -> "MoveBudget":
        return cls(available=speed * MOVE_BUDGET_MAX_S, updated_at=now, speed=speed)

    @property
    def capacity(self) -> float:
        return self.speed * MOVE_BUDGET_MAX_S

    def _credit(self, seconds: float) -> None:
        self.available = min(self.capacity, self.available + seconds * self.speed * SPEED_SLACK)

    def refill(self, now: float) -> None:
        """Credit the host time since the last refill."""
        self._credit(max(0.0, now - self.updated_at))
        self.updated_at = now

    def refill_by_client(self, now: float, client_t: float) -> None:
        """Credit the client time since its last stamped move, but never more
        in total than the host's own time since: the host time that was not
        credited (moves held up on their way, then read together) is banked
        for the moves that follow, up to ``CLIENT_CLOCK_BANK_MAX_S``.  The
        first stamped move of a connection is credited by the host's clock.
        ``client_t`` must not be smaller than the last one (see
        ``clock_went_back``)."""
        host_elapsed = max(0.0, now - self.updated_at)
        if self.client_at is None:
            credited = host_elapsed
        else:
            credited = min(max(0.0, client_t - self.client_at), host_elapsed + self.bank)
        self.bank = min(CLIENT_CLOCK_BANK_MAX_S, max(0.0, self.bank + host_elapsed - credited))
        self._credit(credited)
        self.updated_at = now
        self.client_at = client_t

    def clock_went_back(self, client_t: float) -> bool:
        return self.client_at is not None and client_t < self.client_at

    def new_client_clock(self) -> None:
        """A new connection: its clock has nothing to do with the last one."""
        self.client_at = None
        self.bank = 0.0

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
               to_xy: tuple[float, float], now: float,
               client_t: float | None = None) -> str | None:
    """Validate a reported move; return None when accepted, else the reason.

    ``now`` is the host's clock (seconds); ``client_t`` the client's when it
    reached ``to_xy`` (seconds; None when the move did not say), which must
    not be smaller than the last one given (``MoveBudget.clock_went_back``).
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
    if client_t is None:
        budget.refill(now)
    else:
        budget.refill_by_client(now, client_t)
    if distance > budget.available + 1e-6:
        return TOO_FAST
    if not world.segment_free(x0, y0, x1, y1):
        return THROUGH_WALL
    budget.available -= distance
    return None
