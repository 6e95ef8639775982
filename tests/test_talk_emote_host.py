"""Emotes, typing and away on a real host, under both async modes.

A long open map (60 x 4 tiles): players join beside the spawn at its west
end, one is placed three area cells east of it, out of everyone's area.
An emote reaches exactly the players whose area covers the emoter (and them),
never one who blocks them; typing reaches the other side of an open
conversation only, never through a block; away goes to everyone online, is
in the player objects of welcome, and ends with the next move.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from game.client.net import HostClient
from game.core import protocol as P

from .conftest import (ASYNC_MODES, PASSWORD, seen_events, stored_at, unique_name, wait_until,
                       write_tmx)
from .support import HostProcess

ROWS = ("S" + "." * 59, "." * 60, "." * 60, "." * 60)
Y = 16.0
FAR_X = (P.AREA_RADIUS_CELLS + 1) * P.AREA_CELL_PX + 100.0  # beyond the spawn's area
OWNER = "talkowner"  # the host's owner, who mutes


@pytest.fixture(scope="module", params=ASYNC_MODES)
def talk_host(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"talk-{request.param}")
    tmx = write_tmx(folder / "long.tmx", ROWS)
    with HostProcess(folder / "world.db", async_mode=request.param,
                     extra_args=("--map", str(tmx), "--login-failures", "1000",
                                 "--owner", OWNER)) as proc:
        yield proc


@pytest.fixture(scope="module")
def closer():
    """Closing a client can wait for the host's close frame: done off the tests."""
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="closer") as pool:
        yield pool


@pytest.fixture
def join(talk_host, closer):
    clients: list[HostClient] = []

    def make(name: str | None = None, at: float | None = None) -> HostClient:
        """A joined player, placed by the tick (its first ``area`` arrived);
        ``at``: standing at (at, Y) instead of beside the spawn."""
        name = name or unique_name("t")
        if at is not None:
            stored_at(talk_host.url, talk_host.db_path, name, at, Y)
        client = HostClient(talk_host.url, reconnect=False)
        client.login_or_register(name, PASSWORD)
        client.connect()
        client.welcome = client.wait_for(P.WELCOME).data
        client.wait_for(P.AREA)  # in a cell: emotes can find it
        clients.append(client)
        return client

    yield make
    for client in clients:
        closer.submit(client.close)


def flushed(*clients: HostClient) -> None:
    """A round trip on each connection: whatever the host sent before is here."""
    for client in clients:
        client.call(P.PING, {})


def emotes_seen(client: HostClient) -> list[tuple[int, str]]:
    return [(d["from"], d["emote"]) for d in seen_events(client, P.EMOTED)]


def test_an_emote_reaches_the_players_near_only(join):
    a, near, far = join(), join(), join(at=FAR_X)
    assert far.welcome["you"]["x"] == FAR_X and near.welcome["you"]["x"] < P.AREA_CELL_PX
    me = a.session.user_id
    assert a.call(P.EMOTE, {"emote": "wave"}) == {"ok": True}
    got = near.wait_for(P.EMOTED).data
    assert got == {"from": me, "name": a.session.name, "emote": "wave"}
    a.wait_for(P.EMOTED, match=lambda d: d["from"] == me)  # the emoter sees it too
    flushed(far)
    assert emotes_seen(far) == []


def test_a_blocker_does_not_see_the_blocked_players_emotes(join):
    a, blocker, other = join(), join(), join()
    assert blocker.call(P.BLOCK, {"name": a.session.name})["ok"]
    assert a.call(P.EMOTE, {"emote": "heart"})["ok"]
    other.wait_for(P.EMOTED, match=lambda d: d["emote"] == "heart")  # same cell, still sent
    flushed(blocker)
    assert (a.session.user_id, "heart") not in emotes_seen(blocker)
    # The blocker's own emotes still reach the player they block.
    assert blocker.call(P.EMOTE, {"emote": "laugh"})["ok"]
    a.wait_for(P.EMOTED, match=lambda d: d["from"] == blocker.session.user_id)


def test_unknown_or_malformed_emotes_are_refused(join):
    a, near = join(), join()
    reply = a.call(P.EMOTE, {"emote": "dance"})
    assert reply["ok"] is False and reply["error"] == P.E_UNKNOWN_EMOTE
    assert "wave" in reply["message"]
    for bad in ({"emote": 3}, {"emote": "wave", "x": 1}, [], {}):
        assert a.call(P.EMOTE, bad)["error"] == P.E_BAD_PAYLOAD, bad
    flushed(near)
    assert emotes_seen(near) == []


def test_emotes_are_rate_limited(join):
    a, near = join(), join()
    for emote in P.EMOTES[:P.EMOTES_PER_WINDOW]:
        assert a.call(P.EMOTE, {"emote": emote})["ok"], emote
    refused = a.call(P.EMOTE, {"emote": "wave"})
    assert refused["ok"] is False and refused["error"] == P.E_RATE_LIMITED
    wait_until(lambda: len(emotes_seen(near)) >= P.EMOTES_PER_WINDOW)
    flushed(near)
    assert [e for _, e in emotes_seen(near)] == list(P.EMOTES[:P.EMOTES_PER_WINDOW])


def test_typing_reaches_the_peer_with_the_conversation_open_only(join):
    a, b, c = join(), join(), join()
    a_id, b_id = a.session.user_id, b.session.user_id
    assert b.call(P.DM_OPEN, {"peer": a.session.name})["ok"]
    assert a.call(P.DM_OPEN, {"peer": b.session.name})["ok"]
    a.emit(P.TYPING, {"to": b_id, "typing": True})
    got = b.wait_for(P.TYPING).data
    assert got == {"from": a_id, "name": a.session.name, "typing": True}
    a.emit(P.TYPING, {"to": b_id, "typing": False})
    b.wait_for(P.TYPING, match=lambda d: d["typing"] is False)
    a.emit(P.TYPING, {"to": c.session.user_id, "typing": True})  # c has nothing open
    flushed(a, c)
    assert seen_events(c, P.TYPING) == [] and seen_events(a, P.TYPING) == []


def test_typing_is_not_relayed_through_a_block(join):
    a, b = join(), join()
    assert b.call(P.DM_OPEN, {"peer": a.session.name})["ok"]
    assert b.call(P.BLOCK, {"name": a.session.name})["ok"]
    assert b.call(P.DM_OPEN, {"peer": a.session.name})["ok"]  # open again, still blocked
    a.emit(P.TYPING, {"to": b.session.user_id, "typing": True})
    flushed(a, b)
    assert seen_events(b, P.TYPING) == []
    # Nor to a player one blocks.
    b.emit(P.TYPING, {"to": a.session.user_id, "typing": True})
    assert a.call(P.DM_OPEN, {"peer": b.session.name})["ok"]
    b.emit(P.TYPING, {"to": a.session.user_id, "typing": True})
    flushed(b, a)
    assert seen_events(a, P.TYPING) == []


def test_bad_typing_payloads_are_refused(join):
    a = join()
    for bad, code in (({"to": a.session.user_id, "typing": True}, P.E_NO_SUCH_PLAYER),
                      ({"to": 2, "typing": "yes"}, P.E_BAD_PAYLOAD),
                      ({"to": "bob", "typing": True}, P.E_BAD_PAYLOAD)):
        a.emit(P.TYPING, bad)
        error = a.wait_for(P.ERROR, match=lambda d: d.get("event") == P.TYPING).data
        assert error["code"] == code, bad


def test_away_goes_to_everyone_is_in_welcome_and_ends_with_a_move(join):
    a, far = join(), join(at=FAR_X)
    a_id = a.session.user_id
    assert a.welcome["you"]["away"] is False
    assert a.call(P.AWAY, {"away": True}) == {"ok": True, "away": True}
    for client in (far, a):  # everyone online, wherever they are, and the player
        got = client.wait_for(P.PLAYER_AWAY, match=lambda d: d["id"] == a_id).data
        assert got == {"id": a_id, "name": a.session.name, "away": True}
    late = join()
    listed = {p["id"]: p for p in late.welcome["players"]}
    assert listed[a_id]["away"] is True and listed[far.session.user_id]["away"] is False
    assert a.call(P.AWAY, {"away": True}) == {"ok": True, "away": True}  # no change, no event
    assert a.call(P.AWAY, {"away": "no"})["error"] == P.E_BAD_PAYLOAD
    x = a.welcome["you"]["x"]
    a.send_move(x + 4, Y)  # any move: back
    got = far.wait_for(P.PLAYER_AWAY, match=lambda d: d["id"] == a_id and not d["away"]).data
    assert got["away"] is False
    flushed(late)
    assert [d["away"] for d in seen_events(late, P.PLAYER_AWAY) if d["id"] == a_id] == [False]


def test_a_muted_player_may_emote_but_their_typing_is_not_relayed(join):
    a, b = join(), join()
    owner = join(OWNER)
    muted = owner.call(P.MOD_MUTE, {"name": a.session.name, "minutes": 5})
    assert muted["ok"], muted
    a.wait_for(P.MUTED)
    assert a.call(P.EMOTE, {"emote": "question"})["ok"]  # an emote is not text
    b.wait_for(P.EMOTED, match=lambda d: d["from"] == a.session.user_id)
    assert b.call(P.DM_OPEN, {"peer": a.session.name})["ok"]
    a.emit(P.TYPING, {"to": b.session.user_id, "typing": True})
    flushed(a, b)
    assert seen_events(b, P.TYPING) == []
    assert owner.call(P.MOD_UNMUTE, {"name": a.session.name})["ok"]
    a.wait_for(P.UNMUTED)
    a.emit(P.TYPING, {"to": b.session.user_id, "typing": True})
    assert b.wait_for(P.TYPING).data["typing"] is True
