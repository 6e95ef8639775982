"""Hardening: who gets in.  Login throttling, foreign origins, and the life of
a session token (logout, expiry, never written to the log)."""
from __future__ import annotations

import http.client
import json
import time

import pytest
import requests
import websocket

from game.core import protocol as P
from game.client.host_process import HostProcess
from server.accounts import LoginThrottle

from .helpers_wire import PASSWORD, RawClient, register, register_many


def login_from(url: str, address: str, username: str, password: str) -> tuple[int, dict]:
    """POST /api/login from another loopback address (Linux answers all of 127/8)."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(address, 0))
    try:
        conn.request("POST", P.HTTP_LOGIN, json.dumps({"username": username, "password": password}),
                     {"Content-Type": "application/json"})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"{}")
    finally:
        conn.close()


# -- 6b. login throttling -----------------------------------------------------------
def test_login_throttle_counts_failures_in_a_sliding_minute():
    throttle = LoginThrottle(max_failures=5, window_s=60.0)
    keys = ["user:alice", "addr:10.0.0.1"]
    for i in range(5):
        assert throttle.blocked_for(keys, now=100.0 + i) == 0
        throttle.record_failure(keys, now=100.0 + i)
    assert throttle.blocked_for(keys, now=105.0) == pytest.approx(55.0)
    assert throttle.blocked_for(["user:alice"], now=105.0) > 0
    assert throttle.blocked_for(["user:bob", "addr:10.0.0.2"], now=105.0) == 0
    assert throttle.blocked_for(keys, now=160.5) == 0  # the first failure has aged out


@pytest.mark.slow
def test_logins_are_throttled_per_account_and_per_address(tmp_path):
    with HostProcess(tmp_path / "world.db") as host:
        register_many(host.url, ["thr_alice", "thr_bob"])
        limit = P.LOGIN_FAILURES_MAX

        # A wrong password and an unknown user get the very same answer.
        wrong = login_from(host.url, "127.0.0.2", "thr_alice", "not-the-password")
        unknown = login_from(host.url, "127.0.0.3", "thr_nobody", "not-the-password")
        assert wrong == unknown == (401, {"error": P.E_BAD_CREDENTIALS,
                                          "message": "wrong username or password"})

        # Per account: failures from one address lock the account everywhere.
        for _ in range(limit - 1):
            assert login_from(host.url, "127.0.0.2", "thr_alice", "not-the-password")[0] == 401
        status, body = login_from(host.url, "127.0.0.4", "thr_alice", PASSWORD)
        assert status == 429 and body["error"] == P.E_THROTTLED
        assert login_from(host.url, "127.0.0.4", "thr_bob", PASSWORD)[0] == 200

        # Per address: failures on many names lock that address for every name,
        # and a throttled unknown name looks like a throttled real one.
        for i in range(limit):
            assert login_from(host.url, "127.0.0.5", f"thr_ghost{i}", "nope-nope")[0] == 401
        status, body = login_from(host.url, "127.0.0.5", "thr_bob", PASSWORD)
        assert status == 429 and body["error"] == P.E_THROTTLED
        assert login_from(host.url, "127.0.0.5", "thr_ghost0", PASSWORD)[0] == 429
        assert login_from(host.url, "127.0.0.6", "thr_bob", PASSWORD)[0] == 200


# -- 9. cross-site ---------------------------------------------------------------
def test_foreign_origins_are_refused_and_the_allowlist_is_honoured(tmp_path):
    friend = "http://friends.example:8080"
    with HostProcess(tmp_path / "world.db", extra_args=("--allowed-origin", friend)) as host:
        session = register(host.url, "origin_ann")
        own = host.url

        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            RawClient(host.url, origin="http://evil.example")
        assert refused.value.status_code == 400
        polling = requests.get(host.url + "/socket.io/?EIO=4&transport=polling",
                               headers={"Origin": "http://evil.example"}, timeout=5)
        assert polling.status_code == 400

        for origin in (own, friend, None):  # None: a program that sends no Origin
            client = RawClient(host.url, origin=origin, send_origin=origin is not None)
            assert client.connect(session["token"]), (origin, client.refused)
            client.close()

        body = {"username": "origin_ann", "password": PASSWORD}
        evil = requests.post(host.url + P.HTTP_LOGIN, json=body,
                             headers={"Origin": "http://evil.example"}, timeout=10)
        assert evil.status_code == 403 and evil.json()["error"] == P.E_FORBIDDEN_ORIGIN
        for origin in (own, friend):
            ok = requests.post(host.url + P.HTTP_LOGIN, json=body, headers={"Origin": origin},
                               timeout=10)
            assert ok.status_code == 200


# -- 10. token lifecycle -------------------------------------------------------------
@pytest.mark.slow
def test_logout_revokes_expired_tokens_are_refused_and_tokens_stay_out_of_the_log(tmp_path):
    ttl = 2
    with HostProcess(tmp_path / "world.db", log_level="DEBUG",
                     extra_args=("--token-ttl", str(ttl))) as host:
        tokens = []

        # Log out over HTTP: the live connection is ended, the token is dead.
        first = register(host.url, "tok_tim")
        tokens.append(first["token"])
        client = RawClient(host.url)
        client.join(first)
        reply = requests.post(host.url + P.HTTP_LOGOUT,
                              headers={"Authorization": f"Bearer {first['token']}"}, timeout=10)
        assert reply.status_code == 200
        ended = client.wait_for(P.SESSION_ENDED, 5)
        assert ended["reason"] == P.END_LOGGED_OUT
        assert client.read_until_closed(5)
        assert_refused(host.url, first["token"], "logged out")
        again = requests.post(host.url + P.HTTP_LOGOUT,
                              headers={"Authorization": f"Bearer {first['token']}"}, timeout=10)
        assert again.status_code == 401

        # Log out with the event: same result.
        second = register(host.url, "tok_tim")
        tokens.append(second["token"])
        client = RawClient(host.url)
        client.join(second)
        client.emit(P.LOGOUT, {})
        assert client.wait_for(P.SESSION_ENDED, 5)["reason"] == P.END_LOGGED_OUT
        assert client.read_until_closed(5)
        assert_refused(host.url, second["token"], "logged out")

        # A forged token (changed signature) and a token from nowhere.
        third = register(host.url, "tok_tim")
        tokens.append(third["token"])
        assert_refused(host.url, third["token"][:-2] + ("AA" if third["token"][-2:] != "AA"
                                                        else "BB"), "not valid")
        assert_refused(host.url, "x" * 40, "not valid")
        assert_refused(host.url, "y" * (P.TOKEN_MAX_CHARS + 1), "not valid")

        # Expired: the unused third token outlives its TTL.
        client = RawClient(host.url)
        assert client.connect(third["token"])
        client.close()
        time.sleep(ttl + 1.2)
        assert_refused(host.url, third["token"], "expired")

        log = host.log()
        full_log = host.log_path.read_text(errors="replace")
        assert "joined at" in full_log, log  # the log is really being written
        for token in tokens:
            assert token not in full_log
            assert token.split(".")[0] not in full_log
        assert PASSWORD not in full_log


def assert_refused(url: str, token: str, why: str) -> None:
    client = RawClient(url)
    try:
        assert not client.connect(token)
        assert client.refused and why in client.refused["message"], client.refused
    finally:
        client.close()
