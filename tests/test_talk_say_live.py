"""Who is within earshot, straight from the live world (no host needed)."""
from __future__ import annotations

from pathlib import Path

from game.core import protocol as P
from game.core import rules
from server.live import LiveWorld
from server.worlds import World

ROWS = ("S" + "." * 79,) + tuple("." * 80 for _ in range(39))


def world() -> LiveWorld:
    town = rules.WorldMap.from_rows(ROWS)
    cave = rules.WorldMap.from_rows(ROWS)
    return LiveWorld(World({"town": town, "cave": cave},
                           {"town": Path("town.tmx"), "cave": Path("cave.tmx")}, "town"))


def place_all(live: LiveWorld) -> None:
    """What a tick does: put every mover in its cell."""
    from server.live import cell_of
    with live.lock:
        for uid, x, y in live.take_moved():
            player = live.by_uid[uid]
            cell = cell_of(x, y, player.level)
            if player.cell is not None:
                live.cells[player.cell].discard(uid)
            live.cells.setdefault(cell, set()).add(uid)
            player.cell = cell


def names(players) -> set[str]:
    return {p.name for p in players}


def test_within_measures_exactly_and_looks_only_at_nearby_cells():
    live = world()
    r = P.HEARING_RADIUS_PX
    me = live.add(1, "me", "s1", 100.0, 100.0, 0.0)
    live.add(2, "edge", "s2", 100.0 + r, 100.0, 0.0)          # exactly at the radius
    live.add(3, "beyond", "s3", 100.0 + r + 1, 100.0, 0.0)   # one pixel too far
    live.add(4, "diagonal", "s4", 100.0 + 230, 100.0 + 230, 0.0)  # 325 px away
    live.add(5, "far", "s5", 2000.0, 1000.0, 0.0)
    live.add(6, "cave", "s6", 100.0, 100.0, 0.0, map_name="cave")
    # Just joined, before any tick: found all the same.
    assert names(live.within(me, r)) == {"me", "edge"}
    place_all(live)
    assert names(live.within(me, r)) == {"me", "edge"}
    # The far player's cell is never looked at: take it away and nothing changes.
    far_cell = live.by_uid[5].cell
    del live.cells[far_cell]
    assert names(live.within(me, r)) == {"me", "edge"}


def test_within_sees_players_who_walked_since_the_last_tick():
    live = world()
    r = P.HEARING_RADIUS_PX
    me = live.add(1, "me", "s1", 300.0, 300.0, 0.0)
    walker = live.add(2, "walker", "s2", 300.0 + r + 90, 300.0, 0.0)
    place_all(live)
    assert names(live.within(me, r)) == {"me"}
    walker.x -= 95  # walked into earshot (and into another cell) since the tick
    assert names(live.within(me, r)) == {"me", "walker"}


def test_changing_map_is_heard_on_the_new_map_at_once():
    live = world()
    me = live.add(1, "me", "s1", 100.0, 100.0, 0.0, map_name="cave")
    other = live.add(2, "other", "s2", 120.0, 100.0, 0.0)
    place_all(live)
    assert names(live.within(me, P.HEARING_RADIUS_PX)) == {"me"}
    live.change_map(other, "cave", (140.0, 100.0), 1.0)
    assert names(live.within(me, P.HEARING_RADIUS_PX)) == {"me", "other"}
    assert names(live.within(other, P.HEARING_RADIUS_PX)) == {"me", "other"}


def test_each_player_has_its_own_allowance_of_lines():
    live = world()
    me = live.add(1, "me", "s1", 100.0, 100.0, 0.0)
    assert (me.says.limit, me.says.window_s) == (P.SAYS_PER_WINDOW, P.SAY_WINDOW_S)
    assert me.says is not me.dms
    assert all(me.says.allow(10.0) for _ in range(P.SAYS_PER_WINDOW))
    assert not me.says.allow(10.0)
    assert me.says.allow(10.0 + P.SAY_WINDOW_S + 0.01)
    assert me.dms.allow(10.0)  # direct messages untouched
