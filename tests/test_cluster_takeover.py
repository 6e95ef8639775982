"""One connection per account in the whole world, and positions kept through
a process killed with kill -9: two real host processes, one Redis."""
from __future__ import annotations

import math
import time

import pytest

from game.core import protocol as P

from .conftest import ASYNC_MODES, wait_until
from .helpers_cluster import WALK_SPEED_USED, cluster, walk, where_am_i

@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_logging_in_on_another_process_takes_the_account_over(tmp_path, test_map_path,
                                                              redis_server, mode):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2, mode=mode) as w:
        alice = w.players[0]()
        walk(alice, [(176.0, 190.0)])
        stood = where_am_i(alice)
        assert stood[1] > 150.0
        again = w.players[1](alice.session.name, register=False)
        ended = alice.wait_for(P.SESSION_ENDED, timeout=5).data
        assert ended["reason"] == P.END_REPLACED
        you = again.welcome["you"]
        assert (you["x"], you["y"]) == stood
        # The account is connected once in the world: process 0 let it go.
        line = wait_until(lambda: [ln for ln in w.hosts[1].proc.log().splitlines()
                                   if "took account" in ln], timeout=5)[0]
        assert "no answer" not in line
        print("\ntakeover:", line.split("server.cluster: ")[-1])


def test_a_killed_process_players_come_back_where_they_were(tmp_path, test_map_path,
                                                            redis_server):
    # The database is written every 30 s here: what brings the player back
    # is the position the process kept in Redis.
    with cluster(tmp_path, test_map_path, redis_server.url, n=2,
                 extra_args=("--save-interval", "30")) as w:
        alice = w.players[0]()
        last = walk(alice, [(176.0, 300.0), (420.0, 300.0)])
        w.hosts[0].proc.kill()
        started = time.monotonic()
        again = w.players[1](alice.session.name, register=False)
        took = time.monotonic() - started
        you = again.welcome["you"]
        lost = math.hypot(you["x"] - last[0], you["y"] - last[1])
        print(f"\nkill -9: back on process 1 after {took:.2f} s, {lost:.0f} px "
              f"({lost / WALK_SPEED_USED:.2f} s of walking) from where the player stood")
        assert lost <= WALK_SPEED_USED * 1.0, (you, last)
        assert you["x"] > 300.0  # not the start, not the last save to the database
        assert took < 5.0


def test_leaving_and_coming_back_anywhere_starts_where_the_player_left(tmp_path, test_map_path,
                                                                       redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2,
                 extra_args=("--save-interval", "30")) as w:
        alice = w.players[0]()
        walk(alice, [(176.0, 250.0)])
        stood = where_am_i(alice)
        w.players[0].close(alice).result(10)
        here = w.players[0](alice.session.name, register=False)  # the same process
        assert (here.welcome["you"]["x"], here.welcome["you"]["y"]) == stood
        here.at = stood
        walk(here, [(300.0, 250.0)])
        stood = where_am_i(here)
        w.players[0].close(here).result(10)
        there = w.players[1](alice.session.name, register=False)  # the other one
        assert (there.welcome["you"]["x"], there.welcome["you"]["y"]) == stood


def test_after_a_redis_restart_the_account_keys_come_back(tmp_path, test_map_path,
                                                          redis_server):
    import redis
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        alice = w.players[0]()
        walk(alice, [(176.0, 200.0)])
        stood = where_am_i(alice)
        redis_server.stop(kill=True)  # an empty Redis comes back: no keys at all
        redis_server.start()
        r = redis.Redis.from_url(redis_server.url)
        uid = alice.session.user_id
        wait_until(lambda: r.get(f"pc:acct:{uid}") and r.get(f"pc:pos:{uid}"), timeout=15)
        again = w.players[1](alice.session.name, register=False)
        assert alice.wait_for(P.SESSION_ENDED, timeout=5).data["reason"] == P.END_REPLACED
        assert (again.welcome["you"]["x"], again.welcome["you"]["y"]) == stood
        r.close()
