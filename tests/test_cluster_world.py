"""One world over several real host processes (one Redis, one database file):
players on different processes see each other walk, join and leave; a
process's players see only the movers near them; a killed process's
players leave the world; a Redis restart is survived.
"""
from __future__ import annotations

import time

import pytest
import requests

from game.core import protocol as P

from .conftest import (ASYNC_MODES, seen_events, snapshot_positions, stored_at, unique_name,
                       wait_for_position, wait_until, write_tmx)
from .helpers_cluster import cluster

# A long open map: 80 x 4 tiles of 32 px (10 area cells east to west).
ROWS = ("S" + "." * 79, "." * 80, "." * 80, "." * 80)
Y = 16.0
FAR_X = 2400.0  # area cell 9: far outside the area of anyone near the spawn


@pytest.fixture(scope="module")
def long_map(tmp_path_factory):
    return write_tmx(tmp_path_factory.mktemp("long") / "long.tmx", ROWS)


def health(world, i: int) -> dict:
    return requests.get(world.hosts[i].url + P.HTTP_HEALTH, timeout=5).json()


def walk(client, x: float, y: float, steps: int, dx: float = -8.0) -> float:
    """Walk ``steps`` steps of ``dx`` (west: the test map's spawn has a wall
    to its east) at walking pace; returns the last x."""
    for _ in range(steps):
        x += dx
        client.send_move(x, y)
        time.sleep(0.05)
    return x


def sees_moving(watcher, walker, timeout: float = 10.0) -> None:
    """``walker`` walks a few steps and ``watcher`` sees where it ends."""
    you = walker.welcome["you"]
    x = walk(walker, you["x"], you["y"], 6)
    wait_for_position(watcher, walker.session.user_id, (x, you["y"]), timeout=timeout)
    you["x"] = x


def placed_far(world, index: int, x: float, watcher):
    """A player on process ``index`` who starts at ``(x, Y)`` (``stored_at``),
    joined.

    Returns once ``watcher`` has been told of that join, with everything
    ``watcher`` received until then dropped."""
    host = world.hosts[index]
    name = unique_name()
    uid = stored_at(host.url, host.db_path, name, x, Y)
    player = world.players[index](name, register=False)
    assert player.welcome["you"]["x"] == x
    watcher.wait_for(P.PLAYERS_JOINED, match=lambda d: any(
        p["id"] == uid and p["x"] == x for p in d["players"]))
    watcher.drain()
    watcher.skipped.clear()
    return player


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_players_on_two_processes_see_each_other_walk(tmp_path, test_map_path, redis_server,
                                                      mode):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2, mode=mode) as world:
        a = world.players[0]()
        b = world.players[1]()
        # As for a player of its own process: told of the join, then shown.
        a.wait_for(P.SNAPSHOT, match=lambda d: b.session.user_id in snapshot_positions(d))
        told = [e.data for e in a.skipped if e.kind == P.PLAYERS_JOINED]  # before that snapshot
        assert any(p["id"] == b.session.user_id for d in told for p in d["players"])
        sees_moving(a, b)
        sees_moving(b, a)
        # Each process sends the other's player as one of its own: the whole
        # first, then deltas, all in the snapshots' encoding.
        assert health(world, 0)["cluster"]["players_elsewhere"] == 1


def subscribers(redis_url: str, channel: str) -> int:
    import redis
    client = redis.Redis.from_url(redis_url)
    try:
        return dict(client.pubsub_numsub(channel))[channel.encode()]
    finally:
        client.close()


def test_a_process_receives_only_the_movers_its_players_see(tmp_path, long_map, redis_server):
    with cluster(tmp_path, long_map, redis_server.url, n=2) as world:
        watcher = world.players[0]()  # at the spawn, area cell 0
        far = placed_far(world, 1, FAR_X, watcher)  # on process 1, area cell 9
        near = world.players[1]()  # on process 1, beside the watcher
        # Process 0 listens to the cells around its player, not to the far one's.
        far_cell = f"pc:cell:0:{int(FAR_X // P.AREA_CELL_PX)}:0"
        wait_until(lambda: subscribers(redis_server.url, "pc:cell:0:0:0") == 2, timeout=5)
        assert subscribers(redis_server.url, far_cell) == 1  # process 1's own
        you = near.welcome["you"]
        wait_for_position(watcher, near.session.user_id, (you["x"], you["y"]))  # settled
        before = health(world, 0)["cluster"]["moves_received"]
        x = walk(far, FAR_X, Y, 6)
        wait_for_position(far, far.session.user_id, (x, Y))
        time.sleep(0.3)  # what process 0 would have received by now, it has
        assert health(world, 0)["cluster"]["moves_received"] == before
        assert not any(far.session.user_id in snapshot_positions(s)
                       for s in seen_events(watcher, P.SNAPSHOT))
        # The near one's moves do cross.
        y = near.welcome["you"]["y"]
        x = walk(near, near.welcome["you"]["x"], y, 4, dx=8.0)  # east: the spawn is at x 16
        wait_for_position(watcher, near.session.user_id, (x, y))
        assert health(world, 0)["cluster"]["moves_received"] > before
        # Both are in the world for the watcher all along.
        assert health(world, 0)["players_online"] == 3


def test_presence_and_the_directory_cover_every_process(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=3) as world:
        a = world.players[0]()
        b = world.players[1]()
        joined = a.wait_for(P.PLAYERS_JOINED, match=lambda d: any(
            p["id"] == b.session.user_id for p in d["players"])).data
        assert [p["name"] for p in joined["players"]] == [b.session.name]
        c = world.players[2]()
        listed = sorted(p["name"] for p in c.welcome["players"])
        assert listed == sorted([a.session.name, b.session.name])
        a.wait_for(P.PLAYERS_JOINED, match=lambda d: any(
            p["id"] == c.session.user_id for p in d["players"]))
        sees_moving(c, a)  # three processes: each sees the other two's players walk
        sees_moving(c, b)
        sees_moving(a, c)
        answer = a.call(P.DIRECTORY, {})
        online = {p["name"] for p in answer["players"] if p["online"]}
        assert online == {b.session.name, c.session.name}
        for i in range(3):
            assert health(world, i)["players_online"] == 3
        world.players[1].close(b).result(timeout=10)
        for watcher in (a, c):
            left = watcher.wait_for(P.PLAYERS_LEFT, match=lambda d: b.session.user_id in d["ids"])
            assert left.data["names"] == [b.session.name]
        wait_until(lambda: health(world, 2)["players_online"] == 2)
        # Nobody was told twice of anyone.
        for watcher in (a, c):
            ids = [p["id"] for d in seen_events(watcher, P.PLAYERS_JOINED) for p in d["players"]]
            assert len(ids) == len(set(ids))


def test_a_process_started_later_learns_who_is_where(tmp_path, test_map_path, redis_server):
    from .conftest import PlayerFactory
    from .helpers_cluster import start_process

    with cluster(tmp_path, test_map_path, redis_server.url, n=1) as world:
        a = world.players[0]()
        late = start_process(tmp_path / "world.db", test_map_path, redis_server.url, 1, "eventlet")
        world.hosts.append(late)
        world.players.append(PlayerFactory(late))
        b = world.players[1]()
        assert [p["name"] for p in b.welcome["players"]] == [a.session.name]
        a.wait_for(P.PLAYERS_JOINED, match=lambda d: any(
            p["id"] == b.session.user_id for p in d["players"]))
        sees_moving(b, a)


def test_a_killed_process_s_players_leave_the_world(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as world:
        a = world.players[0]()
        b = world.players[1]()
        wait_until(lambda: health(world, 0)["players_online"] == 2)
        assert a.call(P.DM_OPEN, {"peer": b.session.name})["ok"]  # a talks with b
        world.hosts[1].proc.kill()  # kill -9: it clears nothing
        killed = time.monotonic()
        a.wait_for(P.PLAYERS_LEFT, timeout=10, match=lambda d: b.session.user_id in d["ids"])
        assert time.monotonic() - killed < 6.0
        # b left a's open conversation too, as if b had left the world.
        assert wait_until(lambda: seen_events(a, P.DM_PRESENCE)) == [
            {"peer": b.session.name, "state": "left"}]
        assert health(world, 0)["players_online"] == 1
        assert not any(p["online"] for p in a.call(P.DIRECTORY, {})["players"])


def test_a_redis_restart_is_survived(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as world:
        a = world.players[0]()
        a2 = world.players[0]()
        b = world.players[1]()
        sees_moving(a, b)
        gone = world.players[1]()
        wait_until(lambda: health(world, 0)["players_online"] == 4)
        seen_events(a, P.PLAYERS_JOINED)
        a.skipped.clear()  # from here on: what the outage and the return bring
        redis_server.stop(kill=True)
        wait_until(lambda: health(world, 0)["cluster"]["redis"] == "down", timeout=10)
        # Each process serves its own players on.
        sees_moving(a2, a)
        assert health(world, 0)["players_online"] == 4  # kept, standing still
        # Meanwhile one player leaves process 1 and another joins it.
        world.players[1].close(gone).result(timeout=10)
        came = world.players[1]()
        redis_server.start()
        wait_until(lambda: all(health(world, i)["cluster"]["redis"] == "up" for i in (0, 1)),
                   timeout=15)
        sees_moving(a, b)
        sees_moving(b, a)
        # The rosters exchanged once Redis is back tell who came and went.
        wait_until(lambda: any(p["id"] == came.session.user_id
                               for d in seen_events(a, P.PLAYERS_JOINED) for p in d["players"]))
        wait_until(lambda: any(gone.session.user_id in d["ids"]
                               for d in seen_events(a, P.PLAYERS_LEFT)))
        assert not any(b.session.user_id in d["ids"] for d in seen_events(a, P.PLAYERS_LEFT))
        ids = [p["id"] for d in seen_events(a, P.PLAYERS_JOINED) for p in d["players"]]
        assert ids.count(came.session.user_id) == 1 and b.session.user_id not in ids
        late = world.players[1]()
        names = [p["name"] for p in late.welcome["players"]]
        assert sorted(names) == sorted([a.session.name, a2.session.name, b.session.name,
                                        came.session.name])
        wait_until(lambda: health(world, 0)["players_online"] == 5)


def test_a_player_of_another_process_walks_into_view_and_out(tmp_path, long_map, redis_server):
    cell = P.AREA_CELL_PX
    outside = (P.AREA_RADIUS_CELLS + 1) * cell + 100.0  # beyond the watcher's area
    inside = P.AREA_RADIUS_CELLS * cell + 200.0
    with cluster(tmp_path, long_map, redis_server.url, n=2) as world:
        watcher = world.players[0]()
        walker = placed_far(world, 1, outside, watcher)
        uid = walker.session.user_id
        x = walk(walker, outside, Y, int((outside - inside) // 8))
        wait_for_position(watcher, uid, (x, Y))
        walk(walker, x, Y, int((outside - inside) // 8) + 2, dx=8.0)
        watcher.wait_for(P.SNAPSHOT, match=lambda d: uid in (d.get("gone") or []))
        # Out of view, still in the world.
        assert not any(uid in d["ids"] for d in seen_events(watcher, P.PLAYERS_LEFT))
        assert health(world, 0)["players_online"] == 2
