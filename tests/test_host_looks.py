"""Looks and placement on a real host, under both async modes: players choose
a look when they register, everyone sees it, a change reaches the others, a
bad look changes nothing, and nobody appears on top of someone else."""
from __future__ import annotations

import json
import math

import pytest
import requests

from game.core import protocol as P
from game.core.rules import PERSONAL_SPACE_PX, PLACE_RADIUS_TILES

from .conftest import (ASYNC_MODES, PASSWORD, SPAWN, TILE, PlayerFactory, db_rows,
                       start_world_host, stored_position, unique_name, wait_until)

RED_BUN = P.Look("tan", "bun", "auburn", "red", "navy", "white")
TEAL_AFRO = P.Look("deep", "afro", "black", "teal", "denim", "gold")


def register(players, look: P.Look | None = None):
    """A player registered with ``look`` (None: let the host pick), in the world."""
    client = players.client()
    client.register(unique_name("lk"), PASSWORD, look)
    client.connect()
    client.welcome = client.wait_for(P.WELCOME).data
    return client


def stored_look(world_host, uid: int):
    rows = db_rows(world_host.db_path, "SELECT look FROM users WHERE id = ?", (uid,))
    return P.parse_look(json.loads(rows[0][0])) if rows and rows[0][0] else None


def test_two_players_see_each_others_chosen_looks(world_host, players):
    alice = register(players, RED_BUN)
    assert alice.welcome["you"]["look"] == RED_BUN.as_dict()
    bob = register(players, TEAL_AFRO)
    assert bob.welcome["you"]["look"] == TEAL_AFRO.as_dict()
    seen_by_bob = {p["id"]: p for p in bob.welcome["players"]}
    assert seen_by_bob[alice.session.user_id]["look"] == RED_BUN.as_dict()
    joined = alice.wait_joined(bob.session.user_id)
    assert joined["look"] == TEAL_AFRO.as_dict()
    assert stored_look(world_host, alice.session.user_id) == RED_BUN


def test_an_account_without_a_choice_gets_a_stored_random_look(world_host, players):
    looks = []
    for _ in range(3):
        client = register(players)
        look = P.parse_look(client.welcome["you"]["look"])  # complete and valid
        assert stored_look(world_host, client.session.user_id) == look
        looks.append(look)
    assert len(set(looks)) == 3


@pytest.fixture(params=ASYNC_MODES)
def fresh_players(request, tmp_path, test_map_path):
    """Players on a host of this test's own: nobody left standing near the
    spawn by other tests pushes the first player out of a step's reach."""
    world = start_world_host(tmp_path / "world.db", test_map_path, request.param)
    factory = PlayerFactory(world)
    try:
        yield factory
    finally:
        factory.close_all()
        world.stop()


def test_a_newcomer_is_not_placed_on_someone_standing_at_the_spawn(fresh_players):
    players, world_host = fresh_players, fresh_players.world
    first = register(players)
    you = first.welcome["you"]
    if (you["x"], you["y"]) != SPAWN:  # someone from before is there: step onto it anyway
        first.send_move(*SPAWN)
        # Saved positions are ones the host accepted: it knows they stand there.
        wait_until(lambda: stored_position(world_host.db_path, first.session.user_id) == SPAWN)
    for _ in range(3):
        newcomer = register(players)
        me = newcomer.welcome["you"]
        others = [(p["x"], p["y"]) for p in newcomer.welcome["players"]]
        assert (first.session.user_id, *SPAWN) in [(p["id"], p["x"], p["y"])
                                                   for p in newcomer.welcome["players"]]
        nearest = min(math.hypot(me["x"] - x, me["y"] - y) for x, y in others)
        assert nearest >= PERSONAL_SPACE_PX, f"placed {nearest:.1f} px from someone"
        assert math.hypot(me["x"] - SPAWN[0], me["y"] - SPAWN[1]) <= PLACE_RADIUS_TILES * TILE


def test_a_look_change_reaches_the_others_and_is_kept(world_host, players):
    alice = register(players, RED_BUN)
    bob = register(players, TEAL_AFRO)
    answer = alice.call(P.SET_LOOK, TEAL_AFRO.as_dict())
    assert answer == {"ok": True, "look": TEAL_AFRO.as_dict()}
    changed = bob.wait_for(P.LOOK_CHANGED, match=lambda d: d["id"] == alice.session.user_id)
    assert changed.data == {"id": alice.session.user_id, "name": alice.session.name,
                            "look": TEAL_AFRO.as_dict()}
    assert stored_look(world_host, alice.session.user_id) == TEAL_AFRO
    # Someone joining later sees the new look.
    carol = register(players)
    seen = {p["id"]: p["look"] for p in carol.welcome["players"]}
    assert seen[alice.session.user_id] == TEAL_AFRO.as_dict()


def test_a_bad_look_is_refused_with_a_code_and_changes_nothing(world_host, players):
    alice = register(players, RED_BUN)
    bob = register(players, TEAL_AFRO)
    for bad in ({**RED_BUN.as_dict(), "shirt": "plaid"}, {"skin": "tan"}, "red",
                {**RED_BUN.as_dict(), "hat": "red"}):
        answer = alice.call(P.SET_LOOK, bad)
        assert answer["ok"] is False and answer["error"] == P.E_BAD_LOOK, answer
        error = alice.wait_for(P.ERROR, match=lambda d: d.get("event") == P.SET_LOOK)
        assert error.data["code"] == P.E_BAD_LOOK
    assert stored_look(world_host, alice.session.user_id) == RED_BUN
    # The first change bob hears of is the good one that follows.
    alice.call(P.SET_LOOK, TEAL_AFRO.as_dict())
    changed = bob.wait_for(P.LOOK_CHANGED, match=lambda d: d["id"] == alice.session.user_id)
    assert changed.data["look"] == TEAL_AFRO.as_dict()


def test_look_changes_are_limited(world_host, players):
    alice = register(players, RED_BUN)
    looks = [RED_BUN.replace("shirt", colour) for colour in P.CLOTHES_COLOURS]
    answers = [alice.call(P.SET_LOOK, look.as_dict()) for look in
               looks[:P.LOOK_CHANGES_PER_WINDOW + 1]]
    assert all(a["ok"] for a in answers[:P.LOOK_CHANGES_PER_WINDOW])
    assert answers[-1]["ok"] is False and answers[-1]["error"] == P.E_RATE_LIMITED
    assert stored_look(world_host, alice.session.user_id) == looks[P.LOOK_CHANGES_PER_WINDOW - 1]


def test_registering_with_a_bad_look_makes_no_account(world_host):
    name = unique_name("lk")
    body = {"username": name, "password": PASSWORD, "look": {**RED_BUN.as_dict(), "skin": "x"}}
    reply = requests.post(world_host.url + P.HTTP_REGISTER, json=body, timeout=10)
    assert reply.status_code == 400
    assert reply.json()["error"] == P.E_BAD_LOOK
    assert "'skin' must be one of" in reply.json()["message"]
    assert db_rows(world_host.db_path, "SELECT id FROM users WHERE name = ?", (name,)) == []
    body["look"] = RED_BUN.as_dict()
    assert requests.post(world_host.url + P.HTTP_REGISTER, json=body, timeout=10).status_code == 201
