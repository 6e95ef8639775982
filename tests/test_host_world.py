"""The live world on a real host: who is here, moving, corrections, saved positions."""
from __future__ import annotations

import math

import pytest

from game.core import protocol as P
from game.client.net import HostClient, Session
from game.core.rules import PERSONAL_SPACE_PX

from .conftest import (ASYNC_MODES, SPAWN, eventlet_only, PlayerFactory, seen_events, snapshot_positions,
                       start_world_host, stored_at, stored_position, unique_name, wait_for_position,
                       wait_until)

START = (176.0, 100.0)  # 20 px below the spawn, west of the wall


def walk(client: HostClient, xy: tuple[float, float]) -> int:
    """Move and wait until the host has accepted it (our own snapshot shows it)."""
    seq = client.send_move(*xy)
    wait_for_position(client, client.session.user_id, xy)
    return seq


def test_others_are_told_who_joined_and_who_left(players):
    alice = players()
    bob = players()
    joined = alice.wait_joined(bob.session.name)
    you = bob.welcome["you"]
    assert joined == {"id": bob.session.user_id, "name": bob.session.name,
                      "x": you["x"], "y": you["y"], "look": you["look"],
                      "map": you["map"], "role": you["role"], "away": False}
    assert (you["x"], you["y"]) != (alice.welcome["you"]["x"], alice.welcome["you"]["y"])
    assert alice.session.user_id in [p["id"] for p in bob.welcome["players"]]
    assert bob.session.user_id not in [p["id"] for p in alice.welcome["players"]]
    players.close(bob)
    left = alice.wait_left(bob.session.user_id)
    assert left.data == {"ids": [bob.session.user_id], "names": [bob.session.name]}
    # Someone joining now does not see bob.
    carol = players()
    ids = [p["id"] for p in carol.welcome["players"]]
    assert alice.session.user_id in ids and bob.session.user_id not in ids


def test_two_players_see_each_others_moves_in_snapshots(players):
    alice = players()
    bob = players()
    alice.send_move(*START)
    snap = wait_for_position(bob, alice.session.user_id, START)
    assert isinstance(snap.data["tick"], int) and isinstance(snap.data["t"], int)
    bob.send_move(176.0, 60.0)
    wait_for_position(alice, bob.session.user_id, (176.0, 60.0))
    # Each snapshot carries only players that moved since the last tick.
    alice.send_move(176.0, 120.0)
    later = wait_for_position(bob, alice.session.user_id, (176.0, 120.0))
    assert bob.session.user_id not in snapshot_positions(later.data)


INVALID_MOVES = [
    ((240.0, 100.0), "through_wall"),
    ((208.0, 100.0), "blocked"),
    ((176.0, 260.0), "too_fast"),
    ((-20.0, 100.0), "out_of_bounds"),
    ((700.0, 100.0), "out_of_bounds"),
    ((176.0, 5000.0), "out_of_bounds"),
]


def test_an_invalid_move_is_corrected_to_the_last_accepted_position(players):
    alice = players()
    walk(alice, START)
    for target, reason in INVALID_MOVES:
        seq = alice.send_move(*target)
        correction = alice.wait_for(P.CORRECTION).data
        assert correction == {"seq": seq, "x": START[0], "y": START[1], "reason": reason}, target
    # The host still accepts a good move from where it says we are.
    walk(alice, (START[0], START[1] + 20.0))


BAD_NUMBERS = [math.nan, math.inf, -math.inf, 1e308, -1e7, "176", True, None, [176.0], {}]


def test_a_move_with_a_bad_number_is_corrected_and_answered_with_an_error(players):
    alice = players()
    walk(alice, START)
    for seq, x in enumerate(BAD_NUMBERS, start=100):
        alice.emit(P.MOVE, {"seq": seq, "x": x, "y": 100.0})
        error = alice.wait_for(P.ERROR).data
        assert error["code"] == P.E_BAD_PAYLOAD and error["event"] == P.MOVE, x
        assert "'x'" in error["message"], x
        correction = alice.wait_for(P.CORRECTION).data
        assert correction == {"seq": seq, "x": START[0], "y": START[1],
                              "reason": "bad_payload"}, x
    walk(alice, (START[0], START[1] + 20.0))


def test_rejected_moves_are_neither_broadcast_nor_stored(world_host, players):
    alice = players()
    bob = players()
    walk(alice, START)
    bad = [(240.0, 100.0), (208.0, 100.0), (176.0, 300.0), (-20.0, 100.0)]
    for xy in bad:
        alice.send_move(*xy)
    for _ in bad:
        alice.wait_for(P.CORRECTION)
    walk(alice, (176.0, 120.0))
    wait_for_position(bob, alice.session.user_id, (176.0, 120.0))
    seen = [snapshot_positions(s).get(alice.session.user_id) for s in seen_events(bob, "snapshot")]
    assert not set(bad) & set(seen)
    players.close(alice)
    bob.wait_left(alice.session.user_id)
    assert wait_until(lambda: stored_position(world_host.db_path, alice.session.user_id)) == (
        176.0, 120.0)


@eventlet_only
def test_a_move_older_than_the_last_accepted_one_is_ignored(players):
    alice = players()
    alice.emit(P.MOVE, {"seq": 10, "x": START[0], "y": START[1]})
    wait_for_position(alice, alice.session.user_id, START)
    alice.emit(P.MOVE, {"seq": 9, "x": 176.0, "y": 110.0})   # late packet: dropped quietly
    alice.emit(P.MOVE, {"seq": 11, "x": -5.0, "y": 100.0})  # to see where the host has us
    correction = alice.wait_for(P.CORRECTION).data
    assert correction == {"seq": 11, "x": START[0], "y": START[1], "reason": "out_of_bounds"}


def test_a_player_who_logs_out_and_back_in_starts_where_they_left_off(world_host, players):
    name = unique_name("back")
    alice = players(name)
    walk(alice, START)
    walk(alice, (176.0, 130.0))
    alice.emit(P.LOGOUT, {})  # no answer comes: the host closes the connection
    assert alice.wait_for(P.SESSION_ENDED).data["reason"] == P.END_LOGGED_OUT
    uid = alice.session.user_id
    assert wait_until(lambda: stored_position(world_host.db_path, uid) == (176.0, 130.0))
    again = players(name, register=False)
    assert (again.welcome["you"]["x"], again.welcome["you"]["y"]) == (176.0, 130.0)
    # And moving on from there is accepted.
    walk(again, (176.0, 150.0))


def test_the_position_is_saved_while_playing(world_host, players):
    alice = players()
    uid = alice.session.user_id
    walk(alice, START)
    walk(alice, (176.0, 120.0))
    # Saved by the periodic batch (about once a second), not by leaving.
    assert wait_until(lambda: stored_position(world_host.db_path, uid) == (176.0, 120.0),
                      timeout=5.0)
    assert alice.connected


@eventlet_only
def test_a_stored_position_that_is_no_longer_walkable_falls_back_to_the_spawn(world_host,
                                                                              players):
    name = unique_name("moved")
    # An older map let players stand where there is now a wall.
    stored_at(world_host.url, world_host.db_path, name, 208, 80)
    again = players(name, register=False)
    you = again.welcome["you"]
    spawn_taken = any(math.hypot(p["x"] - SPAWN[0], p["y"] - SPAWN[1]) < PERSONAL_SPACE_PX
                      for p in again.welcome["players"])
    if spawn_taken:  # a player from another test still stands there: beside it
        assert math.hypot(you["x"] - SPAWN[0], you["y"] - SPAWN[1]) <= 2 * 32
    else:
        assert (you["x"], you["y"]) == SPAWN


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_positions_survive_a_host_restart(tmp_path, test_map_path, mode):
    """SIGTERM saves everyone still connected; the next run puts them back."""
    db = tmp_path / "restart.db"
    # Periodic saves are pushed out of the way: only the shutdown can save.
    first = start_world_host(db, test_map_path, mode, ("--save-interval", "60"))
    try:
        players = PlayerFactory(first)
        alice = players(unique_name("restart"))
        walk(alice, START)
        walk(alice, (176.0, 130.0))
        uid, session = alice.session.user_id, alice.session
        assert stored_position(db, uid) is None
        # Someone else is leaving just as the host is asked to stop.
        bob = players(unique_name("leaving"))
        walk(bob, (176.0, 90.0))
        for i in range(5):
            bob.emit(P.DM_SEND, {"to": alice.session.name, "text": f"bye {i}"})
        players.close(bob)
    finally:
        first.stop()
    assert first.proc.proc.returncode == 0
    assert stored_position(db, uid) == (176.0, 130.0)
    assert stored_position(db, bob.session.user_id) == (176.0, 90.0)

    second = start_world_host(db, test_map_path, mode)
    try:
        players = PlayerFactory(second)
        # The signing key and the session were kept: the old token still works.
        returning = players.client()
        returning.session = Session(session.token, session.user_id, session.name)
        returning.connect()
        welcome = returning.wait_for(P.WELCOME).data
        assert (welcome["you"]["x"], welcome["you"]["y"]) == (176.0, 130.0)
        players.close_all()
    finally:
        second.stop()
