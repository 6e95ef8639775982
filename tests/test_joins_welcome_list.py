"""The welcome's list of everyone online, built from each player's entry
encoded once and kept while it stays the same (LivePlayer.public_json).

A kept entry must never be stale: whatever changed about a player since
the last welcome (position, look, map, role, away) shows in the next one.
"""
from __future__ import annotations

import json

import pytest

from game.core import protocol as P
from game.core import rules
from server.live import LiveWorld
from tests.conftest import unique_name
from tests.helpers_wire import RawClient, register_many

PASSWORD = "correct horse battery"


def test_public_json_is_public_and_follows_every_change():
    world = LiveWorld(rules.load_world())
    player = world.add(7, "ada", "sid-7", 100.0, 120.0, 0.0)
    first = player.public_json()
    assert json.loads(first) == player.public()
    assert player.public_json() is first  # nothing changed: the kept text

    def changed(**fields) -> None:
        for name, value in fields.items():
            setattr(player, name, value)
        assert json.loads(player.public_json()) == player.public()

    changed(x=131.25, y=96.5)
    other = next(look for i in range(8, 100)
                 if (look := P.default_look(i)) != P.default_look(7))
    changed(look=other)
    changed(role="moderator")
    changed(away=True)
    changed(away=False, name="ada2")


@pytest.fixture
def host(inprocess_host):
    return inprocess_host


def join(host, name: str) -> tuple[int, object, dict]:
    identity, token = host.ctx.accounts.register(P.Credentials(name, PASSWORD))
    client = host.socketio.test_client(host.app, auth={"token": token})
    assert client.emit(P.JOIN, {}, callback=True) == {"ok": True}
    welcomes = [r["args"][0] for r in client.get_received() if r["name"] == P.WELCOME]
    assert len(welcomes) == 1
    return identity.user_id, client, welcomes[0]


def test_the_welcome_lists_everyone_as_they_are_now(host):
    ada, _, _ = join(host, "ada")
    bob, _, _ = join(host, "bob")
    _, _, welcome = join(host, "carol")  # ada's and bob's entries are encoded now
    by_uid = host.ctx.world.by_uid
    assert welcome["players"] == [by_uid[ada].public(), by_uid[bob].public()]
    # Everything an entry holds changes, for ada only.
    moved = by_uid[ada]
    moved.x, moved.y = moved.x + 17.3, moved.y - 4.6
    moved.away, moved.role = True, "moderator"
    moved.look = P.default_look(ada + 1)
    _, _, welcome = join(host, "dave")
    players = welcome["players"]
    assert [p["id"] for p in players] == list(by_uid)[:3]
    assert players == [p.public() for p in list(by_uid.values())[:3]]
    assert players[0]["away"] is True and players[0]["role"] == "moderator"
    assert players[0]["x"] == round(moved.x, 1)
    # The rest of the welcome is as it always was.
    assert welcome["you"] == by_uid[welcome["you"]["id"]].public()
    assert {"protocol", "unread", "missed_messages", "last_dm_id", "blocked", "world",
            "map", "tick_rate", "overloaded", "server_time", "can"} <= set(welcome)


def test_a_welcome_over_the_wire_lists_the_others(world_host):
    url = world_host.url
    sessions = register_many(url, [unique_name("wla"), unique_name("wlb"), unique_name("wlc")])
    clients = [RawClient(url) for _ in sessions]
    try:
        welcomes = [c.join(s) for c, s in zip(clients, sessions)]
        last = welcomes[-1]
        listed = {p["id"]: p for p in last["players"]}
        for earlier in welcomes[:-1]:
            me = earlier["you"]
            assert listed[me["id"]] == me  # nobody walked: as they arrived
        assert last["you"]["id"] not in listed
        assert last["protocol"] == P.PROTOCOL_VERSION
        assert isinstance(last["map"], dict) and last["world"]["tile_size"] > 0
    finally:
        for client in clients:
            client.close()
