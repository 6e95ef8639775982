"""Joins and leaves are told once per tick, in players_joined / players_left.

In-process first (a host built by create_host, Flask-SocketIO's test client,
and the tick's presence step run by hand, so which events share a tick is
certain), then over the wire on real hosts under both async modes.
"""
from __future__ import annotations

import threading

import pytest

from game.core import protocol as P
from tests.conftest import unique_name, wait_until
from tests.helpers_wire import RawClient, register_many

PASSWORD = "correct horse battery"


# -- in-process: the tick's batches, event by event --------------------------------------
@pytest.fixture
def host(inprocess_host):
    return inprocess_host


class Player:
    """A test client with its account; ``events`` keeps everything it received."""

    def __init__(self, host, name: str):
        self.host, self.name = host, name
        identity, self.token = host.ctx.accounts.register(P.Credentials(name, PASSWORD))
        self.id = identity.user_id
        self.events: list[tuple[str, dict]] = []
        self.client = None

    def join(self) -> "Player":
        """Connect (again: a takeover of the earlier connection) and join."""
        client = self.host.socketio.test_client(self.host.app, auth={"token": self.token})
        assert client.is_connected()
        assert client.emit(P.JOIN, {}, callback=True) == {"ok": True}
        self.client = client
        self.read()
        return self

    def leave(self) -> None:
        self.read()
        self.client.disconnect()

    def read(self) -> list[tuple[str, dict]]:
        got = [(r["name"], r["args"][0] if r["args"] else None)
               for r in self.client.get_received()]
        self.events.extend(got)
        return got

    def forget(self) -> None:
        """Drop everything received so far."""
        self.read()
        self.events.clear()

    def presence(self) -> list[tuple[str, dict]]:
        """The players_joined / players_left received so far, in order."""
        self.read()
        return [(name, data) for name, data in self.events
                if name in (P.PLAYERS_JOINED, P.PLAYERS_LEFT)]

    def roster(self) -> tuple[set[int], list[str]]:
        """Who is online as this player was told, and anything that did not add up."""
        self.read()
        online: set[int] = set()
        problems: list[str] = []
        for name, data in self.events:
            if name == P.WELCOME:
                online = {p["id"] for p in data["players"]}
            elif name == P.PLAYERS_LEFT:
                problems += [f"{i} left, not listed" for i in data["ids"] if i not in online]
                online -= set(data["ids"])
            elif name == P.PLAYERS_JOINED:
                problems += [f"{p['id']} twice" for p in data["players"] if p["id"] in online]
                online |= {p["id"] for p in data["players"]}
        return online, problems


def tick(host) -> None:
    host.ctx.presence.flush()


def joined_ids(data: dict) -> list[int]:
    return [p["id"] for p in data["players"]]


def test_joins_within_a_tick_reach_everyone_once_in_one_batch(host):
    ada, bob = Player(host, "ada").join(), Player(host, "bob").join()
    tick(host)
    ada.forget(), bob.forget()
    carol, dave, eve = (Player(host, n).join() for n in ("carol", "dave", "eve"))
    tick(host)
    for old in (ada, bob):
        assert old.presence() == [(P.PLAYERS_JOINED, {"players": [
            host.ctx.world.by_uid[p.id].public() for p in (carol, dave, eve)]})]
    # The newcomers of the tick: only who joined after their own welcome.
    assert [joined_ids(d) for _, d in carol.presence()] == [[dave.id, eve.id]]
    assert [joined_ids(d) for _, d in dave.presence()] == [[eve.id]]
    assert eve.presence() == []
    tick(host)  # nothing new: nothing sent
    assert all(len(p.presence()) == n for p, n in ((ada, 1), (bob, 1), (carol, 1), (eve, 0)))


def test_leaves_within_a_tick_are_one_batch_with_names(host):
    ada, bob, carol = (Player(host, n).join() for n in ("ada", "bob", "carol"))
    tick(host)
    ada.forget()
    bob.leave(), carol.leave()
    tick(host)
    assert ada.presence() == [(P.PLAYERS_LEFT, {"ids": [bob.id, carol.id],
                                                "names": ["bob", "carol"]})]


def test_a_player_who_joins_and_leaves_within_a_tick_is_never_mentioned(host):
    ada = Player(host, "ada").join()
    tick(host)
    bob = Player(host, "bob").join()
    carol = Player(host, "carol").join()
    bob.leave()
    tick(host)
    assert [(n, joined_ids(d)) for n, d in ada.presence()] == [(P.PLAYERS_JOINED, [carol.id])]
    # carol's welcome listed bob, who was in the world then: she alone is told he left.
    assert carol.presence() == [(P.PLAYERS_LEFT, {"ids": [bob.id], "names": ["bob"]})]


def test_the_welcome_and_the_batches_after_it_agree(host):
    ada, bob, carol = (Player(host, n).join() for n in ("ada", "bob", "carol"))
    tick(host)
    # Within one tick: someone leaves, two join, one of the old ones leaves,
    # a newcomer leaves, another joins.
    bob.leave()
    dave = Player(host, "dave").join()
    eve = Player(host, "eve").join()
    carol.leave()
    dave.leave()
    fay = Player(host, "fay").join()
    tick(host)
    online = set(host.ctx.world.by_uid)
    assert online == {ada.id, eve.id, fay.id}
    for p in (ada, eve, fay):
        seen, problems = p.roster()
        assert problems == []
        assert seen == online - {p.id}
    # eve's welcome listed carol and dave, who left after it: she is told so.
    assert eve.presence() == [(P.PLAYERS_LEFT, {"ids": [carol.id, dave.id],
                                                "names": ["carol", "dave"]}),
                              (P.PLAYERS_JOINED, {"players": [
                                  host.ctx.world.by_uid[fay.id].public()]})]


def test_a_takeover_within_a_tick_is_a_leave_then_a_join(host):
    ada, bob = Player(host, "ada").join(), Player(host, "bob").join()
    tick(host)
    before = len(ada.presence())  # bob's join
    bob.join()  # the same account from a new connection: the old one is ended
    tick(host)
    assert [(n, d.get("ids") or joined_ids(d)) for n, d in ada.presence()[before:]] == [
        (P.PLAYERS_LEFT, [bob.id]), (P.PLAYERS_JOINED, [bob.id])]
    seen, problems = ada.roster()
    assert problems == [] and seen == {bob.id}
    tick(host)
    assert len(ada.presence()) == before + 2


def test_a_batch_holds_players_as_they_are_at_the_tick(host):
    ada = Player(host, "ada").join()
    tick(host)
    bob = Player(host, "bob").join()
    player = host.ctx.world.by_uid[bob.id]
    player.role = P.ROLE_MODERATOR  # promoted before the tick
    tick(host)
    [(_, data)] = ada.presence()
    assert data["players"][0]["role"] == P.ROLE_MODERATOR


# -- over the wire, under both async modes ---------------------------------------------------
def pumped(client: RawClient) -> tuple[set[int], list[str]]:
    """Read what has arrived, then who the client was told is online."""
    client.pump(0.05)
    return client.roster()


def test_a_crowd_joining_and_leaving_is_told_to_everyone_once(world_host):
    url = world_host.url
    names = [unique_name("storm") for _ in range(11)]
    sessions = register_many(url, names)
    watchers = [RawClient(url) for _ in range(3)]
    for client, session in zip(watchers, sessions[:3]):
        client.join(session)
    newcomers = [RawClient(url) for _ in range(8)]
    threads = [threading.Thread(target=c.join, args=(s,)) for c, s in zip(newcomers, sessions[3:])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    leaving = newcomers[:3]
    for client in leaving:
        client.close()
    mine = {s["user"]["id"] for s in sessions}
    staying = {c.user["id"] for c in watchers + newcomers[3:]}
    gone = {c.user["id"] for c in leaving}

    def told(client: RawClient) -> bool:
        return pumped(client)[0] & mine == staying - {client.user["id"]}

    try:
        for client in watchers + newcomers[3:]:
            assert wait_until(lambda: told(client), timeout=10)
            online, problems = client.roster()
            assert problems == []
            assert not online & gone
            assert not client.named("player_joined") and not client.named("player_left")
        for client in watchers:  # every newcomer who stayed in exactly one players_joined
            listed = [p["id"] for d in client.named(P.PLAYERS_JOINED) for p in d["players"]]
            assert len(listed) == len(set(listed))
            assert {c.user["id"] for c in newcomers[3:]} <= set(listed) <= mine
    finally:
        for client in watchers + newcomers:
            client.close()


def test_a_takeover_over_the_wire_keeps_the_player_listed_once(world_host):
    url = world_host.url
    watch, moving = register_many(url, [unique_name("wat"), unique_name("mov")])
    watcher, first = RawClient(url), RawClient(url)
    watcher.join(watch)
    first.join(moving)
    uid = moving["user"]["id"]
    watcher.wait_joined(uid)
    second = RawClient(url)
    try:
        second.join(moving)  # same token, new connection: takes the account over
        watcher.wait_left(uid)
        assert wait_until(lambda: uid in pumped(watcher)[0], timeout=5)
        online, problems = watcher.roster()
        assert problems == []
    finally:
        for client in (watcher, first, second):
            client.close()
