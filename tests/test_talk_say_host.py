"""Saying a line aloud, on a real host under both async modes.

The plaza is a long map; exits beside its spawn lead to entries at chosen
distances from the spawn (one just inside the hearing radius, in another
cell; one just outside it; one far away) and into a cave whose door stands
where the plaza's spawn is.  Players walk into those exits as a real client
does, so each test puts its listeners exactly where it wants them.  The
owner (who mutes) waits in the cave's far corner.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from game.client.net import HostClient
from game.core import protocol as P

from .conftest import (ASYNC_MODES, PASSWORD, PlayerFactory, players_online, seen_events,
                       snapshot_positions, start_world_host, wait_until, write_tmx)
from .test_map_multi import walk

OWNER = "talkboss"
PLAZA_ROWS = tuple(row.ljust(40, ".") for row in (
    "", "", "..S", "", "", "", "", "", "", ""))
CAVE_ROWS = (
    "##########",
    "#........#",
    "#.S......#",
    "#........#",
    "#........#",
    "#........#",
    "##########",
)
SPAWN = (80.0, 80.0)
R = P.HEARING_RADIUS_PX
ENTRIES = {"inside": (SPAWN[0] + R - 30, SPAWN[1]),   # heard, from the next cell
           "outside": (SPAWN[0] + R + 24, SPAWN[1]),  # a cell the host looks in; too far
           "far": (1200.0, 280.0)}
# One-tile exits in row 6, well below the spawn: walking into one takes a
# player to its entry.
EXITS = {"inside": (0.0, 192.0), "outside": (64.0, 192.0), "far": (128.0, 192.0),
         "cave": (192.0, 192.0)}
CAVE_DOOR = SPAWN           # the cave's door stands where the plaza's spawn is
CAVE_CORNER = (272.0, 48.0)  # where the owner waits


def write_world(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exits = [(x, y, 32.0, 32.0, f"plaza#{name}" if name != "cave" else "cave#door")
             for name, (x, y) in EXITS.items()]
    write_tmx(folder / "plaza.tmx", PLAZA_ROWS, exits=exits, entries=ENTRIES)
    write_tmx(folder / "cave.tmx", CAVE_ROWS, entries={"door": CAVE_DOOR, "corner": CAVE_CORNER},
              exits=[(224.0, 160.0, 32.0, 32.0, "cave#corner")])
    return folder


def where(client: HostClient) -> tuple[float, float]:
    you = client.welcome["you"]
    return float(you["x"]), float(you["y"])


def go(client: HostClient, exit_name: str) -> tuple[float, float]:
    """Walk into an exit; returns where the host put the player, once a tick
    has placed them there (their own position comes back in a snapshot)."""
    x, y = EXITS[exit_name]
    walk(client, where(client), (x + 16.0, y + 16.0))
    you = client.wait_for(P.MAP_CHANGED).data["you"]
    spot = (float(you["x"]), float(you["y"]))
    client.send_move(spot[0] + 1.0, spot[1])
    me = client.session.user_id
    client.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(me)
                    == (spot[0] + 1.0, spot[1]))
    return spot[0] + 1.0, spot[1]


@pytest.fixture(scope="module", params=ASYNC_MODES)
def talk_host(request, tmp_path_factory):
    folder = write_world(tmp_path_factory.mktemp("talk") / "world")
    db = tmp_path_factory.mktemp(f"talk-{request.param}") / "world.db"
    world = start_world_host(db, folder, request.param,
                             ("--start-map", "plaza", "--registrations", "1000"))
    boss = HostClient(world.url, reconnect=False)
    boss.register(OWNER, PASSWORD)  # the world's first account: its owner
    boss.connect()
    boss.welcome = boss.wait_for(P.WELCOME).data
    go(boss, "cave")
    walk(boss, (CAVE_DOOR[0] + 1.0, CAVE_DOOR[1]), (240.0, 176.0))  # on to the far corner
    boss.wait_for(P.MAP_CHANGED)
    world.boss = boss
    yield world
    boss.close()
    world.stop()


@pytest.fixture
def players(talk_host):
    """Players on the plaza; each test starts with nobody there but the owner."""
    wait_until(lambda: players_online(talk_host.url) == 1, timeout=10)
    factory = PlayerFactory(talk_host)
    yield factory
    factory.close_all()


def say(client: HostClient, text) -> dict:
    return client.call(P.SAY, {"text": text})


def hear(client: HostClient, text: str) -> dict:
    return client.wait_for(P.SAID, match=lambda d: d["text"] == text).data


def heard(client: HostClient) -> list[str]:
    """The lines a client got besides those it waited for."""
    return [d["text"] for d in seen_events(client, P.SAID)]


def own_line_as_barrier(client: HostClient, text: str) -> None:
    """The client's own line comes back to it: every line said to it before
    has arrived by then (one connection delivers in order)."""
    assert say(client, text) == {"ok": True}
    hear(client, text)


def test_a_line_reaches_exactly_the_players_within_earshot(players, talk_host):
    alice, bob = players(), players()
    inside, outside, far, caver = players(), players(), players(), players()
    with ThreadPoolExecutor(4) as pool:
        spots = dict(zip(("inside", "outside", "far", "cave"),
                         pool.map(go, (inside, outside, far, caver),
                                  ("inside", "outside", "far", "cave"))))
    a, b = where(alice), where(bob)
    assert math.dist(a, b) < 64
    assert math.dist(a, spots["inside"]) < R < math.dist(a, spots["outside"])
    assert P.AREA_CELL_PX * 2 < math.dist(a, spots["far"])
    assert spots["cave"] == (CAVE_DOOR[0] + 1.0, CAVE_DOOR[1])  # same spot, other map

    assert say(alice, "  hello, neighbours  ") == {"ok": True}
    line = hear(bob, "hello, neighbours")
    assert line["from"] == alice.session.user_id and line["name"] == alice.session.name
    assert (line["x"], line["y"]) == a
    assert abs(line["at"] / 1000.0 - time.time()) < 30
    assert set(line) == {"from", "name", "text", "x", "y", "at"}
    assert hear(alice, "hello, neighbours") == line  # the speaker hears it back
    assert hear(inside, "hello, neighbours") == line
    for listener in (outside, far, caver, talk_host.boss):
        own_line_as_barrier(listener, f"barrier {listener.session.name}")
        assert "hello, neighbours" not in heard(listener)
    # Their own lines reach nobody near the plaza's spawn.
    own_line_as_barrier(alice, "after the far ones")
    faraway = {f"barrier {c.session.name}" for c in (far, caver, talk_host.boss)}
    assert not faraway & set(heard(alice) + heard(bob))
    assert f"barrier {talk_host.boss.session.name}" in heard(caver)  # both in the cave


def test_a_muted_player_is_heard_by_nobody(players, talk_host):
    alice, bob = players(), players()
    boss = talk_host.boss
    muted = boss.call(P.MOD_MUTE, {"name": alice.session.name, "minutes": 1, "reason": "shh"})
    assert muted["ok"]
    alice.wait_for(P.MUTED)
    reply = say(alice, "can anyone hear me")
    assert reply["ok"] is False and reply["error"] == P.E_MUTED
    assert reply["until"] == muted["until"]
    error = alice.wait_for(P.ERROR, match=lambda d: d.get("event") == P.SAY).data
    assert error["code"] == P.E_MUTED and error["until"] == muted["until"]
    # The same refusal as a direct message gets.
    dm = alice.call(P.DM_SEND, {"to": bob.session.name, "text": "and now?"})
    assert {k: v for k, v in dm.items()} == reply
    own_line_as_barrier(bob, "bob is here")
    assert heard(bob) == []
    assert "can anyone hear me" not in heard(alice)
    assert boss.call(P.MOD_UNMUTE, {"name": alice.session.name})["ok"]
    alice.wait_for(P.UNMUTED)
    assert say(alice, "back again") == {"ok": True}
    hear(bob, "back again")


def test_a_block_stops_lines_both_ways(players):
    alice, bob, carol = players(), players(), players()
    an = alice.session.name
    assert bob.call(P.BLOCK, {"name": an})["ok"]  # Bob blocks Alice
    assert say(alice, "from alice") == {"ok": True}  # she is not told
    hear(alice, "from alice")
    hear(carol, "from alice")
    own_line_as_barrier(bob, "bob's own")
    assert "from alice" not in heard(bob)
    # Bob's lines do not reach Alice either: she is blocked by him.
    hear(carol, "bob's own")
    own_line_as_barrier(alice, "alice again")
    assert "bob's own" not in heard(alice)
    # The other way round: Alice blocks Carol, so Carol does not hear Alice.
    assert alice.call(P.BLOCK, {"name": carol.session.name})["ok"]
    assert say(alice, "not for carol") == {"ok": True}
    own_line_as_barrier(carol, "carol's own")
    assert "not for carol" not in heard(carol)
    assert bob.call(P.UNBLOCK, {"name": an})["ok"]
    assert say(alice, "after the unblock") == {"ok": True}
    hear(bob, "after the unblock")


def test_lines_have_their_own_rate_limit(players):
    alice, bob = players(), players()
    for i in range(P.SAYS_PER_WINDOW):
        assert say(alice, f"line {i}") == {"ok": True}
    over = say(alice, "one too many")
    assert over["ok"] is False and over["error"] == P.E_RATE_LIMITED
    assert f"{P.SAYS_PER_WINDOW} lines" in over["message"]
    # Direct messages have an allowance of their own, untouched.
    assert alice.call(P.DM_SEND, {"to": bob.session.name, "text": "still fine"})["ok"]
    own_line_as_barrier(bob, "bob counts")
    assert heard(bob) == [f"line {i}" for i in range(P.SAYS_PER_WINDOW)]


BAD_PAYLOADS = [{"text": ""}, {"text": "   "}, {"text": "x" * (P.DM_TEXT_MAX + 1)}, {"text": 42},
                {"text": "bell\x07"}, {"text": "abc\u202edcba"}, {}, {"text": "hi", "to": "bob"},
                "just a string"]


def test_bad_text_is_refused_and_said_to_nobody(players):
    alice, bob = players(), players()
    for payload in BAD_PAYLOADS:
        reply = alice.call(P.SAY, payload)
        assert reply["ok"] is False and reply["error"] == P.E_BAD_PAYLOAD, payload
    # Refused payloads cost no allowance; the longest line is fine.
    longest = "x" * P.DM_TEXT_MAX
    for i in range(P.SAYS_PER_WINDOW - 1):
        assert say(alice, f"fine {i}") == {"ok": True}
    assert say(alice, " " + longest + " ") == {"ok": True}
    own_line_as_barrier(bob, "bob checks")
    assert heard(bob) == [f"fine {i}" for i in range(P.SAYS_PER_WINDOW - 1)] + [longest]
