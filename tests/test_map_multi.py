"""A world of two maps linked by exits, on a real host under both async modes.

The town (the start map) has an exit into the cave, arriving at the cave's
entry ``door``; the cave has an exit back to the town's spawn.  Players walk
into the exits as a real client does (moves at walking speed) and the tests
check what each player hears: the one who went gets ``map_changed``, everyone
else ``player_map``, and nobody hears positions from another map.
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import pytest
import requests

from game.core import protocol as P

from .conftest import (ASYNC_MODES, PlayerFactory, TILE, start_world_host, unique_name,
                       players_online, snapshot_positions, wait_until, write_tmx)

TOWN_ROWS = (
    "............",
    "............",
    "..S.........",
    "............",
    "............",
    "............",
    "............",
    "............",
)
CAVE_ROWS = (
    "##########",
    "#........#",
    "#........#",
    "#........#",
    "#........#",
    "#......S.#",
    "#........#",
    "##########",
)
TOWN_SPAWN = (80.0, 80.0)
# The town's exit: tiles 5 and 6 of row 2, leading to the cave's door.
TOWN_EXIT = (160.0, 64.0, 64.0, 32.0, "cave#door")
INTO_TOWN_EXIT = (176.0, 80.0)
DOOR = (80.0, 176.0)
# The cave's exit back to the town (no entry named: the town's spawn).
CAVE_EXIT = (160.0, 32.0, 64.0, 32.0, "town")
INTO_CAVE_EXIT = (176.0, 48.0)


def write_world(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_tmx(folder / "town.tmx", TOWN_ROWS, exits=[TOWN_EXIT])
    write_tmx(folder / "cave.tmx", CAVE_ROWS, exits=[CAVE_EXIT], entries={"door": DOOR})
    return folder


@pytest.fixture(scope="module", params=ASYNC_MODES)
def linked_host(request, tmp_path_factory):
    folder = write_world(tmp_path_factory.mktemp("linked") / "world")
    db = tmp_path_factory.mktemp(f"linked-{request.param}") / "world.db"
    host = start_world_host(db, folder, request.param, ("--start-map", "town"))
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def players(linked_host):
    """Players on the linked world; each test starts with nobody online."""
    wait_until(lambda: players_online(linked_host.url) == 0, timeout=10)
    factory = PlayerFactory(linked_host)
    yield factory
    factory.close_all()


def walk(client, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Walk in a straight line at walking speed: 8 px every 50 ms."""
    x, y = start
    while (x, y) != end:
        dx, dy = end[0] - x, end[1] - y
        distance = math.hypot(dx, dy)
        if distance <= 8.0:
            x, y = end
        else:
            x, y = x + dx / distance * 8.0, y + dy / distance * 8.0
        client.send_move(x, y)
        time.sleep(0.05)  # the pace of a walk, not a wait for the host


def spot(welcome_you: dict) -> tuple[float, float]:
    return float(welcome_you["x"]), float(welcome_you["y"])


def go_to_cave(client) -> dict:
    walk(client, spot(client.welcome["you"]), INTO_TOWN_EXIT)
    return client.wait_for(P.MAP_CHANGED).data


def test_walking_into_an_exit_takes_the_player_to_the_entry(players):
    alice = players()
    assert alice.welcome["map"]["name"] == "town"
    assert alice.welcome["you"]["map"] == "town"
    changed = go_to_cave(alice)
    assert changed["map"]["name"] == "cave"
    assert changed["map"]["file"] == "cave.tmx"
    assert changed["you"]["map"] == "cave"
    assert (changed["you"]["x"], changed["you"]["y"]) == DOOR
    assert changed["world"]["width"] == len(CAVE_ROWS[0]) * TILE
    assert changed["players"] == []
    # The steps she sent on the town's ground before she heard of the cave
    # are refused, not taken as steps in the cave.
    late = alice.wait_for(P.CORRECTION).data
    assert late["reason"] == "other_map" and (late["x"], late["y"]) == DOOR
    # She walks on from the door in the cave (where the town has no wall, the
    # cave has one: its rules are the ones that count now).
    me = alice.session.user_id
    walk(alice, DOOR, (DOOR[0], DOOR[1] + 16))
    wait_until(lambda: any(snapshot_positions(e.data).get(me) == (DOOR[0], DOOR[1] + 16)
                           for e in alice.drain() if e.kind == P.SNAPSHOT))
    alice.send_move(DOOR[0], DOOR[1] + 46)  # into the cave's bottom wall
    refused = alice.wait_for(P.CORRECTION, match=lambda d: d["reason"] != "other_map").data
    assert refused["reason"] == "blocked"
    assert (refused["x"], refused["y"]) == (DOOR[0], DOOR[1] + 16)


def test_an_exit_without_an_entry_leads_to_the_spawn_beside_whoever_stands_there(players):
    alice, bob = players(), players()
    go_to_cave(alice)
    bob_there = spot(go_to_cave(bob)["you"])
    assert bob_there != DOOR  # Alice stands at the door: Bob arrives beside her
    # Alice goes back to the town through the cave's exit; nobody is there.
    walk(alice, DOOR, INTO_CAVE_EXIT)
    back = alice.wait_for(P.MAP_CHANGED).data
    assert back["map"]["name"] == "town"
    assert (back["you"]["x"], back["you"]["y"]) == TOWN_SPAWN
    # Bob follows: placed beside her, not on her.
    walk(bob, bob_there, INTO_CAVE_EXIT)
    also = bob.wait_for(P.MAP_CHANGED).data
    assert also["map"]["name"] == "town"
    assert (also["you"]["x"], also["you"]["y"]) != TOWN_SPAWN
    assert [p["id"] for p in also["players"]] == [alice.session.user_id]


def test_players_hear_only_about_players_on_their_own_map(players):
    alice, bob = players(), players()
    bob_id = bob.session.user_id
    # Near each other in the town, Alice hears Bob's steps.
    bob.send_move(spot(bob.welcome["you"])[0], spot(bob.welcome["you"])[1] + 8)
    alice.wait_for(P.SNAPSHOT, match=lambda d: bob_id in snapshot_positions(d))
    go_to_cave(bob)
    moved = alice.wait_for(P.PLAYER_MAP, match=lambda d: d["id"] == bob_id).data
    assert moved == {"id": bob_id, "name": bob.session.name, "map": "cave"}
    alice.wait_for(P.SNAPSHOT, match=lambda d: bob_id in (d.get("gone") or []))
    alice.drain()
    alice.skipped.clear()  # from here on: what Alice hears while Bob is in the cave
    # Bob walks about in the cave while Alice walks in the town.
    walk(bob, DOOR, (DOOR[0] + 48, DOOR[1]))
    walk(alice, spot(alice.welcome["you"]), (TOWN_SPAWN[0], TOWN_SPAWN[1] + 64))
    bob.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(bob_id)
                 == (DOOR[0] + 48, DOOR[1]))
    alice_id = alice.session.user_id
    alice.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(alice_id)
                   == (TOWN_SPAWN[0], TOWN_SPAWN[1] + 64))
    heard = alice.drain() + alice.skipped
    assert not [e for e in heard if e.kind == P.SNAPSHOT and bob_id in snapshot_positions(e.data)]
    assert not [e for e in heard if e.kind == P.AREA and bob_id in e.data["enter"][0::3]]
    # A player joining the town learns where Bob is, by name, but not his steps.
    carol = players()
    listed = {p["id"]: p for p in carol.welcome["players"]}
    assert listed[bob_id]["map"] == "cave"
    assert listed[alice_id]["map"] == "town"
    directory = {p["name"]: p for p in carol.call(P.DIRECTORY, {})["players"]}
    assert directory[bob.session.name]["map"] == "cave"
    assert directory[alice.session.name]["map"] == "town"


def test_direct_messages_cross_maps(players):
    alice, bob = players(), players()
    go_to_cave(bob)
    reply = bob.call(P.DM_SEND, {"to": alice.session.name, "text": "hello from the cave"})
    assert reply["ok"] is True
    unread = alice.wait_for(P.DM_UNREAD).data
    assert unread["peer"] == bob.session.name
    assert unread["message"]["text"] == "hello from the cave"


def test_the_map_and_spot_survive_a_reconnect(players, linked_host):
    name = unique_name("caver")
    alice = players(name)
    go_to_cave(alice)
    walk(alice, DOOR, (DOOR[0] + 32, DOOR[1]))
    me = alice.session.user_id
    alice.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(me)
                   == (DOOR[0] + 32, DOOR[1]))
    players.close(alice).result(timeout=10)
    wait_until(lambda: players_online(linked_host.url) == 0)
    again = players(name, register=False)
    assert again.welcome["map"]["name"] == "cave"
    assert again.welcome["you"]["map"] == "cave"
    assert spot(again.welcome["you"]) == (DOOR[0] + 32, DOOR[1])
    assert again.welcome["world"]["width"] == len(CAVE_ROWS[0]) * TILE


def test_the_host_serves_every_map_of_the_world(players, linked_host):
    health = requests.get(linked_host.url + P.HTTP_HEALTH, timeout=5).json()
    assert health["map"]["name"] == "town"
    served = {m["name"]: m for m in health["maps"]}
    assert set(served) == {"town", "cave"}
    alice = players()
    assert alice.welcome["map"] == served["town"]
    changed = go_to_cave(alice)
    assert changed["map"] == served["cave"]
    bundle = requests.get(linked_host.url + served["cave"]["url"], timeout=5)
    assert bundle.status_code == 200
    assert hashlib.sha256(bundle.content).hexdigest() == served["cave"]["hash"]
