"""--invite-only and --no-registration over HTTP, and /api/health saying which."""
from __future__ import annotations

import pytest
import requests

from game.core import protocol as P
from server.config import ASYNC_MODES

from .conftest import PASSWORD, post, start_world_host, unique_name
from .test_mod_admin import admin


@pytest.fixture(params=ASYNC_MODES)
def mode(request) -> str:
    return request.param


def register(url: str, name: str):
    return post(url, P.HTTP_REGISTER, {"username": name, "password": PASSWORD})


def test_invite_only(mode, tmp_path, test_map_path):
    world = start_world_host(tmp_path / "world.db", test_map_path, mode,
                             ("--invite-only", "--owner", "boss"))
    try:
        health = requests.get(world.url + P.HTTP_HEALTH, timeout=5).json()
        assert health["registration"] == P.REGISTRATION_INVITE_ONLY
        stranger = register(world.url, unique_name("s"))
        assert stranger.status_code == 403 and stranger.json()["error"] == P.E_NOT_INVITED
        assert "invitation" in stranger.json()["message"]
        assert register(world.url, "boss").status_code == 201  # the owner needs no invite
        assert admin(world.db_path, "invite", "Carol").returncode == 0
        assert register(world.url, "carol").status_code == 201  # any case
        assert admin(world.db_path, "invite", "dave").returncode == 0
        assert admin(world.db_path, "uninvite", "dave").returncode == 0
        assert register(world.url, "dave").status_code == 403
        # Logging in is not registering: existing accounts still come in.
        assert post(world.url, P.HTTP_LOGIN, {"username": "carol", "password": PASSWORD}).ok
    finally:
        world.stop()


def test_no_registration(mode, tmp_path, test_map_path):
    world = start_world_host(tmp_path / "world.db", test_map_path, mode, ("--no-registration",))
    try:
        health = requests.get(world.url + P.HTTP_HEALTH, timeout=5).json()
        assert health["registration"] == P.REGISTRATION_CLOSED
        refused = register(world.url, unique_name("s"))
        assert refused.status_code == 403
        assert refused.json()["error"] == P.E_REGISTRATION_CLOSED
        assert "no new accounts" in refused.json()["message"]
    finally:
        world.stop()


def test_registration_flags_exclude_each_other():
    from host import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--invite-only", "--no-registration"])
    assert parse_args(["--owner", "boss"]).owner == "boss"
    with pytest.raises(SystemExit):
        parse_args(["--owner", "no spaces allowed"])
