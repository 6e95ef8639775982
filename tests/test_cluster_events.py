"""What the players of one process see of another process's players besides
their moves: looks, away, emotes, lines said nearby, and the moderators'
list of who is on, with their addresses (two real host processes, one
Redis)."""
from __future__ import annotations

import pytest

from game.core import protocol as P

from .conftest import ASYNC_MODES, snapshot_positions
from .helpers_cluster import cluster


@pytest.fixture(params=ASYNC_MODES[:1])
def pair(request, tmp_path, test_map_path, redis_server):
    """The world's owner on process 0 and a player beside them on process 1."""
    with cluster(tmp_path, test_map_path, redis_server.url, n=2, mode=request.param) as world:
        owner = world.players[0]()
        other = world.players[1]()
        owner.wait_for(P.PLAYERS_JOINED, match=lambda d: any(
            p["id"] == other.session.user_id for p in d["players"]))
        yield owner, other, world


def test_looks_and_away_cross_processes(pair):
    owner, other, world = pair
    look = {field: options[-1] for field, options in P.LOOK_OPTIONS.items()}
    assert other.call(P.SET_LOOK, look)["ok"] is True
    changed = owner.wait_for(P.LOOK_CHANGED).data
    assert changed == {"id": other.session.user_id, "name": other.session.name, "look": look}
    assert other.call(P.AWAY, {"away": True})["ok"] is True
    away = owner.wait_for(P.PLAYER_AWAY).data
    assert away == {"id": other.session.user_id, "name": other.session.name, "away": True}
    # A newcomer on the owner's process sees them in its welcome as they are now.
    newcomer = world.players[0]()
    listed = {p["id"]: p for p in newcomer.welcome["players"]}[other.session.user_id]
    assert listed["look"] == look and listed["away"] is True


def test_emotes_and_talk_reach_the_players_near_on_another_process(pair):
    owner, other, _ = pair
    assert other.call(P.EMOTE, {"emote": "wave"})["ok"] is True
    emoted = owner.wait_for(P.EMOTED).data
    assert emoted == {"from": other.session.user_id, "name": other.session.name,
                      "emote": "wave"}
    assert owner.call(P.SAY, {"text": "hello over there"})["ok"] is True
    said = other.wait_for(P.SAID).data
    assert said["from"] == owner.session.user_id and said["text"] == "hello over there"


def test_the_moderators_list_covers_every_process(pair):
    owner, other, _ = pair
    assert "list" in owner.welcome["can"]
    listed = {p["name"]: p for p in owner.call(P.MOD_LIST, {})["players"]}
    assert set(listed) == {owner.session.name, other.session.name}
    assert listed[other.session.name]["since"] <= listed[owner.session.name]["since"] + 60_000
    # The owner sees every address, the remote player's as its process saw it.
    assert listed[other.session.name]["address"] == "127.0.0.1"
    assert listed[owner.session.name]["address"] == "127.0.0.1"


def test_a_player_going_to_another_map_goes_there_for_every_process(tmp_path, redis_server):
    from .test_map_multi import go_to_cave, spot, walk, write_world

    folder = write_world(tmp_path / "maps")
    with cluster(tmp_path, folder, redis_server.url, n=2,
                 extra_args=("--start-map", "town")) as world:
        alice, bob = world.players[0](), world.players[1]()
        bob_id = bob.session.user_id
        you = spot(bob.welcome["you"])
        bob.send_move(you[0], you[1] + 8)
        alice.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(bob_id)
                       == (you[0], you[1] + 8))
        bob.welcome["you"]["y"] += 8
        there = spot(go_to_cave(bob)["you"])
        moved = alice.wait_for(P.PLAYER_MAP, match=lambda d: d["id"] == bob_id).data
        assert moved == {"id": bob_id, "name": bob.session.name, "map": "cave"}
        alice.wait_for(P.SNAPSHOT, match=lambda d: bob_id in (d.get("gone") or []))
        # A newcomer to the cave on Alice's process finds Bob there, and sees him walk.
        carol = world.players[0]()
        listed = {p["id"]: p for p in carol.welcome["players"]}
        assert listed[bob_id]["map"] == "cave"
        arrived = go_to_cave(carol)
        assert [p["id"] for p in arrived["players"]] == [bob_id]
        end = (there[0] + 48, there[1])
        walk(bob, there, end)
        carol.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(bob_id) == end)


def test_a_role_given_on_one_process_is_seen_on_the_others(tmp_path, test_map_path,
                                                            redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as world:
        owner = world.players[1]()  # the first account: the world's owner
        helper = world.players[1]()
        watcher = world.players[0]()
        assert owner.call(P.MOD_PROMOTE, {"name": helper.session.name})["ok"] is True
        change = watcher.wait_for(P.ROLE_CHANGED).data
        assert change == {"id": helper.session.user_id, "name": helper.session.name,
                          "role": P.ROLE_MODERATOR}
        newcomer = world.players[0]()
        listed = {p["id"]: p for p in newcomer.welcome["players"]}
        assert listed[helper.session.user_id]["role"] == P.ROLE_MODERATOR
