"""Bad input and floods: every bad payload gets an error and changes nothing."""
from __future__ import annotations

import math
import time

import pytest
import socketio

from game.core import protocol as P

from .conftest import db_rows, eventlet_only, seen_events, wait_for_position

# Limits are counted per player on the host; one async mode is enough here.
pytestmark = eventlet_only

BOB = "{bob}"  # replaced by the peer's name in each payload


def bad_payloads():
    """(event, payload, error code) triples; BOB stands for a real other player."""
    bad = P.E_BAD_PAYLOAD
    return [
        (P.MOVE, "north", bad),
        (P.MOVE, [1, 176.0, 80.0], bad),
        (P.MOVE, 5, bad),
        (P.MOVE, {"seq": 1, "x": 176.0}, bad),
        (P.MOVE, {"seq": "1", "x": 176.0, "y": 90.0}, bad),
        (P.MOVE, {"seq": -1, "x": 176.0, "y": 90.0}, bad),
        (P.MOVE, {"seq": 2 ** 60, "x": 176.0, "y": 90.0}, bad),
        (P.MOVE, {"seq": 1.5, "x": 176.0, "y": 90.0}, bad),
        (P.MOVE, {"seq": 1, "x": 176.0, "y": 90.0, "z": 0}, bad),
        (P.DM_SEND, "hello", bad),
        (P.DM_SEND, [BOB, "hi"], bad),
        (P.DM_SEND, {"to": 7, "text": "hi"}, bad),
        (P.DM_SEND, {"text": "hi"}, bad),
        (P.DM_SEND, {"to": "b", "text": "hi"}, bad),
        (P.DM_SEND, {"to": BOB, "text": "hi", "room": "dm:1:2"}, bad),
        (P.DM_OPEN, None, bad),
        (P.DM_OPEN, {"peer": 5}, bad),
        (P.DM_OPEN, BOB, bad),
        (P.DM_CLOSE, {"peer": BOB}, P.E_NOT_OPEN),
        (P.DM_HISTORY, {"peer": BOB, "limit": 0}, bad),
        (P.DM_HISTORY, {"peer": BOB, "limit": P.HISTORY_PAGE_MAX + 1}, bad),
        (P.DM_HISTORY, {"peer": BOB, "limit": True}, bad),
        (P.DM_HISTORY, {"peer": BOB, "before_id": "9"}, bad),
        (P.DM_HISTORY, {"peer": BOB, "before_id": 0}, bad),
        (P.DIRECTORY, {"all": True}, bad),
        (P.DIRECTORY, "everyone", bad),
        (P.PING, {"t": "now"}, bad),
        (P.PING, {"t": math.nan}, bad),
        (P.JOIN, {}, bad),
        (P.JOIN, {"last_dm_id": -1}, bad),
        (P.LOGOUT, {"now": True}, bad),
    ]


def fill(payload, name):
    if payload == BOB:
        return name
    if isinstance(payload, dict):
        return {k: fill(v, name) for k, v in payload.items()}
    if isinstance(payload, list):
        return [fill(v, name) for v in payload]
    return payload


def messages_from(world_host, client) -> int:
    return db_rows(world_host.db_path, "SELECT COUNT(*) FROM messages WHERE sender_id = ?",
                   (client.session.user_id,))[0][0]


def where_am_i(client) -> tuple[float, float]:
    """Ask the host where it has us: an off-map move is corrected to that spot."""
    seq = client.send_move(-100.0, -100.0)
    data = client.wait_for(P.CORRECTION, match=lambda d: d["seq"] == seq).data
    return data["x"], data["y"]


def test_bad_payloads_get_an_error_with_a_code_and_change_nothing(world_host, players):
    alice, bob = players(), players()
    for event, payload, code in bad_payloads():
        payload = fill(payload, bob.session.name)
        if event == P.MOVE:
            alice.emit(event, payload)
        else:
            reply = alice.call(event, payload)
            assert reply["ok"] is False and reply["error"] == code, (event, payload, reply)
        error = alice.wait_for(P.ERROR).data
        assert error["code"] == code and error["event"] == event, (event, payload, error)
        assert isinstance(error["message"], str) and error["message"], (event, payload)

    # Still connected, still logged in, still where the host put us; nothing sent.
    assert alice.connected
    assert alice.call(P.PING, {"t": 1})["ok"] is True
    assert alice.call(P.DIRECTORY, {})["ok"] is True
    assert where_am_i(alice) == (alice.welcome["you"]["x"], alice.welcome["you"]["y"])
    assert messages_from(world_host, alice) == 0
    assert not seen_events(bob, P.DM_MESSAGE) and not seen_events(bob, P.DM_UNREAD)
    assert not seen_events(alice, P.SESSION_ENDED)


@pytest.mark.parametrize("event, payload", [
    (P.MOVE, {"seq": 1, "x": 176.0, "y": 100.0}),
    (P.DM_SEND, {"to": BOB, "text": "hi"}),
    (P.DM_OPEN, {"peer": BOB}),
    (P.PING, {"t": 1}),
])
def test_a_second_argument_is_refused(world_host, players, event, payload):
    alice, bob = players(), players()
    alice.emit(event, (fill(payload, bob.session.name), "extra"))
    error = alice.wait_for(P.ERROR).data
    assert error["code"] == P.E_BAD_PAYLOAD and error["event"] == event
    assert where_am_i(alice) == (alice.welcome["you"]["x"], alice.welcome["you"]["y"])
    assert messages_from(world_host, alice) == 0
    assert not seen_events(bob, P.DM_PRESENCE)


@pytest.mark.parametrize("event", ["teleport", "admin", "enter_room", "x" * 100],
                         ids=["teleport", "admin", "enter_room", "long-name"])
def test_unknown_events_get_an_error(players, event):
    alice = players()
    reply = alice.call(event, {"x": 1})
    assert reply["ok"] is False and reply["error"] == P.E_UNKNOWN_EVENT
    error = alice.wait_for(P.ERROR).data
    assert error["code"] == P.E_UNKNOWN_EVENT
    assert error["event"] == event[:40] and event[:40] in error["message"]
    assert alice.call(P.PING, {})["ok"] is True


def test_the_world_is_closed_until_the_connection_joins(world_host, players):
    alice = players(join=False)
    bob = players()
    sio = socketio.Client(reconnection=False)
    got = []
    sio.on(P.ERROR, got.append)
    sio.on(P.WELCOME, got.append)
    sio.connect(world_host.url, auth={"token": alice.session.token}, transports=["websocket"],
                wait_timeout=10)
    try:
        sio.emit(P.MOVE, {"seq": 1, "x": 176.0, "y": 100.0})
        reply = sio.call(P.DM_SEND, {"to": bob.session.name, "text": "hi"}, timeout=10)
        assert reply["error"] == P.E_NOT_JOINED
        assert [e["code"] for e in got] == [P.E_NOT_JOINED, P.E_NOT_JOINED]
        assert [e["event"] for e in got] == [P.MOVE, P.DM_SEND]
        assert sio.call(P.JOIN, {}, timeout=10) == {"ok": True}
        assert got[-1]["you"]["name"] == alice.session.name
    finally:
        world_host.in_background(sio.disconnect)
    assert messages_from(world_host, alice) == 0


def test_more_than_30_moves_a_second_are_dropped(players):
    alice = players()
    path = [(176.0, 80.0 + 0.5 * i) for i in range(1, 41)]
    for xy in path:
        alice.send_move(*xy)
    error = alice.wait_for(P.ERROR).data
    assert error["code"] == P.E_RATE_LIMITED and error["event"] == P.MOVE
    kept = path[P.MOVES_PER_SECOND - 1]
    wait_for_position(alice, alice.session.user_id, kept)
    time.sleep(1.1)  # let the one-second window pass
    assert where_am_i(alice) == kept
    # Told once, not once per dropped move.
    assert [e["code"] for e in seen_events(alice, P.ERROR)] == []


def test_more_than_20_messages_in_10_seconds_are_dropped(world_host, players):
    alice, bob = players(), players()
    replies = [alice.call(P.DM_SEND, {"to": bob.session.name, "text": f"n{i}"})
               for i in range(P.DMS_PER_WINDOW + 5)]
    assert all(r["ok"] for r in replies[:P.DMS_PER_WINDOW])
    for reply in replies[P.DMS_PER_WINDOW:]:
        assert reply["ok"] is False and reply["error"] == P.E_RATE_LIMITED
    error = alice.wait_for(P.ERROR).data
    assert error["code"] == P.E_RATE_LIMITED and error["event"] == P.DM_SEND
    assert messages_from(world_host, alice) == P.DMS_PER_WINDOW
    last = bob.wait_for(P.DM_UNREAD, match=lambda d: d["message"]["text"] == "n19").data
    assert last["unread"] == P.DMS_PER_WINDOW
    assert alice.connected
