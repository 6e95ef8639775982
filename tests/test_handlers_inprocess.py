"""Protocol edge cases against the host's handlers in this process.

The host is built with ``create_host`` in threading mode and driven through
Flask-SocketIO's test client, so each check costs a function call instead of
a subprocess and a socket.  What only the wire can show (framing, floods,
eventlet's own loop, faults) stays with the real-process tests.
"""
from __future__ import annotations

from typing import Any

import pytest

from game.core import protocol as P
from server import startup
from server.app import create_host
from server.config import HostConfig

from .conftest import PASSWORD, SPAWN, db_rows, unique_name

pytestmark = pytest.mark.timeout(60)

# Every event a client may emit, and the error code its payload problems get.
PAYLOAD_CODES = {
    P.JOIN: P.E_BAD_PAYLOAD,
    P.MOVE: P.E_BAD_PAYLOAD,
    P.DM_OPEN: P.E_BAD_PAYLOAD,
    P.DM_CLOSE: P.E_BAD_PAYLOAD,
    P.DM_SEND: P.E_BAD_PAYLOAD,
    P.DM_HISTORY: P.E_BAD_PAYLOAD,
    P.DIRECTORY: P.E_BAD_PAYLOAD,
    P.PING: P.E_BAD_PAYLOAD,
    P.SET_LOOK: P.E_BAD_LOOK,
}
NEEDS_JOIN = (P.MOVE, P.DM_OPEN, P.DM_CLOSE, P.DM_SEND, P.DM_HISTORY, P.SET_LOOK)


class InProcessHost:
    """A host built in this process; ``player()`` gives a connected test client."""

    def __init__(self, config: HostConfig):
        self.config = config
        self.lock = startup.prepare(config)
        self.host = create_host(config)
        self.http = self.host.app.test_client()
        self.clients: list[Any] = []

    def register(self, name: str) -> str:
        reply = self.http.post(P.HTTP_REGISTER, json={"username": name, "password": PASSWORD})
        assert reply.status_code == 201, reply.json
        return reply.json["token"]

    def connect(self, token: str | None):
        auth = None if token is None else {"token": token}
        client = self.host.socketio.test_client(self.host.app, auth=auth)
        self.clients.append(client)
        return client

    def player(self, join: bool = True):
        client = self.connect(self.register(unique_name("ip")))
        assert client.is_connected()
        if join:
            client.emit(P.JOIN, {})
            client.welcome = received(client, P.WELCOME)[0]
        return client

    def close(self) -> None:
        for client in self.clients:
            if client.is_connected():
                client.disconnect()
        self.host.shutdown()
        self.lock.release()


@pytest.fixture(scope="module")
def inproc(tmp_path_factory, test_map_path):
    host = InProcessHost(HostConfig(
        db_path=tmp_path_factory.mktemp("inproc") / "world.db", map_path=test_map_path,
        async_mode="threading", port=0,  # a free port: never collide with a running host
        registrations_per_minute=1000, login_failures_per_minute=1000))
    yield host
    host.close()


def received(client, event: str) -> list[Any]:
    """The ``event`` payloads the client got since it last looked."""
    return [e["args"][0] for e in client.get_received() if e["name"] == event]


def errors(client) -> list[dict]:
    return received(client, P.ERROR)


def emit(client, event: str, payload: Any) -> Any:
    """Emit ``event`` and return its answer (None for events without one)."""
    return client.emit(event, payload, callback=True) or None


def refusal(answer: Any, errors_seen: list[dict], event: str) -> str:
    """The one error code the host gave for ``event``, checked to agree between
    the answer (where the event has one) and the error event."""
    assert [e["event"] for e in errors_seen] == [event], errors_seen
    code = errors_seen[0]["code"]
    if answer is not None:
        assert answer["ok"] is False and answer["error"] == code, answer
    return code


# -- payloads ----------------------------------------------------------------------------
@pytest.mark.parametrize("payload", ["junk", [1, 2], 7], ids=["string", "array", "number"])
@pytest.mark.parametrize("event", list(PAYLOAD_CODES))
def test_a_payload_that_is_not_an_object_is_refused_with_the_events_code(inproc, event, payload):
    client = inproc.player(join=event != P.JOIN)
    answer = emit(client, event, payload)
    assert refusal(answer, errors(client), event) == PAYLOAD_CODES[event]


@pytest.mark.parametrize("event", list(PAYLOAD_CODES))
def test_an_unknown_field_is_refused_and_named(inproc, event):
    client = inproc.player(join=event != P.JOIN)
    answer = emit(client, event, {"zzz": 1})
    seen = errors(client)
    assert refusal(answer, seen, event) == PAYLOAD_CODES[event]
    assert "zzz" in seen[0]["message"]


def test_a_refused_move_leaves_the_player_where_it_was(inproc):
    client = inproc.player()
    you = client.welcome["you"]
    start = (you["x"], you["y"])
    client.emit(P.MOVE, {"seq": "1", "x": start[0] + 4.0, "y": start[1]})
    got = client.get_received()
    codes = [e["args"][0]["code"] for e in got if e["name"] == P.ERROR]
    corrections = [e["args"][0] for e in got if e["name"] == P.CORRECTION]
    assert codes == [P.E_BAD_PAYLOAD]
    assert corrections == [{"seq": None, "x": start[0], "y": start[1], "reason": P.E_BAD_PAYLOAD}]
    world = inproc.host.ctx.world
    assert [(x, y) for pid, x, y in world.all_positions() if pid == you["id"]] == [start]


def test_a_second_join_is_refused_and_the_player_stays(inproc):
    client = inproc.player()
    answer = emit(client, P.JOIN, {})
    seen = errors(client)
    assert refusal(answer, seen, P.JOIN) == P.E_BAD_PAYLOAD
    assert seen[0]["message"] == "already in the world"
    assert emit(client, P.PING, {})["ok"] is True


# -- order and names -----------------------------------------------------------------------
@pytest.mark.parametrize("event", NEEDS_JOIN)
def test_before_joining_world_events_answer_not_joined(inproc, event):
    client = inproc.player(join=False)
    payload = {P.MOVE: {"seq": 1, "x": SPAWN[0], "y": SPAWN[1]},
               P.DM_SEND: {"to": "someone", "text": "hi"},
               P.SET_LOOK: {"skin": "tan"}}.get(event, {"peer": "someone"})
    answer = emit(client, event, payload)
    assert refusal(answer, errors(client), event) == P.E_NOT_JOINED


@pytest.mark.parametrize("event", [P.DIRECTORY, P.PING])
def test_before_joining_the_directory_and_ping_answer(inproc, event):
    client = inproc.player(join=False)
    assert emit(client, event, {})["ok"] is True
    assert errors(client) == []


def test_an_unknown_event_is_answered_with_unknown_event(inproc):
    client = inproc.player()
    client.emit("teleport", {"x": 1})
    seen = errors(client)
    assert [(e["code"], e["event"]) for e in seen] == [(P.E_UNKNOWN_EVENT, "teleport")]
    assert emit(client, P.PING, {})["ok"] is True


# -- direct messages -------------------------------------------------------------------------
MESSAGES_STORED = "SELECT COUNT(*) FROM messages"


@pytest.mark.parametrize("event", [P.DM_SEND, P.DM_OPEN, P.DM_HISTORY])
@pytest.mark.parametrize("peer", ["self", "unknown"])
def test_a_dm_to_yourself_or_to_nobody_is_no_such_player_and_stores_nothing(inproc, event, peer):
    client = inproc.player()
    name = client.welcome["you"]["name"] if peer == "self" else unique_name("nobody")
    before = db_rows(inproc.config.db_path, MESSAGES_STORED)
    payload = {"to": name, "text": "hello"} if event == P.DM_SEND else {"peer": name}
    answer = emit(client, event, payload)
    assert refusal(answer, errors(client), event) == P.E_NO_SUCH_PLAYER
    assert db_rows(inproc.config.db_path, MESSAGES_STORED) == before


def test_closing_a_conversation_that_is_not_open_is_refused(inproc):
    alice, bob = inproc.player(), inproc.player()
    answer = emit(alice, P.DM_CLOSE, {"peer": bob.welcome["you"]["name"]})
    assert refusal(answer, errors(alice), P.DM_CLOSE) == P.E_NOT_OPEN


@pytest.mark.parametrize("text, problem", [("", "empty"), ("x" * (P.DM_TEXT_MAX + 1), "longer")])
def test_a_dm_without_text_or_too_long_is_refused(inproc, text, problem):
    alice, bob = inproc.player(), inproc.player()
    before = db_rows(inproc.config.db_path, MESSAGES_STORED)
    answer = emit(alice, P.DM_SEND, {"to": bob.welcome["you"]["name"], "text": text})
    seen = errors(alice)
    assert refusal(answer, seen, P.DM_SEND) == P.E_BAD_PAYLOAD
    assert problem in seen[0]["message"]
    assert db_rows(inproc.config.db_path, MESSAGES_STORED) == before
    assert received(bob, P.DM_UNREAD) == []


# -- the connection itself --------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "junk", "x" * (P.TOKEN_MAX_CHARS + 1)],
                         ids=["none", "junk", "too-long"])
def test_a_connection_without_a_valid_token_is_refused(inproc, token):
    client = inproc.connect(token)
    assert not client.is_connected()
