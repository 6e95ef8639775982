"""Register, log in and connect to a real host; and every way that is refused."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer

from game.core import protocol as P
from game.client.host_process import ROOT
from game.client.net import CONNECT_FAILED, DISCONNECTED, probe
from server.storage import MIGRATIONS

from .conftest import (PASSWORD, SPAWN, db_rows, eventlet_only, post, unique_name,
                       wait_until)
from .support import free_port


def register(url, name, password=PASSWORD):
    return post(url, P.HTTP_REGISTER, {"username": name, "password": password})


def login(url, name, password=PASSWORD):
    return post(url, P.HTTP_LOGIN, {"username": name, "password": password})


def assert_error(reply, status, code):
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "token" not in body
    return body


# -- HTTP ----------------------------------------------------------------------------------
def test_register_answers_201_with_a_token_and_login_200(world_host):
    name = unique_name("reg")
    reply = register(world_host.url, name)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert isinstance(body["token"], str) and len(body["token"]) > 20
    assert body["user"]["name"] == name and isinstance(body["user"]["id"], int)
    assert body["expires_in"] == 24 * 3600

    again = login(world_host.url, name)
    assert again.status_code == 200, again.text
    assert again.json()["user"] == body["user"]
    assert again.json()["token"] != body["token"]


def test_login_is_case_insensitive_and_returns_the_registered_spelling(world_host):
    name = unique_name("Mix")
    assert register(world_host.url, name).status_code == 201
    reply = login(world_host.url, name.upper())
    assert reply.status_code == 200
    assert reply.json()["user"]["name"] == name


def test_wrong_password_and_unknown_user_get_the_same_401(world_host):
    name = unique_name("pw")
    assert register(world_host.url, name).status_code == 201
    wrong = assert_error(login(world_host.url, name, "not-the-password"), 401, "bad_credentials")
    unknown = assert_error(login(world_host.url, unique_name("ghost")), 401, "bad_credentials")
    odd = assert_error(login(world_host.url, "x!", PASSWORD), 401, "bad_credentials")
    assert wrong == unknown == odd


def test_a_taken_name_is_409_regardless_of_case(world_host):
    name = unique_name("Taken")
    assert register(world_host.url, name).status_code == 201
    for variant in (name, name.lower(), name.upper(), name.swapcase()):
        assert_error(register(world_host.url, variant, "another-password"), 409, "name_taken")
    # The original account still has its own password.
    assert login(world_host.url, name).status_code == 200
    assert login(world_host.url, name, "another-password").status_code == 401


@pytest.mark.parametrize("body", [
    {"data": "not json", "headers": {"Content-Type": "application/json"}},
    {"data": "username=abc&password=12345678"},
    {"json": ["name", "password"]},
    {"json": "name"},
    {"json": None},
    {"json": {"username": "someone"}},
    {"json": {"password": "long-enough-pw"}},
    {"json": {"username": 12345, "password": "long-enough-pw"}},
    {"json": {"username": "someone", "password": 12345678}},
], ids=["bad-json", "form", "array", "string", "null", "no-password", "no-username",
        "number-name", "number-password"])
@pytest.mark.parametrize("path", [P.HTTP_REGISTER, P.HTTP_LOGIN])
def test_malformed_bodies_are_400(world_host, path, body):
    assert_error(post(world_host.url, path, **body), 400, "bad_request")


@pytest.mark.parametrize("username, password", [
    ("ab", "long-enough-pw"),
    ("a" * 21, "long-enough-pw"),
    ("has space", "long-enough-pw"),
    ("semi;colon", "long-enough-pw"),
    ("émile", "long-enough-pw"),
    ("", "long-enough-pw"),
    ("valid_name", "short"),
    ("valid_name", "x" * 257),
])
@eventlet_only
def test_bad_names_and_passwords_are_refused_and_create_nothing(world_host, username, password):
    assert_error(register(world_host.url, username, password), 400, "bad_request")
    if username == "valid_name":
        assert login(world_host.url, "valid_name", password).status_code == 401


@eventlet_only
def test_errors_elsewhere_are_json_too(world_host):
    assert_error(post(world_host.url, "/api/nothing-here", {}), 404, "not_found")
    assert_error(requests.get(world_host.url + P.HTTP_REGISTER, timeout=5), 405,
                 "method_not_allowed")
    huge = assert_error(post(world_host.url, P.HTTP_LOGIN, data="x" * 100_000,
                             headers={"Content-Type": "application/json"}), 400, "bad_request")
    assert "too large" in huge["message"]


def test_health_names_the_game_and_mode(world_host):
    body = requests.get(world_host.url + P.HTTP_HEALTH, timeout=5).json()
    assert body["game"] == "pixel-commons"
    assert body["async_mode"] == world_host.async_mode


# -- the game connection ---------------------------------------------------------------------
def try_connect(world_host, players, auth):
    """Connect with ``auth``; returns (the client, the reason the host gave)."""
    client = players.client()
    world_host.in_background(lambda: client.sio.connect(
        world_host.url, auth=auth, transports=["websocket"], wait_timeout=10))
    event = client.wait_for(CONNECT_FAILED, 10)
    assert not client.connected
    # The attempt itself ends a little later (closing the refused socket).
    return event.data["message"]


def test_a_connection_without_a_token_is_refused_with_a_reason(world_host, players):
    assert try_connect(world_host, players, {}).startswith(P.E_AUTH_REQUIRED)
    assert try_connect(world_host, players, {"token": ""}).startswith(P.E_AUTH_REQUIRED)
    assert try_connect(world_host, players, {"token": 42}).startswith(P.E_AUTH_REQUIRED)


def test_a_forged_token_is_refused(world_host, players):
    name = unique_name("forge")
    real = register(world_host.url, name).json()
    forged = URLSafeTimedSerializer(b"k" * 64, salt="pixel-commons-session").dumps({"s": "x"})
    tampered = real["token"][:-3] + ("AAA" if not real["token"].endswith("AAA") else "BBB")
    for token in (forged, tampered, "not-a-token", "x" * 600):
        reason = try_connect(world_host, players, {"token": token})
        assert reason.startswith(P.E_INVALID_TOKEN), reason
        assert "not valid" in reason


@eventlet_only
def test_a_logged_out_token_no_longer_connects(world_host, players):
    alice = players(join=True)
    token = alice.session.token
    assert post(world_host.url, P.HTTP_LOGOUT, headers={"Authorization": f"Bearer {token}"},
                json=None).status_code == 200
    ended = alice.wait_for(P.SESSION_ENDED)
    assert ended.data["reason"] == P.END_LOGGED_OUT
    alice.wait_for(DISCONNECTED)
    reason = try_connect(world_host, players, {"token": token})
    assert reason.startswith(P.E_INVALID_TOKEN) and "logged out" in reason
    assert_error(post(world_host.url, P.HTTP_LOGOUT, headers={"Authorization": f"Bearer {token}"},
                      json=None), 401, P.E_INVALID_TOKEN)


def test_a_valid_token_connects_and_joins_at_the_spawn(world_host, players):
    alice = players()
    welcome = alice.welcome
    you = welcome["you"]
    if any((p["x"], p["y"]) == SPAWN for p in welcome["players"]):
        # A player from an earlier test still stands there: the host puts us beside.
        assert abs(you["x"] - SPAWN[0]) + abs(you["y"] - SPAWN[1]) == 32
    else:
        assert (you["x"], you["y"]) == SPAWN
    assert welcome["you"]["name"] == alice.session.name
    assert welcome["you"]["id"] == alice.session.user_id
    assert welcome["unread"] == {}
    assert welcome["world"]["width"] == 640 and welcome["world"]["height"] == 384
    assert alice.call(P.PING, {"t": 5})["t"] == 5


def test_a_new_login_takes_over_and_the_old_socket_is_told_why(world_host, players):
    name = unique_name("twice")
    first = players(name)
    watcher = players()
    second = players(name)
    ended = first.wait_for(P.SESSION_ENDED)
    assert ended.data["reason"] == P.END_REPLACED
    assert "somewhere else" in ended.data["message"]
    first.wait_for(DISCONNECTED)
    assert not first.connected
    assert second.connected
    assert second.welcome["you"]["id"] == first.welcome["you"]["id"]
    # Others saw the old presence leave and the new one arrive, and nobody
    # sees the player twice.
    uid = first.session.user_id
    watcher.wait_left(uid)
    watcher.wait_joined(uid)
    third = players()
    assert [p["id"] for p in third.welcome["players"]].count(uid) == 1
    # The new session keeps working.
    assert second.call(P.PING, {})["ok"] is True


@eventlet_only
def test_join_is_refused_twice_on_one_connection(world_host, players):
    alice = players()
    reply = alice.call(P.JOIN, {})
    assert reply["ok"] is False and reply["error"] == P.E_BAD_PAYLOAD
    assert alice.wait_for(P.ERROR).data["event"] == P.JOIN
    assert alice.connected


# -- the host program itself -------------------------------------------------------------
def host_env(tmp_path) -> dict:
    """An environment whose user data directory is inside ``tmp_path``."""
    return dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path / "home"),
                COLUMNS="300", PYTHONUNBUFFERED="1")


def test_help_explains_every_flag_with_its_default(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "host.py"), "--help"], env=host_env(tmp_path),
                         capture_output=True, text=True, timeout=30, check=True).stdout
    usage, _, options = out.partition("options:")
    flags = re.findall(r"\[(--[a-z-]+)", usage)
    for required in ("--host", "--port", "--db", "--tick-rate", "--async-mode"):
        assert required in flags
    lines = options.splitlines()
    for flag in flags:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith(flag))
        block = [lines[start]]
        for line in lines[start + 1:]:
            if line.strip().startswith("-"):
                break
            block.append(line)
        text = " ".join(block)
        assert "(default:" in text, flag
        assert len(text.split()) > 4, f"{flag} has no explanation"
    data_db = tmp_path / "data" / "pixel-commons" / "world.db"
    assert f"(default: {data_db})" in options
    assert "(default: 127.0.0.1)" in options and "(default: 5000)" in options
    assert "(default: 20.0)" in options and "(default: eventlet)" in options


def test_first_run_creates_the_database_schema_and_key_in_the_user_data_dir(tmp_path,
                                                                               test_map_path):
    port = free_port()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.Popen([sys.executable, str(ROOT / "host.py"), "--port", str(port),
                             "--map", str(test_map_path), "--log-level", "WARNING"],
                            cwd=cwd, env=host_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or probe(url, timeout=0.5), timeout=30)
        assert proc.poll() is None, proc.stderr.read().decode()
        assert register(url, "first_player").status_code == 201
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
    db = tmp_path / "data" / "pixel-commons" / "world.db"
    assert db.exists()
    assert list(cwd.iterdir()) == []
    assert db_rows(db, "PRAGMA user_version") == [(len(MIGRATIONS),)]
    assert db_rows(db, "SELECT name FROM users") == [("first_player",)]
    key = db.with_name("world.db.key")
    assert len(key.read_bytes().strip()) >= 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_passwords_are_hashed_in_one_lane_and_older_hashes_are_redone_at_login(world_host):
    """Four-lane argon2 runs four threads per hash and takes every core of a
    small host for a moment; the host hashes in one lane at the same cost."""
    from argon2 import PasswordHasher

    name = unique_name("lanes")
    uid = register(world_host.url, name).json()["user"]["id"]
    [(stored,)] = db_rows(world_host.db_path, "SELECT pw_hash FROM users WHERE id = ?", (uid,))
    assert stored.startswith("$argon2id$") and ",p=1$" in stored

    four_lanes = PasswordHasher(parallelism=4).hash(PASSWORD)
    db_rows(world_host.db_path, "UPDATE users SET pw_hash = ? WHERE id = ?", (four_lanes, uid))
    assert login(world_host.url, name).status_code == 200
    [(redone,)] = db_rows(world_host.db_path, "SELECT pw_hash FROM users WHERE id = ?", (uid,))
    assert redone != four_lanes and ",p=1$" in redone
    assert login(world_host.url, name).status_code == 200
    assert login(world_host.url, name, "not-the-password").status_code == 401
