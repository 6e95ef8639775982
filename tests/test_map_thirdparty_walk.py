"""Walking and collision on maps other people made (Tiled's examples, the
WorkAdventure starter kit) and on the generated feature maps: every one loads,
its spawn is walkable, and walking from the spawn into the nearest wall stops
at the wall, in the client's prediction (``rules.step``) and in the host's
check (``rules.check_move``) alike.  At the end, a real host serving the
WorkAdventure office (a JSON map) and a real client walking into one of its
walls: the host takes the walk up to the wall, as the client predicts it, and
corrects the step into the wall."""
from __future__ import annotations

import math
import time
from collections import deque
from pathlib import Path

import pytest

from game.core import protocol as P
from game.core import rules, tiled
from game.core.rules import MoveBudget, WorldMap

from .conftest import ASYNC_MODES, PlayerFactory, snapshot_positions, start_world_host

MAPS = Path(__file__).resolve().parent / "maps"
THIRDPARTY = MAPS / "thirdparty"
FEATURES = MAPS / "features"

FEATURE_MAPS = ["town16.tmx", "town24.tmj", "town32.tmx", "town48.tmj", "collection.tmx"]
ALL_MAPS = [THIRDPARTY / "tiled" / "desert.tmx", THIRDPARTY / "tiled" / "sewers.tmx",
            THIRDPARTY / "tiled" / "perspective_walls.tmx",  # image sizes from the PNG
            THIRDPARTY / "tiled" / "rpg" / "island.tmx",
            THIRDPARTY / "workadventure" / "office.tmj",
            THIRDPARTY / "workadventure" / "conference.tmj",
            *(FEATURES / m for m in FEATURE_MAPS)]
# Tiled's examples mark nothing as blocking: only the map's edge stops a player there.
NO_COLLISION = {"desert", "sewers", "perspective_walls", "island"}

STEP_DT = 1 / 60
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def map_id(path: Path) -> str:
    return Path(path).relative_to(MAPS).as_posix()


# -- finding a wall to walk into ------------------------------------------------------
def centre(world: WorldMap, tx: int, ty: int) -> tuple[float, float]:
    return ((tx + 0.5) * world.tile_size, (ty + 0.5) * world.tile_size)


def solid(world: WorldMap, tx: int, ty: int) -> bool:
    """A cell on the map that a player cannot stand in the middle of because
    of what is drawn there (not because the map's edge is near)."""
    inside = 0 <= tx < world.width_tiles and 0 <= ty < world.height_tiles
    middle = centre(world, tx, ty)
    return inside and (world.tile_blocked(tx, ty)
                       or (world.in_bounds(*middle) and not world.box_free(*middle)))


def route_to_wall(world: WorldMap, start: tuple[float, float] | None = None):
    """The shortest walk over tile centres from the tile of ``start`` (the
    spawn) to a tile beside a solid cell: (path of points from ``start``,
    direction to the wall), or None when nothing on the map blocks."""
    ts = world.tile_size
    start = start or world.spawn
    sx, sy = start
    first = (int(sx // ts), int(sy // ts))
    came: dict[tuple[int, int], tuple[int, int] | None] = {first: None}
    todo = deque([first])
    while todo:
        cell = todo.popleft()
        for dx, dy in DIRECTIONS:
            if solid(world, cell[0] + dx, cell[1] + dy):
                path = [cell]
                while came[path[-1]] is not None:
                    path.append(came[path[-1]])
                points = [start] + [centre(world, *c) for c in reversed(path)]
                return points, (dx, dy)
        for dx, dy in DIRECTIONS:
            nxt = (cell[0] + dx, cell[1] + dy)
            if nxt in came or not (0 <= nxt[0] < world.width_tiles
                                   and 0 <= nxt[1] < world.height_tiles):
                continue
            here, there = centre(world, *cell), centre(world, *nxt)
            if world.box_free(*there) and world.segment_free(*here, *there):
                came[nxt] = cell
                todo.append(nxt)
    return None


def host_walk(world: WorldMap, points, now: float = 0.0) -> tuple[float, float]:
    """Walk ``points`` as a host checks moves, at walking speed; each must pass."""
    budget = MoveBudget.full(now)
    here = points[0]
    for there in points[1:]:
        now += math.dist(here, there) / rules.WALK_SPEED
        assert rules.check_move(world, budget, here, there, now) is None, (here, there)
        here = there
    return here


def walk_until_stopped(world: WorldMap, xy, direction, max_s: float = 3.0):
    """Hold a direction key as the game does (``rules.step`` at 60 Hz) until
    the player stops; the positions on the way."""
    path = [xy]
    for _ in range(int(max_s / STEP_DT)):
        nxt = rules.step(world, *path[-1], *direction, STEP_DT)
        if math.dist(nxt, path[-1]) < 1e-9:
            return path
        path.append(nxt)
    raise AssertionError(f"still walking after {max_s} s from {xy} towards {direction}")


@pytest.fixture(scope="module", params=ALL_MAPS, ids=map_id)
def loaded(request) -> tiled.TiledMap:
    return tiled.load_map(request.param)


def test_the_spawn_is_walkable(loaded):
    world = loaded.world
    assert world.in_bounds(*world.spawn) and world.box_free(*world.spawn)
    moved = [p for d in DIRECTIONS
             if math.dist(p := rules.step(world, *world.spawn, *d, 0.1), world.spawn) > 1]
    assert moved, "a player on the spawn cannot move at all"


def test_walking_into_the_nearest_wall_stops_there(loaded):
    world = loaded.world
    found = route_to_wall(world)
    if loaded.path.stem in NO_COLLISION:
        assert found is None and sum(world.blocked) == 0 and not world.shapes
        return
    assert found is not None, "nothing on this map blocks a player"
    points, direction = found
    beside = host_walk(world, points)
    wall = (beside[0] + direction[0] * world.tile_size, beside[1] + direction[1] * world.tile_size)
    path = walk_until_stopped(world, beside, direction)
    stop = path[-1]
    # Stopped short of the wall's middle, standing free, flush against it.
    assert world.box_free(*stop)
    assert math.dist(stop, wall) > min(rules.BOX_HALF_H, rules.BOX_HALF_W)
    nudge = (stop[0] + direction[0] * 1.0, stop[1] + direction[1] * 1.0)
    assert not world.box_free(*nudge)
    # The host takes every predicted step, and refuses the step into the wall.
    assert host_walk(world, path, now=10.0) == stop
    assert rules.check_move(world, MoveBudget.full(20.0), stop, wall, 20.0) in (
        rules.BLOCKED, rules.THROUGH_WALL)


def test_walking_right_from_the_spawn_stops_at_a_wall_or_the_edge(loaded):
    world = loaded.world
    stop = walk_until_stopped(world, world.spawn, (1, 0), max_s=60.0)[-1]
    assert world.box_free(*stop) and not world.box_free(stop[0] + 1.0, stop[1])
    if loaded.path.stem in NO_COLLISION:
        assert stop[0] == pytest.approx(world.width_px - rules.BOX_HALF_W, abs=0.5)
        beyond = (world.width_px + 4.0, stop[1])
        assert rules.check_move(world, MoveBudget.full(0), stop, beyond, 0) == rules.OUT_OF_BOUNDS


# -- what each map is known to hold ---------------------------------------------------
def load(name: str) -> tiled.TiledMap:
    return tiled.load_map(FEATURES / name)


def above(m: tiled.TiledMap) -> list[str]:
    return [layer.name for layer in m.layers if layer.above]


def test_the_feature_maps_mark_spawn_above_layers_and_exits_as_documented():
    t16, t24, t32, t48, coll = (load(n) for n in FEATURE_MAPS)
    assert (t16.tile_size, t24.tile_size, t32.tile_size, t48.tile_size) == (16, 24, 32, 48)
    # spawn: object named spawn / type start / class spawn / layer start / nothing marked
    assert t16.world.spawn == (192.0, 120.0)
    assert t24.world.spawn == (252.0, 156.0)
    assert t32.world.spawn == (336.0, 208.0)
    assert t48.world.spawn == (360.0, 312.0)
    assert any(w.startswith("no spawn marked") for w in coll.warnings)
    assert not any(w.startswith("no spawn marked") for m in (t16, t24, t32, t48) for w in m.warnings)
    # above players: by name, by property, after floorLayer
    assert above(t16) == ["Roof"]
    assert above(t24) == ["canopy"]
    assert above(t48) == ["furniture top"]
    assert above(t32) == [] and above(coll) == []
    # opacity (a group's multiplied in) and offsets
    opacity = {layer.name: layer.opacity for m in (t16, t24) for layer in m.layers}
    assert opacity["Shade"] == pytest.approx(0.5)
    assert opacity["ground"] == pytest.approx(0.8)
    assert opacity["canopy"] == pytest.approx(0.81)
    assert [layer.offset for layer in t24.layers if layer.name == "canopy"] == [(2, -2)]
    # exits and entries between town32 and town48
    out = t32.world.exit_at(17.5 * 32, 3 * 32)
    assert (out.target_map, out.target_entry) == ("town48", "gate")
    back = t48.world.exit_at(14 * 48, 10 * 48)
    assert (back.target_map, back.target_entry) == ("town32", "door")
    assert t48.world.entries["gate"] == (168.0, 408.0)
    assert t32.world.entries["door"] == (528.0, 336.0)
    assert t48.world.exit_at(1.5 * 48, 9.5 * 48) is None  # an exitUrl to another server
    assert any("another server" in w for w in t48.warnings)


def test_the_feature_maps_read_tiles_flips_animations_and_images_as_drawn():
    t16, t24, coll = load("town16.tmx"), load("town24.tmj"), load("collection.tmx")
    arrows = [g for layer in t16.layers if layer.name == "Decoration" for g in layer.data if g]
    assert len(arrows) == 8 and len(set(arrows)) == 8
    assert {g & tiled.GID_MASK for g in arrows} == {10}
    # margin 2 and spacing 1: the roof tile (index 8: column 0, row 2)
    assert t24.tiles[9].rect == (2, 2 + 2 * 25, 24, 24)
    assert t16.tiles[9].rect == (0, 32, 16, 16)
    assert [f.gid for f in t24.animations[7]] == [7, 8]
    assert all(f.duration_ms == 300 for f in t16.animations[7])
    assert coll.tiles[3].source == "collection/tree.png" and coll.tiles[3].rect is None
    desert = tiled.load_map(THIRDPARTY / "tiled" / "desert.tmx")
    assert desert.tiles[1].rect == (1, 1, 32, 32)


@pytest.mark.parametrize("name, free, blocked", [
    # blocked and collides tiles
    ("town16.tmx", [(124, 72)], [(104, 80), (272, 72)]),
    # a collision rect (whole cells) and a polygon (part of a cell)
    ("town24.tmj", [(345, 235), (180, 120)], [(204, 120), (360, 200), (84, 60)]),
    # tile shapes: half tiles (plain and flipped), an ellipse, slopes (plain and turned);
    # an object of class collision; a polygon in an object layer of class walls
    ("town32.tmx", [(285, 208), (389, 208), (328, 295), (472, 296), (140, 315)],
                   [(270, 208), (395, 208), (336, 112), (345, 312), (456, 314), (128, 112),
                    (180, 300)]),
    # a wall layer painted with collides tiles
    ("town48.tmj", [(360, 312)], [(9.5 * 48, 5 * 48)]),
    # a blocked tile in an image collection; a shape on a tile taller than the grid
    ("collection.tmx", [(112, 80)], [(16, 16), (112, 116)]),
])
def test_the_three_collision_sources_block_exactly_where_drawn(name, free, blocked):
    world = load(name).world
    for xy in free:
        assert world.box_free(*xy), f"{name}: {xy} should be free"
    for xy in blocked:
        assert not world.box_free(*xy), f"{name}: {xy} should be blocked"


def test_the_workadventure_maps_block_their_walls_and_link_to_each_other():
    office = tiled.load_map(THIRDPARTY / "workadventure" / "office.tmj")
    conference = tiled.load_map(THIRDPARTY / "workadventure" / "conference.tmj")
    for m in (office, conference):
        assert sum(m.world.blocked) > 0
        assert [layer.name for layer in m.layers if layer.above] == ["above1", "above2"]
    out = office.world.exits[0]
    assert (out.target_map, out.target_entry) == ("conference", "from-office")
    assert "from-office" in conference.world.entries
    back = conference.world.exits[0]
    assert (back.target_map, back.target_entry) == ("office", "from-conference")
    assert "from-conference" in office.world.entries
    # The entries the exits lead to are places a player can stand.
    assert conference.world.box_free(*conference.world.entries["from-office"])
    assert office.world.box_free(*office.world.entries["from-conference"])


# -- a real host and a real client ----------------------------------------------------
OFFICE = THIRDPARTY / "workadventure" / "office.tmj"
CONFERENCE = THIRDPARTY / "workadventure" / "conference.tmj"  # the office's exits lead there


@pytest.fixture(params=ASYNC_MODES)
def office_host(request, tmp_path):
    world = start_world_host(tmp_path / "world.db", OFFICE, request.param,
                             ("--map", str(CONFERENCE)))
    try:
        yield world
    finally:
        world.stop()


def sendable(world: rules.WorldMap, xy, direction) -> tuple[float, float]:
    """``xy`` as the client sends it (two decimals), backed off from the wall
    when rounding would touch it."""
    x, y = round(xy[0], 2), round(xy[1], 2)
    while not world.box_free(x, y):
        x, y = round(x - direction[0] * 0.01, 2), round(y - direction[1] * 0.01, 2)
    return x, y


class Walker:
    """Sends moves at walking speed and waits until the host shows each one."""

    def __init__(self, client, xy):
        self.client, self.at, self.sent_at = client, xy, time.monotonic()

    def to(self, xy) -> None:
        # A player covers a distance in distance / speed: keep to that pace.
        due = self.sent_at + math.dist(self.at, xy) / rules.WALK_SPEED
        time.sleep(max(0.0, due - time.monotonic()))
        self.client.send_move(*xy)
        self.sent_at = time.monotonic()
        me = self.client.session.user_id
        self.client.wait_for(P.SNAPSHOT, match=lambda d: _near(snapshot_positions(d).get(me), xy))
        self.at = xy


def _near(seen, xy) -> bool:
    return seen is not None and math.dist(seen, xy) < 0.06


def test_a_player_walks_into_a_wall_of_a_workadventure_map_and_is_stopped(office_host):
    world = tiled.load_map(OFFICE).world
    players = PlayerFactory(office_host)
    try:
        alice = players()
        you = alice.welcome["you"]
        start = (you["x"], you["y"])
        assert world.box_free(*start)
        points, direction = route_to_wall(world, start)
        walker = Walker(alice, start)
        for point in points[1:]:
            walker.to(point)
        # Hold the key towards the wall as the game predicts it: every step is taken ...
        predicted = walk_until_stopped(world, walker.at, direction)
        for point in predicted[::6][1:] + [predicted[-1]]:
            walker.to(sendable(world, point, direction))
        stop = walker.at
        assert not world.box_free(stop[0] + direction[0], stop[1] + direction[1])
        # ... and the step into the wall is corrected back to where the player stopped.
        wall = (stop[0] + direction[0] * world.tile_size / 2,
                stop[1] + direction[1] * world.tile_size / 2)
        seq = alice.send_move(*wall)
        correction = alice.wait_for(P.CORRECTION).data
        assert correction["seq"] == seq and correction["reason"] in ("blocked", "through_wall")
        assert (correction["x"], correction["y"]) == pytest.approx(stop, abs=0.01)
    finally:
        players.close_all()
