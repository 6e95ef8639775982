"""Keeping order against a host built in this process: who is the owner
(--owner or the first account), payload refusals of the moderator events,
the console as an actor, the sweep that ends mutes, and an action whose
audit row cannot be written changing nothing."""
from __future__ import annotations

import logging
import time

import pytest

from game.core import protocol as P
from server import storage as S
from server.config import HostConfig
from server.moderation import CONSOLE

from .conftest import PASSWORD, db_rows
from .test_handlers_inprocess import InProcessHost, emit, errors, received

pytestmark = pytest.mark.timeout(60)


def make_host(tmp_path, test_map_path, owner: str | None = None) -> InProcessHost:
    config = HostConfig(db_path=tmp_path / "world.db", map_path=test_map_path, port=0,
                        async_mode="threading", registrations_per_minute=1000,
                        login_failures_per_minute=1000)
    if owner is not None:
        config.owner = owner  # what host.py --owner sets
    return InProcessHost(config)


def close(host: InProcessHost) -> None:
    host.close()
    host.host.listener.close()


def joined(host: InProcessHost, name: str, new: bool = True):
    if new:
        token = host.register(name)
    else:
        reply = host.http.post(P.HTTP_LOGIN, json={"username": name, "password": PASSWORD})
        token = reply.json["token"]
    client = host.connect(token)
    client.emit(P.JOIN, {})
    client.welcome = received(client, P.WELCOME)[0]
    return client


@pytest.fixture
def world(tmp_path, test_map_path):
    host = make_host(tmp_path, test_map_path)
    yield host
    close(host)


def test_the_first_account_of_a_new_world_is_the_owner(world):
    first, second = joined(world, "first"), joined(world, "second")
    assert first.welcome["you"]["role"] == P.ROLE_OWNER
    assert first.welcome["can"] == list(P.OWNER_ACTIONS)
    assert second.welcome["you"]["role"] == P.ROLE_PLAYER and second.welcome["can"] == []
    assert {p["name"]: p["role"] for p in second.welcome["players"]} == {"first": "owner"}


def test_owner_names_the_owner_and_takes_it_from_the_first_account(tmp_path, test_map_path,
                                                                   caplog):
    host = make_host(tmp_path, test_map_path)
    try:
        joined(host, "first")
    finally:
        close(host)
    with caplog.at_level(logging.INFO, logger="server.moderation"):
        host = make_host(tmp_path, test_map_path, owner="Chosen")
    try:
        assert "owner: Chosen (not registered yet" in caplog.text
        assert joined(host, "first", new=False).welcome["you"]["role"] == P.ROLE_PLAYER
        assert joined(host, "chosen").welcome["you"]["role"] == P.ROLE_OWNER
    finally:
        close(host)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="server.moderation"):
        close(make_host(tmp_path, test_map_path))
    assert "owner: chosen" in caplog.text
    assert db_rows(tmp_path / "world.db", "SELECT name, role FROM users ORDER BY id") == [
        ("first", "player"), ("chosen", "owner")]


@pytest.mark.parametrize("event,payload,words", [
    (P.MOD_KICK, {"reason": "x"}, "'name'"),
    (P.MOD_KICK, {"name": "bob", "why": "x"}, "unknown field(s): why"),
    (P.MOD_KICK, {"name": "bob", "reason": 5}, "'reason' must be a string"),
    (P.MOD_KICK, {"name": "bob", "reason": "a\u202eb"}, "'reason' contains invisible"),
    (P.MOD_MUTE, {"name": "bob"}, "'minutes' is required"),
    (P.MOD_MUTE, {"name": "bob", "minutes": None}, "'minutes' must be a number"),
    (P.MOD_MUTE, {"name": "bob", "minutes": True}, "'minutes' must be a number"),
    (P.MOD_MUTE, {"name": "bob", "minutes": 1 / 120}, "'minutes' must be between"),
    (P.MOD_MUTE, {"name": "bob", "minutes": P.MUTE_MINUTES_MAX + 1}, "'minutes' must be between"),
    (P.MOD_BAN, {"name": "bob", "minutes": -1}, "'minutes' must be between"),
    (P.MOD_ANNOUNCE, {}, "'text' must be a string"),
    (P.MOD_ANNOUNCE, {"text": "x" * (P.ANNOUNCEMENT_TEXT_MAX + 1)}, "longer than 300"),
    (P.MOD_LIST, {"all": True}, "unknown field(s): all"),
    (P.MOD_AUDIT, {"before_id": 0}, "'before_id' must be between"),
    (P.MOD_SETTINGS, {"moderators_see_addresses": 1}, "must be true or false"),
])
def test_a_bad_payload_from_the_owner_is_refused_and_named(world, event, payload, words):
    boss = joined(world, "boss")
    answer = emit(boss, event, payload)
    assert answer["ok"] is False and answer["error"] == P.E_BAD_PAYLOAD, answer
    assert words in answer["message"]
    assert [e["code"] for e in errors(boss)] == [P.E_BAD_PAYLOAD]
    assert db_rows(world.config.db_path, "SELECT COUNT(*) FROM audit") == [(0,)]


def test_the_console_may_act_on_the_owner_and_is_named_in_the_audit(world):
    boss = joined(world, "boss")
    moderation = world.host.ctx.moderation
    answer = moderation.mute(CONSOLE, "BOSS", 5, "testing")
    assert answer["ok"] and received(boss, P.MUTED) == [{"until": answer["until"],
                                                         "reason": "testing"}]
    assert all("address" in p for p in moderation.list(CONSOLE))
    entries, _ = moderation.audit(CONSOLE)
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        ("console", "mute", "boss")]


def test_the_sweep_tells_a_player_when_the_mute_ended(world):
    boss, loud = joined(world, "boss"), joined(world, "loud")
    moderation = world.host.ctx.moderation
    until = moderation.mute(moderation.actor(world.host.ctx.connections[
        next(iter(world.host.ctx.connections))]), "loud", 1, "")["until"]
    assert received(loud, P.MUTED)
    assert moderation.sweep(until / 1000.0 - 1) == []
    assert received(loud, P.UNMUTED) == []
    uid = world.host.ctx.accounts.user_id("loud")
    assert moderation.sweep(until / 1000.0 + 0.001) == [uid]
    assert received(loud, P.UNMUTED) == [{}]
    assert moderation.muted(uid) is None
    assert boss.welcome["you"]["role"] == P.ROLE_OWNER


def test_an_action_whose_audit_row_fails_changes_nothing(world, monkeypatch):
    boss, bad = joined(world, "boss"), joined(world, "bad")

    def broken(db, *args, **kwargs):
        db.execute("INSERT INTO audit (at, actor, action) VALUES (0, 'x', 'y')")
        raise RuntimeError("the disk hiccupped")

    monkeypatch.setattr(S, "add_audit", broken)
    answer = emit(boss, P.MOD_BAN, {"name": "bad", "minutes": None, "reason": "x"})
    assert answer["ok"] is False and answer["error"] == P.E_INTERNAL
    path = world.config.db_path
    assert db_rows(path, "SELECT COUNT(*) FROM bans") == [(0,)]
    assert db_rows(path, "SELECT COUNT(*) FROM audit") == [(0,)]
    assert db_rows(path, "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL") == [(0,)]
    assert bad.is_connected() and received(bad, P.SESSION_ENDED) == []
    assert world.host.ctx.accounts.ban_of(world.host.ctx.accounts.user_id("bad")) is None
    monkeypatch.undo()
    assert emit(boss, P.MOD_BAN, {"name": "bad", "minutes": 1, "reason": "x"})["ok"]
    assert not bad.is_connected()
    assert time.time() < db_rows(path, "SELECT until FROM bans")[0][0] <= time.time() + 60
