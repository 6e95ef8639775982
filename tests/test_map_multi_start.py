"""Starting a world of several maps: which maps, which one new players start
on, the refusals, and positions kept with their map across host restarts."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from game.core import protocol as P
from game.core import rules
from server.config import HostConfig, world_map_paths
from server.live import LiveWorld
from server.startup import StartupError
from server.storage import MIGRATIONS, Storage, migrate
from server.runtime import Runtime
from server.worlds import World

from .conftest import (ASYNC_MODES, PlayerFactory, db_rows, start_world_host, unique_name,
                       write_tmx)
from .support import free_port
from .test_map_multi import (CAVE_ROWS, DOOR, TOWN_ROWS, TOWN_SPAWN, go_to_cave,
                             snapshot_positions, walk, write_world)

ROOT = Path(__file__).resolve().parent.parent


# -- which maps, and where new players start ---------------------------------------------
def test_a_world_folder_starts_on_the_map_named_world_start_or_main(tmp_path):
    for name in ("cave", "main", "attic"):
        write_tmx(tmp_path / f"{name}.tmx", TOWN_ROWS)
    (tmp_path / "notes.txt").write_text("not a map")
    (tmp_path / "tiles.json").write_text(json.dumps({"type": "tileset", "tiles": []}))
    paths = world_map_paths([tmp_path])
    assert [p.name for p in paths] == ["main.tmx", "attic.tmx", "cave.tmx"]
    write_tmx(tmp_path / "world.tmx", TOWN_ROWS)
    assert world_map_paths([tmp_path])[0].name == "world.tmx"


def test_without_a_start_name_the_first_map_alphabetically_starts(tmp_path):
    for name in ("cave", "Attic", "beach"):
        write_tmx(tmp_path / f"{name}.tmx", TOWN_ROWS)
    assert [p.name for p in world_map_paths([tmp_path])] == ["Attic.tmx", "beach.tmx", "cave.tmx"]


def test_start_map_or_the_first_file_given_decides(tmp_path):
    town = write_tmx(tmp_path / "town.tmx", TOWN_ROWS)
    cave = write_tmx(tmp_path / "cave.tmx", CAVE_ROWS)
    assert world_map_paths([cave, town]) == (cave, town)
    assert world_map_paths([cave, town], "town") == (town, cave)
    assert world_map_paths([tmp_path], "town.tmx")[0] == town
    with pytest.raises(StartupError, match="--start-map nowhere is not one of the world's maps"):
        world_map_paths([tmp_path], "nowhere")
    config = HostConfig(map_paths=(town, cave))
    assert config.map_path == town


def test_a_world_folder_without_maps_is_refused(tmp_path):
    with pytest.raises(StartupError, match=f"world folder {tmp_path} has no Tiled maps"):
        world_map_paths([tmp_path])


# -- refusals: one line naming the file ---------------------------------------------------
def run_host(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "host.py"), "--port", str(free_port()),
           "--db", str(tmp_path / "world.db"), "--async-mode", "threading", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def refusal(result: subprocess.CompletedProcess, *words: str) -> str:
    output = (result.stdout + result.stderr).strip()
    lines = output.splitlines()
    assert result.returncode == 1, output
    assert len(lines) == 1 and "Traceback" not in output, output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_two_maps_of_one_name_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    first = write_tmx(tmp_path / "a" / "town.tmx", TOWN_ROWS)
    second = write_tmx(tmp_path / "b" / "town.tmx", TOWN_ROWS)
    refusal(run_host(tmp_path, "--map", str(first), "--map", str(second)),
                   str(first), str(second), "'town'")
    assert not (tmp_path / "world.db").exists()


def test_an_exit_to_a_map_not_in_the_world_is_refused(tmp_path):
    town = write_tmx(tmp_path / "town.tmx", TOWN_ROWS, exits=[(160, 64, 64, 32, "castle")])
    refusal(run_host(tmp_path, "--map", str(town)), str(town), "'castle'", "not in this world")


def test_an_exit_to_an_entry_the_map_lacks_is_refused(tmp_path):
    write_world(tmp_path)
    town = write_tmx(tmp_path / "town.tmx", TOWN_ROWS, exits=[(160, 64, 64, 32, "cave#cellar")])
    refusal(run_host(tmp_path, "--map", str(tmp_path)),
            str(town), "cave#cellar", str(tmp_path / "cave.tmx"), "no entry named 'cellar'")


# -- positions keep their map ------------------------------------------------------------
def test_positions_written_before_maps_had_names_belong_to_the_start_map(tmp_path):
    db = tmp_path / "world.db"
    from sqlite_utils import Database

    old = Database(db)
    with pytest.MonkeyPatch.context() as patch:  # a world from before this version
        patch.setattr("server.storage.MIGRATIONS", MIGRATIONS[:2])
        migrate(old)
    old.execute("INSERT INTO users (id, name, name_key, pw_hash, created_at) "
                "VALUES (1, 'old', 'old', 'x', 0)")
    old.execute("INSERT INTO positions (user_id, x, y, updated_at) VALUES (1, 112, 80, 0)")
    old.conn.commit()
    old.close()
    store = Storage(db, Runtime("threading"))
    try:
        assert store.load_place(1) == (None, 112.0, 80.0)
        assert store.load_position(1) == (112.0, 80.0)
        town = rules.WorldMap.from_rows(TOWN_ROWS)
        cave = rules.WorldMap.from_rows(CAVE_ROWS)
        world = LiveWorld(World({"town": town, "cave": cave},
                                {"town": Path("town.tmx"), "cave": Path("cave.tmx")}, "town"))
        player = world.place(1, "old", "sid", store.load_place(1), 0.0)
        assert (player.map, player.x, player.y) == ("town", 112.0, 80.0)
        store.save_positions([(1, 120.0, 176.0, "cave")])
        store.flush()
        assert store.load_place(1) == ("cave", 120.0, 176.0)
        # A map that left the world: its players start at the start map's spawn.
        gone = world.place(2, "new", "sid2", ("attic", 40.0, 40.0), 0.0)
        assert (gone.map, gone.x, gone.y) == ("town", *town.spawn)
    finally:
        store.close()
    assert db_rows(db, "SELECT map, x, y FROM positions") == [("cave", 120.0, 176.0)]


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_the_map_survives_a_host_restart_unless_it_left_the_world(tmp_path, mode):
    folder = write_world(tmp_path / "world")
    db = tmp_path / "data" / "world.db"
    db.parent.mkdir()
    name = unique_name("keeper")
    host = start_world_host(db, folder, mode, ("--start-map", "town"))
    try:
        players = PlayerFactory(host)
        alice = players(name)
        changed = go_to_cave(alice)
        assert changed["map"]["name"] == "cave"
        there = (DOOR[0] + 24, DOOR[1] - 32)
        walk(alice, DOOR, there)
        me = alice.session.user_id
        alice.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(me) == there)
        players.close_all()
    finally:
        host.stop()
    assert db_rows(db, "SELECT map, x, y FROM positions WHERE user_id = ?", (me,)) == \
        [("cave", *there)]
    host = start_world_host(db, folder, mode, ("--start-map", "town"))
    try:
        players = PlayerFactory(host)
        again = players(name, register=False)
        assert again.welcome["map"]["name"] == "cave"
        assert (again.welcome["you"]["x"], again.welcome["you"]["y"]) == there
        players.close_all()
    finally:
        host.stop()
    # The cave is left out of the world: Alice comes back at the town's spawn.
    (tmp_path / "alone").mkdir()
    host = start_world_host(db, write_tmx(tmp_path / "alone" / "town.tmx", TOWN_ROWS), mode)
    try:
        players = PlayerFactory(host)
        back = players(name, register=False)
        assert back.welcome["map"]["name"] == "town"
        assert (back.welcome["you"]["x"], back.welcome["you"]["y"]) == TOWN_SPAWN
        players.close_all()
    finally:
        host.stop()


def test_an_exit_is_taken_by_walking_into_it_not_by_standing_in_it():
    """A player who arrives inside an exit (an entry drawn inside one) stays
    until they walk out and back in: two exits facing each other never
    bounce a player to and fro."""
    square = ((96.0, 64.0), (160.0, 64.0), (160.0, 96.0), (96.0, 96.0))
    town = dataclasses.replace(rules.WorldMap.from_rows(TOWN_ROWS),
                               exits=(rules.Exit(square, "cave", "door"),))
    cave = dataclasses.replace(rules.WorldMap.from_rows(CAVE_ROWS),
                               exits=(rules.Exit(square, "town", None),),
                               entries={"door": (112.0, 80.0)})
    world = LiveWorld(World({"town": town, "cave": cave},
                            {"town": Path("town.tmx"), "cave": Path("cave.tmx")}, "town"))
    player = world.place(1, "a", "sid", None, 0.0)
    before = (player.x, player.y)
    player.x = 104.0
    taken = world.exit_taken(player, before)
    assert taken is not None and world.destination(taken) == ("cave", (112.0, 80.0))
    world.change_map(player, "cave", (112.0, 80.0), 1.0)
    assert (player.map, player.x, player.y, player.arrival) == ("cave", 112.0, 80.0, (112.0, 80.0))
    assert player.budget.available == player.budget.capacity
    # Inside the cave's exit from the start: steps within it go nowhere.
    assert world.apply_move(player, P.Move(seq=1, x=120.0, y=80.0), 1.1) is None
    assert world.exit_taken(player, (112.0, 80.0)) is None
    # Out of it and back in: now it is taken.
    assert world.apply_move(player, P.Move(seq=2, x=120.0, y=104.0), 1.3) is None
    assert world.apply_move(player, P.Move(seq=3, x=120.0, y=90.0), 1.5) is None
    assert world.destination(world.exit_taken(player, (120.0, 104.0)))[0] == "town"


def test_moves_sent_before_the_client_heard_of_the_new_map_are_refused():
    town = rules.WorldMap.from_rows(TOWN_ROWS)
    cave = rules.WorldMap.from_rows(CAVE_ROWS)
    world = LiveWorld(World({"town": town, "cave": cave},
                            {"town": Path("town.tmx"), "cave": Path("cave.tmx")}, "town"))
    player = world.place(1, "a", "sid", None, 0.0)
    world.change_map(player, "cave", DOOR, 1.0)
    # A step on the town's ground, 60 px away: not a step in the cave.
    late = P.Move(seq=5, x=DOOR[0] + 60.0, y=DOOR[1])
    assert world.apply_move(player, late, 1.05) == "other_map"
    assert (player.x, player.y) == DOOR
    # The client's first step from the arrival point counts, and so do the next.
    assert world.apply_move(player, P.Move(seq=6, x=DOOR[0] + 8.0, y=DOOR[1]), 1.1) is None
    assert player.arrival is None
    assert world.apply_move(player, P.Move(seq=7, x=DOOR[0] + 60.0, y=DOOR[1]), 1.5) is None
