"""Security, round two: what an outside attacker got through.

Login and registration limits that hold under concurrency and behind a
trusted proxy, a speed budget that survives reconnects, a join limit per
account, Host header checks against DNS rebinding, private statistics, and
DM text that cannot render as something other than what was sent.
"""
from __future__ import annotations

import http.client
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import websocket

from game.core import protocol as P
from game.client.host_process import HostProcess
from game.core.rules import MOVE_BUDGET_MAX_S, SPEED_SLACK, WALK_SPEED

from .conftest import SPAWN, unique_name
from .helpers_wire import PASSWORD, RawClient, register, ws_url

WRONG = "not-the-password"


def http_call(url: str, method: str, path: str, body: dict | None = None, *,
              source: str = "127.0.0.1", headers: dict | None = None,
              host_header: str | None = None) -> tuple[int, dict]:
    """One HTTP request from a chosen loopback address, with chosen headers."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=(source, 0))
    try:
        conn.putrequest(method, path, skip_host=host_header is not None)
        if host_header is not None:
            conn.putheader("Host", host_header)
        data = json.dumps(body).encode() if body is not None else b""
        for name, value in {**({"Content-Type": "application/json"} if body is not None else {}),
                            **(headers or {})}.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        reply = conn.getresponse()
        raw = reply.read()
        try:
            return reply.status, json.loads(raw or b"{}")
        except ValueError:
            return reply.status, {"raw": raw.decode(errors="replace")}
    finally:
        conn.close()


def login(url: str, name: str, password: str, **kwargs) -> tuple[int, dict]:
    return http_call(url, "POST", P.HTTP_LOGIN, {"username": name, "password": password}, **kwargs)


def in_parallel(fn, count: int) -> list:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: fn(), range(count)))


# -- 1. login and registration limits under concurrency ------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_parallel_wrong_logins_are_counted_as_they_arrive(tmp_path, mode):
    with HostProcess(tmp_path / "world.db", async_mode=mode) as host:
        register(host.url, "par_victim")
        limit = P.LOGIN_FAILURES_MAX
        # Eleven guesses at once from one address: only LOGIN_FAILURES_MAX are
        # hashed, the rest are refused at once; then the right password is too.
        answers = in_parallel(lambda: login(host.url, "par_victim", WRONG, source="127.0.0.2"), 11)
        statuses = sorted(status for status, _ in answers)
        assert statuses == [401] * limit + [429] * (11 - limit), statuses
        status, body = login(host.url, "par_victim", PASSWORD, source="127.0.0.3")
        assert (status, body["error"]) == (429, P.E_THROTTLED)

        # Thirty at once on thirty names from one address: the address limit holds.
        names = iter(range(30))
        answers = in_parallel(lambda: login(host.url, f"par_ghost{next(names)}", WRONG,
                                            source="127.0.0.4"), 30)
        assert sorted(s for s, _ in answers) == [401] * limit + [429] * (30 - limit)

        # A right password is not a failure: it does not use up the allowance.
        register(host.url, "par_ok")
        for _ in range(limit + 2):
            assert login(host.url, "par_ok", PASSWORD, source="127.0.0.5")[0] == 200

        # A household behind one address logging in at once: attempts over the
        # limit wait for the outcome of the ones being checked, and all get in.
        for i in range(12):
            register(host.url, f"par_home{i}")
        names = iter(range(12))
        answers = in_parallel(lambda: login(host.url, f"par_home{next(names)}", PASSWORD,
                                            source="127.0.0.6"), 12)
        assert [s for s, _ in answers] == [200] * 12, answers


def test_registrations_are_limited_per_address(tmp_path):
    with HostProcess(tmp_path / "world.db", lab=False) as host:
        names = iter(range(100))

        def attempt(source: str) -> tuple[str, int, dict]:
            name = f"reg_{next(names)}"
            status, body = http_call(host.url, "POST", P.HTTP_REGISTER,
                                     {"username": name, "password": PASSWORD}, source=source)
            return name, status, body

        answers = in_parallel(lambda: attempt("127.0.0.2"), P.REGISTRATIONS_MAX + 5)
        assert sorted(s for _, s, _ in answers) == [201] * P.REGISTRATIONS_MAX + [429] * 5
        name, _, refused = next(a for a in answers if a[1] == 429)
        assert refused["error"] == P.E_THROTTLED and "new accounts" in refused["message"]
        assert login(host.url, name, PASSWORD, source="127.0.0.9")[0] == 401  # not created
        assert attempt("127.0.0.3")[1] == 201  # another address is not affected


# -- 8. trusted proxies -------------------------------------------------------------
def test_forwarded_for_is_believed_from_trusted_proxies_only(tmp_path):
    with HostProcess(tmp_path / "world.db",
                     extra_args=("--trusted-proxy", "127.0.0.2")) as host:
        register(host.url, "prx_bob")
        limit = P.LOGIN_FAILURES_MAX

        def via_proxy(client: str, name: str, password: str) -> int:
            return login(host.url, name, password, source="127.0.0.2",
                         headers={"X-Forwarded-For": f"198.51.100.77, {client}"})[0]

        # One guesser behind the proxy is locked out; everyone else behind it is not.
        for i in range(limit):
            assert via_proxy("203.0.113.5", f"prx_ghost{i}", WRONG) == 401
        assert via_proxy("203.0.113.5", "prx_bob", PASSWORD) == 429
        assert via_proxy("203.0.113.6", "prx_bob", PASSWORD) == 200

        # An untrusted client cannot pick its address with the header.
        for i in range(limit):
            assert login(host.url, f"prx_ghost{i}", WRONG, source="127.0.0.3",
                         headers={"X-Forwarded-For": f"192.0.2.{i}"})[0] == 401
        assert login(host.url, "prx_bob", PASSWORD, source="127.0.0.3",
                     headers={"X-Forwarded-For": "192.0.2.200"})[0] == 429


# -- 6. Host header and stats -------------------------------------------------------
@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_foreign_host_names_are_refused_on_loopback(tmp_path, mode):
    with HostProcess(tmp_path / "world.db", async_mode=mode,
                     extra_args=("--public-name", "game.example.com")) as host:
        port = host.port
        evil = {"host_header": f"evil.example:{port}",
                "headers": {"Origin": f"http://evil.example:{port}"}}
        for method, path, body in (("GET", P.HTTP_HEALTH, None),
                                   ("POST", P.HTTP_REGISTER, {"username": "dns_rebind",
                                                              "password": PASSWORD}),
                                   ("GET", "/socket.io/?EIO=4&transport=polling", None)):
            status, answer = http_call(host.url, method, path, body, **evil)
            assert (status, answer.get("error")) == (403, P.E_FORBIDDEN_HOST), (path, answer)
        assert login(host.url, "dns_rebind", PASSWORD)[0] == 401  # nothing was created
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(ws_url(host.url), timeout=5,
                                        host=f"evil.example:{port}", suppress_origin=True)
        assert refused.value.status_code == 403

        for name in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}",
                     "game.example.com", f"GAME.example.com:{port}"):
            status, answer = http_call(host.url, "GET", P.HTTP_HEALTH, host_header=name)
            assert status == 200 and answer["ok"], name


def test_stats_are_private_unless_the_host_shares_them(tmp_path):
    with HostProcess(tmp_path / "world.db", lab=False,
                     extra_args=("--stats-token", "monitor-me")) as host:
        assert http_call(host.url, "GET", P.HTTP_HEALTH)[0] == 200
        status, body = http_call(host.url, "GET", P.HTTP_STATS)
        assert (status, body["error"]) == (403, P.E_FORBIDDEN)
        wrong = http_call(host.url, "GET", P.HTTP_STATS,
                          headers={"Authorization": "Bearer monitor-you"})
        assert wrong[0] == 403
        status, body = http_call(host.url, "GET", P.HTTP_STATS,
                                 headers={"Authorization": "Bearer monitor-me"})
        assert status == 200 and "ticks" in body and "closed_by_guard" in body
    with HostProcess(tmp_path / "public.db", lab=False, extra_args=("--public-stats",)) as host:
        status, body = http_call(host.url, "GET", P.HTTP_STATS)
        assert status == 200 and "ticks" in body


# -- 2. the speed budget belongs to the player ----------------------------------------
def _position(welcome: dict) -> tuple[float, float]:
    return welcome["you"]["x"], welcome["you"]["y"]


@pytest.mark.parametrize("world_host", ["eventlet", "threading"], indirect=True)
def test_reconnecting_and_taking_over_do_not_refill_the_speed_budget(world_host):
    session = register(world_host.url, unique_name("spd"))
    jump = WALK_SPEED * MOVE_BUDGET_MAX_S - 1.0  # a full budget's worth, minus a hair
    start = time.monotonic()
    walked = 0.0
    older = None
    client = RawClient(world_host.url)
    where = _position(client.join(session))
    assert where == SPAWN
    for cycle in range(6):
        target = (where[0], SPAWN[1] + (jump if where[1] == SPAWN[1] else 0.0))
        client.emit(P.MOVE, {"seq": 1, "x": target[0], "y": target[1]})
        client.call(P.PING, {})  # the move has been handled
        # Every other cycle drops the connection; the others take the account
        # over from a new connection while the old one is still open.
        if cycle % 2 == 0:
            client.close()
        else:
            older = client
        client = RawClient(world_host.url)
        now = _position(client.join(session))
        walked += math.dist(where, now)
        where = now
        if older is not None:
            older.close()
            older = None
    elapsed = time.monotonic() - start
    client.close()
    allowed = WALK_SPEED * MOVE_BUDGET_MAX_S + WALK_SPEED * SPEED_SLACK * elapsed + 1.0
    assert walked <= allowed, (walked, allowed, elapsed)
    assert walked >= jump  # the first jump was fine


@pytest.mark.parametrize("world_host", ["eventlet", "threading"], indirect=True)
def test_joins_per_account_are_rate_limited(world_host):
    session = register(world_host.url, unique_name("joi"))
    for _ in range(P.JOINS_MAX):
        client = RawClient(world_host.url)
        client.join(session)
        client.close()
    client = RawClient(world_host.url)
    assert client.connect(session["token"])
    answer = client.call(P.JOIN, {})
    assert answer["ok"] is False and answer["error"] == P.E_RATE_LIMITED, answer
    assert client.wait_for(P.ERROR)["code"] == P.E_RATE_LIMITED
    assert not client.named(P.WELCOME)
    client.close()


@pytest.mark.parametrize("world_host", ["eventlet"], indirect=True)
def test_an_account_registered_after_a_deletion_starts_with_its_own_joins(world_host):
    """The newest account deleted after joining: the next one registered
    neither gets its id nor inherits its joins."""
    gone = register(world_host.url, unique_name("gon"))
    for _ in range(P.JOINS_MAX):
        client = RawClient(world_host.url)
        client.join(gone)
        client.close()
    reply = requests.post(world_host.url + P.HTTP_ACCOUNT_DELETE, timeout=30, json={
        "username": gone["user"]["name"], "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    fresh = register(world_host.url, unique_name("frs"))
    assert fresh["user"]["id"] > gone["user"]["id"]
    client = RawClient(world_host.url)
    assert client.join(fresh)["you"]["id"] == fresh["user"]["id"]
    client.close()


# -- 7. text that lies ---------------------------------------------------------------
LYING_TEXTS = ["del\x7fhere", "nel\x85here", "csi\x9b31m", "esc\x1b[2J", "admin\u202etxt.exe",
               "zero\u200bwidth", "word\u2060joiner", "bom\ufeffhere", "iso\u2066late\u2069",
               "mark\u200fhere", "soft\u00adhyphen", "tag\U000E0041s", "line\u2028sep",
               "filler\u3164", "lat\u200din"]
HONEST_TEXTS = ["tab\tand\nnewline", "\U0001F469\u200d\U0001F4BB", "\U0001F3F3\ufe0f\u200d\U0001F308",
                "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "caf\u00e9 \u2764\ufe0f"]


@pytest.mark.parametrize("world_host", ["eventlet", "threading"], indirect=True)
def test_dm_text_with_controls_or_invisible_characters_is_refused(world_host):
    alice = register(world_host.url, unique_name("txa"))
    bob = register(world_host.url, unique_name("txb"))
    client = RawClient(world_host.url)
    client.join(alice)
    to = bob["user"]["name"]
    for text in LYING_TEXTS:
        answer = client.call(P.DM_SEND, {"to": to, "text": text})
        assert answer["ok"] is False and answer["error"] == P.E_BAD_PAYLOAD, (text, answer)
    for text in HONEST_TEXTS:
        answer = client.call(P.DM_SEND, {"to": to, "text": text})
        assert answer["ok"] is True and answer["message"]["text"] == text, (text, answer)
    history = client.call(P.DM_HISTORY, {"peer": to})
    assert [m["text"] for m in history["messages"]] == HONEST_TEXTS
    client.close()


def test_visible_text_shows_what_the_rules_refuse():
    assert P.visible_text("plain words\tand\nlines") == "plain words\tand\nlines"
    assert P.visible_text("admin\u202etxt.exe") == "admin[U+202E]txt.exe"
    assert P.visible_text("a\x7fb\x85c\u200bd") == "a[U+007F]b[U+0085]c[U+200B]d"
    assert P.visible_text("lone \ud800 half") == "lone \ufffd half"
    for text in HONEST_TEXTS:
        assert P.visible_text(text) == text
    for text in LYING_TEXTS:
        shown = P.visible_text(text)
        assert "[U+" in shown and not P.hidden_characters(shown)
    assert P.visible_text(None) == ""


def test_the_chat_draws_stored_text_through_visible_text(monkeypatch):
    import pygame

    from game.client import theme
    from game.client.widgets import chat

    pygame.init()  # left running, like the other client tests: fonts are cached
    pygame.display.set_mode((1024, 720))
    seen: list[str] = []
    real_wrap = theme.wrap
    monkeypatch.setattr(theme, "wrap", lambda text, font, width: seen.append(text)
                        or real_wrap(text, font, width))
    panel = chat.ChatPanel(theme.make_manager((1024, 720)), "me", lambda *a: None)
    panel.conversation.laid_out({"id": 1, "from": "eve", "to": "me", "text": "pay\u202eusd001",
                     "sent_at": 0})
    assert seen == ["pay[U+202E]usd001"]


def test_client_address_walks_forwarded_for_from_the_right():
    from server.config import HostConfig

    config = HostConfig(trusted_proxies=("127.0.0.1", "10.0.0.0/8"))

    def address(remote: str, forwarded: str | None = None) -> str:
        environ = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            environ["HTTP_X_FORWARDED_FOR"] = forwarded
        return config.client_address(environ)

    assert address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3") == "203.0.113.9"
    assert address("::ffff:127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert address("127.0.0.1") == "127.0.0.1"
    assert address("127.0.0.1", "not-an-address") == "127.0.0.1"
    assert address("127.0.0.1", "10.0.0.7") == "10.0.0.7"  # only proxies: the first one
    assert address("192.0.2.1", "203.0.113.9") == "192.0.2.1"  # not a trusted peer
    assert HostConfig().client_address({"REMOTE_ADDR": "127.0.0.1",
                                        "HTTP_X_FORWARDED_FOR": "203.0.113.9"}) == "127.0.0.1"


def test_host_names_a_host_answers_to():
    from server.config import HostConfig

    loopback = HostConfig(public_names=("Game.Example.org",))
    network = HostConfig(host="0.0.0.0")
    named_network = HostConfig(host="0.0.0.0", public_names=("game.example.org",))
    for header, on_loopback, on_network, on_named_network in (
            ("127.0.0.1:5000", True, True, True), ("localhost", True, True, True),
            ("a.localhost:80", True, True, True), ("[::1]:5000", True, True, True),
            ("game.example.org:443", True, True, True), ("GAME.example.org.", True, True, True),
            ("evil.example", False, True, False), ("192.168.1.20:5000", False, True, True),
            ("[::1]junk", False, False, False)):
        environ = {"HTTP_HOST": header}
        assert loopback.host_allowed(environ) is on_loopback, header
        assert network.host_allowed(environ) is on_network, header
        assert named_network.host_allowed(environ) is on_named_network, header


# -- what the document now says the host does ----------------------------------------
@pytest.mark.parametrize("world_host", ["eventlet", "threading"], indirect=True)
def test_documented_edges_second_connect_and_seq_as_a_number(world_host):
    session = register(world_host.url, unique_name("doc"))
    client = RawClient(world_host.url)
    you = client.join(session)["you"]
    first_sid = client.sid
    # A second CONNECT on the same Engine.IO connection is refused; the first
    # session carries on.
    client.sid, client.refused = None, None
    client.send_raw("40" + json.dumps({"token": session["token"]}))
    while client.refused is None:
        assert client.pump(5.0), "no answer to the second CONNECT"
    assert client.refused == "Unable to connect" and client.sid is None
    assert client.call(P.PING, {"t": 1})["ok"] is True
    assert not client.named(P.SESSION_ENDED)
    # seq must be a JSON integer literal: 40.0 and 1e2 are numbers, not integers.
    for literal in ("40.0", "1e2"):
        client.send_raw('42["move",{"seq":%s,"x":%s,"y":%s}]' % (literal, you["x"], you["y"] + 4))
        correction = client.wait_for(P.CORRECTION, match=lambda d: d["reason"] == "bad_payload")
        assert correction["seq"] is None and (correction["x"], correction["y"]) == (you["x"], you["y"])
        client.received.clear()
    assert first_sid is not None
    client.close()
