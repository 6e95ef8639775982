"""One world on three host processes that share nothing but Redis,
PostgreSQL and the secret file (each in a folder of its own, as on three
machines): moves, a DM, a takeover, a ban, a process killed and Redis
restarted, end to end."""
from __future__ import annotations

import math
import time

import pytest
import requests

from game.core import protocol as P

from .conftest import post, seen_events, wait_for_position, wait_until
from .helpers_cluster import WALK_SPEED_USED, cluster, walk

pytestmark = pytest.mark.slow


def joined(factory, *args, **kwargs):
    """A player who walks from where the host placed it."""
    client = factory(*args, **kwargs)
    you = client.welcome["you"]
    client.at = (you["x"], you["y"])
    return client


def online(world, i: int) -> int:
    return requests.get(world.hosts[i].url + P.HTTP_HEALTH, timeout=5).json()["players_online"]


def test_three_machines_play_one_world(tmp_path, test_map_path, redis_server, postgres_url):
    with cluster(tmp_path, test_map_path, redis_server.url, n=3,
                 database=postgres_url, extra_args=("--save-interval", "30")) as world:
        boss = joined(world.players[2])  # the first account: the world's owner
        alice = joined(world.players[0])
        bob = joined(world.players[1])
        erin = joined(world.players[1])
        wait_until(lambda: all(online(world, i) == 4 for i in range(3)), timeout=10)
        # Moves: alice (process 0) sees bob (process 1) walk.
        x, y = bob.at
        end = walk(bob, [(x, y + 60.0)])
        wait_for_position(alice, bob.session.user_id, end, timeout=5)
        # A DM from process 0 to process 1, stored once in the shared database.
        sent = alice.call(P.DM_SEND, {"to": bob.session.name, "text": "over here"})
        assert sent["ok"] is True, sent
        bob.wait_for(P.DM_UNREAD, timeout=5)
        # Takeover: bob logs in on process 0; process 1 lets go, he stands where he stood.
        bob2 = world.players[0](bob.session.name, register=False)
        assert bob.wait_for(P.SESSION_ENDED, timeout=5).data["reason"] == P.END_REPLACED
        assert (bob2.welcome["you"]["x"], bob2.welcome["you"]["y"]) == end
        assert bob2.welcome["unread"] == {alice.session.name: 1}
        # A ban on process 2 reaches erin on process 1, and every process refuses her.
        reply = boss.call(P.MOD_BAN, {"name": erin.session.name, "reason": "griefing"})
        assert reply["ok"] is True, reply
        assert erin.wait_for(P.SESSION_ENDED, timeout=5).data["reason"] == P.END_BANNED
        for i in range(3):
            refused = post(world.hosts[i].url, P.HTTP_LOGIN,
                           {"username": erin.session.name, "password": "correct-horse"})
            assert refused.json()["error"] == P.E_BANNED, refused.text
        # kill -9 of process 1: carol, who played there, comes back on
        # process 2 within a second of walking; the others never stop.
        carol = joined(world.players[1])
        x, y = carol.at
        last = walk(carol, [(x, y + 80.0)])
        world.hosts[1].proc.kill()
        alice.wait_for(P.PLAYERS_LEFT, timeout=10,
                       match=lambda d: carol.session.user_id in d["ids"])
        back = world.players[2](carol.session.name, register=False)
        you = back.welcome["you"]
        assert math.hypot(you["x"] - last[0], you["y"] - last[1]) <= WALK_SPEED_USED * 1.0
        # Redis away for 10 s: each process serves its own players on and says
        # so; then Redis is back, empty, and the processes meet again by themselves.
        redis_server.stop(kill=True)
        away = time.monotonic()
        redis = lambda i: requests.get(world.hosts[i].url + P.HTTP_HEALTH,  # noqa: E731
                                       timeout=5).json()["cluster"]["redis"]
        wait_until(lambda: redis(0) == "down" and redis(2) == "down", timeout=10)
        x, y = bob2.welcome["you"]["x"], bob2.welcome["you"]["y"]
        bob2.at = (x, y)
        end = walk(bob2, [(x, y + 40.0)])  # both on process 0
        wait_for_position(alice, bob2.session.user_id, end, timeout=5)
        time.sleep(max(0.0, 10.0 - (time.monotonic() - away)))  # the outage's length
        redis_server.start()
        wait_until(lambda: redis(0) == "up" and redis(2) == "up", timeout=20)
        for i in (0, 2):
            log = world.hosts[i].proc.log()
            assert "unreachable" in log and "is back" in log
        x, y = boss.at
        end = walk(boss, [(x, y + 40.0)])
        wait_for_position(alice, boss.session.user_id, end, timeout=10)
        assert not seen_events(alice, P.ERROR)
