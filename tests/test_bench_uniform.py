"""Uniform spread for the benchmark: players placed evenly over the tiles a
player can reach from the spawn, written into a stopped host's database,
and the density a run states."""
from __future__ import annotations

import sqlite3

from bench import node_load
from game.core import rules

ROWS = (
    "..........#####",
    ".....S....#...#",   # the room on the right is walled in: unreachable
    "..........#####",
    "...............",
)


def world() -> rules.WorldMap:
    return rules.WorldMap.from_rows(ROWS)


def test_only_tiles_reachable_from_the_spawn_are_used():
    w = world()
    tiles = node_load.reachable_tiles(w)
    walled_in = {(11, 1), (12, 1), (13, 1)}
    assert (5, 1) in tiles and (14, 3) in tiles
    assert tiles == sorted(t for t in w.walkable_tiles() if t not in walled_in)


def test_players_take_distinct_tiles_while_there_are_enough():
    w = world()
    tiles = node_load.reachable_tiles(w)
    spots = node_load.uniform_spots(w, len(tiles), seed=3)
    assert len(set(spots)) == len(tiles)
    more = node_load.uniform_spots(w, len(tiles) + 5, seed=3)
    assert len(more) == len(tiles) + 5 and len(set(more)) == len(tiles)


def test_density_counts_players_per_tile_and_movers_in_view():
    w = world()
    starts = [(48.0, 48.0), (80.0, 48.0), (5000.0, 5000.0)]
    found = node_load.density(w, starts)
    tiles = len(node_load.reachable_tiles(w))
    assert found["reachable_tiles"] == tiles
    assert found["players_per_1000_tiles"] == round(3000 / tiles, 1)
    assert found["movers_seen_per_client"] == round(2 / 3, 1)  # two see each other


def test_positions_are_written_for_known_accounts(tmp_path):
    db = tmp_path / "world.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name_key TEXT)")
    conn.execute("CREATE TABLE positions (user_id INTEGER PRIMARY KEY, x REAL, y REAL, "
                 "updated_at REAL, map TEXT)")
    conn.executemany("INSERT INTO users VALUES (?, ?)", [(1, "cmp0000"), (2, "cmp0001")])
    conn.execute("INSERT INTO positions VALUES (1, 1.0, 1.0, 0.0, 'world')")
    conn.commit()
    conn.close()
    placed = node_load.write_positions(db, {"cmp0000": (48.0, 80.0), "cmp0001": (16.0, 16.0),
                                           "nobody": (1.0, 1.0)})
    assert placed == 2
    rows = sqlite3.connect(db).execute("SELECT user_id, x, y, map FROM positions "
                                       "ORDER BY user_id").fetchall()
    assert rows == [(1, 48.0, 80.0, None), (2, 16.0, 16.0, None)]
