"""Handlers are module-level functions a test can import and call, and each
event's dispatch (fast path, beside the reader, in order) is declared on its
handler.  In-process: a host built by create_host in threading mode and
Flask-SocketIO's test client, no subprocess."""
from __future__ import annotations

import pytest

from game.core import protocol as P
from server import events
from server.events import chat, world


@pytest.fixture
def host(inprocess_host):
    return inprocess_host


def joined_client(host, name: str):
    _, token = host.ctx.accounts.register(P.Credentials(name, "correct horse battery"))
    client = host.socketio.test_client(host.app, auth={"token": token})
    assert client.is_connected()
    answer = client.emit(P.JOIN, {}, callback=True)
    assert answer == {"ok": True}
    client.get_received()  # the welcome
    return client


def sid_of(host, client) -> str:
    return host.ctx.transport.sid_of(client.eio_sid)


def test_a_move_handler_called_directly_answers_like_the_wire(host):
    ada = joined_client(host, "ada")
    sid = sid_of(host, ada)
    player = host.ctx.world.by_sid[sid]
    start = (player.x, player.y)

    world.move(host.ctx, sid, {"seq": 1, "x": "far", "y": 0})

    received = {r["name"]: r["args"][0] for r in ada.get_received()}
    assert received[P.ERROR]["code"] == P.E_BAD_PAYLOAD
    assert received[P.CORRECTION] == {"seq": 1, "x": round(start[0], 1),
                                      "y": round(start[1], 1), "reason": "bad_payload"}
    assert (player.x, player.y) == start  # nothing changed

    world.move(host.ctx, sid, {"seq": 2, "x": start[0] + 1.0, "y": start[1]})
    assert (player.x, player.y) == (start[0] + 1.0, start[1])


def test_a_dm_handler_called_directly_stores_and_delivers(host):
    ada, bob = joined_client(host, "ada"), joined_client(host, "bob")
    answer = chat.dm_send(host.ctx, sid_of(host, ada), {"to": "bob", "text": "hello"})
    assert answer["ok"] is True and answer["message"]["text"] == "hello"
    unread = [r["args"][0] for r in bob.get_received() if r["name"] == P.DM_UNREAD]
    assert unread and unread[0]["peer"] == "ada" and unread[0]["unread"] == 1
    # A handler refuses what the wire would: not joined, unknown peer.
    assert chat.dm_send(host.ctx, "no-such-sid", {"to": "bob", "text": "x"})["error"] == \
        P.E_NOT_JOINED
    assert chat.dm_send(host.ctx, sid_of(host, ada), {"to": "nobody", "text": "x"})["error"] \
        == P.E_NO_SUCH_PLAYER


def test_each_event_is_dispatched_the_way_its_handler_declares():
    fast = events.events_dispatched(events.FAST)
    beside = events.events_dispatched(events.BESIDE)
    assert fast == {P.MOVE}
    assert beside == {P.DM_OPEN, P.DM_SEND, P.DM_HISTORY, P.BLOCK, P.UNBLOCK}
    assert events.HANDLERS[P.MOVE][0] is world.move
    assert events.HANDLERS[P.DM_SEND][0] is chat.dm_send


def test_the_host_registers_the_declared_handlers(host):
    assert host.ctx.guard.beside_events == events.events_dispatched(events.BESIDE)
    assert host.ctx.transport.fast_events == events.events_dispatched(events.FAST)
