"""Limits that hold world-wide: a player gets no fresh allowance by going to
another host process of the world; while Redis is down each process counts
alone (and says so once)."""
from __future__ import annotations

from game.core import protocol as P

from .conftest import PASSWORD, post, unique_name, wait_until
from .helpers_cluster import cluster

EMOTE = P.EMOTES[0]


def login(url: str, name: str, password: str = PASSWORD):
    return post(url, P.HTTP_LOGIN, {"username": name, "password": password})


def register(url: str, name: str):
    return post(url, P.HTTP_REGISTER, {"username": name, "password": PASSWORD})


def join(factory, name: str):
    """Log in and connect; the welcome, or the error that refused the join."""
    client = factory.client()
    client.login(name, PASSWORD)
    client.connect()
    return client, _welcome_or_error(client)


def _welcome_or_error(client):
    while True:
        event = client.events.get(timeout=10)
        if event.kind in (P.WELCOME, P.ERROR):
            return event


def test_failed_logins_count_on_every_process(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2,
                 extra_args=("--login-failures", "3")) as w:
        name = unique_name("guess")
        assert register(w.hosts[0].url, name).status_code == 201
        for host in (w.hosts[0], w.hosts[1], w.hosts[0]):
            assert login(host.url, name, "wrong-password").status_code == 401
        # Over the limit on the process that saw none of them.
        refused = login(w.hosts[1].url, name)
        assert refused.status_code == 429 and refused.json()["error"] == P.E_THROTTLED


def test_registrations_per_address_count_on_every_process(tmp_path, test_map_path,
                                                         redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2,
                 extra_args=("--registrations", "3")) as w:
        for host in (w.hosts[0], w.hosts[1], w.hosts[0]):
            assert register(host.url, unique_name("new")).status_code == 201
        refused = register(w.hosts[1].url, unique_name("new"))
        assert refused.status_code == 429 and refused.json()["error"] == P.E_THROTTLED


def test_joins_and_dms_count_on_every_process(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        alice, bob = w.players[0](), w.players[1]()  # alice has joined once
        name = alice.session.name
        for i in range(P.DMS_PER_WINDOW):
            assert alice.call(P.DM_SEND, {"to": bob.session.name, "text": f"n{i}"})["ok"]
        for _ in range(P.EMOTES_PER_WINDOW):
            assert alice.call(P.EMOTE, {"emote": EMOTE})["ok"]
        # Reconnecting to the other process does not reset the DM allowance
        # (nor the emotes')...
        again, event = join(w.players[1], name)
        assert event.kind == P.WELCOME
        reply = again.call(P.DM_SEND, {"to": bob.session.name, "text": "one more"})
        assert reply["ok"] is False and reply["error"] == P.E_RATE_LIMITED
        reply = again.call(P.EMOTE, {"emote": EMOTE})
        assert reply["ok"] is False and reply["error"] == P.E_RATE_LIMITED
        # ...nor the joins per account: JOINS_MAX in the world, then refused.
        for i in range(P.JOINS_MAX - 2):
            _, event = join(w.players[i % 2], name)
            assert event.kind == P.WELCOME, event
        _, event = join(w.players[0], name)
        assert event.kind == P.ERROR and event.data["code"] == P.E_RATE_LIMITED


def test_with_redis_down_each_process_counts_alone(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2,
                 extra_args=("--login-failures", "2")) as w:
        name = unique_name("guess")
        assert register(w.hosts[0].url, name).status_code == 201
        redis_server.stop(kill=True)
        for host in w.hosts:
            wait_until(lambda: "unreachable" in host.proc.log(), timeout=10)
        for host in w.hosts:  # two each: each process counts its own
            for _ in range(2):
                assert login(host.url, name, "wrong-password").status_code == 401
            assert login(host.url, name).status_code == 429
        log = w.hosts[0].proc.log()
        assert log.count("count on this process alone") == 1
