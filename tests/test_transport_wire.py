"""Reading Socket.IO packet headers by hand (server/transport/wire.py), and
the guard answering packets it drops."""
from __future__ import annotations

import pytest

from game.core import protocol as P
from server.transport import wire


@pytest.mark.parametrize("text, expected", [
    ('2["move",{}]', None),
    ('212["dm_send",{}]', 12),
    ('2/chat,7["x"]', 7),
    ('51-3["x",{"_placeholder":true,"num":0}]', 3),
    ('2²["x"]', None),        # a superscript is no digit of an ack id
    ('2１２["x"]', None),     # nor are full-width digits
    ('3', None),
    (b"2", None),
])
def test_ack_ids_are_read_from_ascii_digits_only(text, expected):
    assert wire.ack_id(text) == expected


@pytest.fixture
def host(inprocess_host):
    return inprocess_host


def test_a_dropped_packet_with_a_superscript_after_its_type_is_answered(host):
    """Once crashed the guard's message handler (int('²')), so the client
    was never told and the host logged a traceback."""
    _, token = host.ctx.accounts.register(P.Credentials("ada", "correct horse battery"))
    client = host.socketio.test_client(host.app, auth={"token": token})
    client.get_received()
    on_message = host.socketio.server.eio.handlers["message"]  # the guard, as Engine.IO calls it
    on_message(client.eio_sid, "2²")
    errors = [r["args"][0] for r in client.get_received() if r["name"] == P.ERROR]
    assert [e["code"] for e in errors] == [P.E_BAD_PAYLOAD]
