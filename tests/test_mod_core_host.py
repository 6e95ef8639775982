"""Keeping order against real hosts, under both async modes: roles and what
each may do, kick, mute (one that runs out), ban (and every way a banned
player tries to get back in), unban, announce, list, promote and demote, the
settings and the audit log.

Each mode gets a fresh world (a host of its own for this module), so the
first account, registered by the fixture, is the owner."""
from __future__ import annotations

import time

import pytest
import requests

from game.client.host_process import HostProcess
from game.client.net import HostClient, HostError
from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD, PlayerFactory, WorldHost, db_rows, unique_name, \
    wait_until

OWNER = "boss"


@pytest.fixture(scope="module", params=ASYNC_MODES)
def order_host(request, tmp_path_factory, test_map_path):
    db = tmp_path_factory.mktemp(f"order-{request.param}") / "world.db"
    proc = HostProcess(db, async_mode=request.param, log_level="INFO",
                       extra_args=("--map", str(test_map_path), "--login-failures", "1000"))
    world = WorldHost(proc.start())
    boss = HostClient(world.url, reconnect=False)
    boss.register(OWNER, PASSWORD)  # the world's first account: its owner
    # One connection for the whole module (an account may join only
    # JOINS_MAX times a minute).
    boss.connect()
    boss.welcome = boss.wait_for(P.WELCOME).data
    world.boss = boss
    yield world
    boss.close()
    world.stop()


@pytest.fixture
def people(order_host):
    factory = PlayerFactory(order_host)
    factory.boss = order_host.boss
    yield factory
    factory.close_all()


def owner(people) -> HostClient:
    return people.boss


def moderator(people) -> HostClient:
    """A new player the owner made a moderator (connected afterwards)."""
    name = unique_name("mod")
    people(name, join=False)
    boss = owner(people)
    assert boss.call(P.MOD_PROMOTE, {"name": name}) == {"ok": True, "changed": True}
    return people(name, register=False)


def ended(client: HostClient, timeout: float = 5.0) -> dict:
    return client.wait_for(P.SESSION_ENDED, timeout).data


def refused(answer: dict, code: str) -> None:
    assert answer["ok"] is False and answer["error"] == code, answer
    assert answer["message"]


def audit_rows(order_host, action: str, target: str) -> list[tuple]:
    return db_rows(order_host.db_path, "SELECT actor, action, target, reason, detail FROM audit "
                   "WHERE action = ? AND target = ?", (action, target))


# -- roles --------------------------------------------------------------------------------
def test_the_first_account_is_the_owner_and_the_startup_log_said_so(order_host, people):
    assert "owner: the first account to register on this new world" in order_host.proc.log()
    boss, someone = owner(people), people()
    assert boss.welcome["you"]["role"] == P.ROLE_OWNER
    assert boss.welcome["can"] == list(P.OWNER_ACTIONS)
    assert someone.welcome["you"]["role"] == P.ROLE_PLAYER and someone.welcome["can"] == []
    seen = {p["name"]: p["role"] for p in someone.welcome["players"]}
    assert seen[OWNER] == P.ROLE_OWNER
    joined = boss.wait_joined(someone.session.name)
    assert joined["role"] == P.ROLE_PLAYER


def test_a_player_is_forbidden_every_moderator_action(people):
    player, other = people(), people()
    for event in sorted(P.MOD_EVENTS):
        # Even a broken payload: the role is checked first.
        for payload in ({"name": other.session.name, "reason": "x", "minutes": 1}, "junk"):
            refused(player.call(event, payload), P.E_FORBIDDEN)
    assert other.connected


def test_promote_and_demote_tell_everyone_and_the_player_what_they_may_do(order_host, people):
    boss, watcher = owner(people), people()
    name = unique_name("mod")
    target = people(name)
    assert boss.call(P.MOD_PROMOTE, {"name": name}) == {"ok": True, "changed": True}
    mine = target.wait_for(P.ROLE_CHANGED).data
    assert mine == {"id": target.session.user_id, "name": name, "role": P.ROLE_MODERATOR,
                    "can": list(P.MOD_ACTIONS)}
    theirs = watcher.wait_for(P.ROLE_CHANGED).data
    assert theirs == {"id": target.session.user_id, "name": name, "role": P.ROLE_MODERATOR}
    assert target.call(P.MOD_LIST, {})["ok"] is True
    assert boss.call(P.MOD_DEMOTE, {"name": name}) == {"ok": True, "changed": True}
    assert target.wait_for(P.ROLE_CHANGED).data["can"] == []
    refused(target.call(P.MOD_LIST, {}), P.E_FORBIDDEN)
    assert db_rows(order_host.db_path, "SELECT role FROM users WHERE name = ?", (name,)) == \
        [("player",)]
    assert [r[:3] for r in audit_rows(order_host, "promote", name)] == [(OWNER, "promote", name)]
    assert [r[:3] for r in audit_rows(order_host, "demote", name)] == [(OWNER, "demote", name)]


def test_a_moderator_cannot_use_owner_actions_or_act_on_the_owner_or_a_moderator(people):
    mod, other_mod = moderator(people), moderator(people)
    player = people()
    for event, payload in ((P.MOD_PROMOTE, {"name": player.session.name}),
                           (P.MOD_DEMOTE, {"name": other_mod.session.name}),
                           (P.MOD_AUDIT, {}),
                           (P.MOD_SETTINGS, {"moderators_see_addresses": True})):
        refused(mod.call(event, payload), P.E_FORBIDDEN)
    for event in (P.MOD_KICK, P.MOD_MUTE, P.MOD_BAN):
        payload = {"name": OWNER, "reason": "x", **({"minutes": 5} if event != P.MOD_KICK else {})}
        refused(mod.call(event, payload), P.E_NOT_ON_OWNER)
        payload["name"] = other_mod.session.name
        refused(mod.call(event, payload), P.E_NOT_ON_MODERATOR)
    assert other_mod.connected
    # The owner may act on a moderator.
    assert owner(people).call(P.MOD_MUTE, {"name": other_mod.session.name, "minutes": 1})["ok"]


def test_refusals_name_what_was_wrong(people):
    boss = owner(people)
    refused(boss.call(P.MOD_KICK, {"name": "nobody-here", "reason": ""}), P.E_UNKNOWN_PLAYER)
    refused(boss.call(P.MOD_MUTE, {"name": "x"}), P.E_BAD_PAYLOAD)
    refused(boss.call(P.MOD_MUTE, {"name": OWNER + "x", "minutes": 0}), P.E_BAD_PAYLOAD)
    refused(boss.call(P.MOD_BAN, {"name": "someone", "minutes": "soon"}), P.E_BAD_PAYLOAD)
    long_reason = "r" * (P.MOD_REASON_MAX + 1)
    answer = boss.call(P.MOD_KICK, {"name": "someone", "reason": long_reason})
    refused(answer, P.E_BAD_PAYLOAD)
    assert str(P.MOD_REASON_MAX) in answer["message"]
    refused(boss.call(P.MOD_ANNOUNCE, {"text": "hi\x07"}), P.E_BAD_PAYLOAD)
    refused(boss.call(P.MOD_ANNOUNCE, {"text": "  "}), P.E_BAD_PAYLOAD)
    refused(boss.call(P.MOD_KICK, {"name": OWNER, "reason": ""}), P.E_NOT_ON_OWNER)
    offline = unique_name()
    people(offline, join=False)
    refused(boss.call(P.MOD_KICK, {"name": offline, "reason": ""}), P.E_NOT_ONLINE)


# -- kick ---------------------------------------------------------------------------------
def test_a_kicked_player_sees_the_reason_and_may_come_back(order_host, people):
    mod, name = moderator(people), unique_name("kid")
    player = people(name)
    assert mod.call(P.MOD_KICK, {"name": name, "reason": "calm down"}) == {"ok": True}
    assert ended(player) == {"reason": P.END_KICKED, "message": "calm down"}
    wait_until(lambda: not player.connected)
    again = people(name, register=False)
    assert again.welcome["you"]["name"] == name
    assert audit_rows(order_host, "kick", name) == [(mod.session.name, "kick", name,
                                                     "calm down", None)]


# -- mute ---------------------------------------------------------------------------------
def test_a_mute_refuses_messages_until_it_runs_out(order_host, people):
    mod, friend = moderator(people), people()
    name = unique_name("loud")
    player = people(name)
    answer = mod.call(P.MOD_MUTE, {"name": name, "minutes": 1.5 / 60, "reason": "spam"})
    assert answer["ok"] is True
    told = player.wait_for(P.MUTED).data
    assert told == {"until": answer["until"], "reason": "spam"}
    assert abs(told["until"] - (time.time() + 1.5) * 1000) < 1000
    refusal = player.call(P.DM_SEND, {"to": friend.session.name, "text": "hello"})
    assert refusal == {"ok": False, "error": P.E_MUTED, "message": "you are muted",
                       "until": answer["until"]}
    player.wait_for(P.UNMUTED, timeout=5.0)
    assert time.time() * 1000 >= answer["until"]
    assert player.call(P.DM_SEND, {"to": friend.session.name, "text": "hello"})["ok"] is True
    assert audit_rows(order_host, "mute", name) == [(mod.session.name, "mute", name, "spam",
                                                     f"{1.5 / 60:g} min")]


def test_a_muted_player_is_told_again_on_joining_and_unmute_ends_it(people):
    mod, friend = moderator(people), people()
    name = unique_name("loud")
    player = people(name)
    assert mod.call(P.MOD_MUTE, {"name": name, "minutes": 10, "reason": "spam"})["ok"]
    player.wait_for(P.MUTED)
    people.close(player).result(10)
    back = people(name, register=False)
    assert back.wait_for(P.MUTED).data["reason"] == "spam"
    assert back.call(P.DM_SEND, {"to": friend.session.name, "text": "x"})["error"] == P.E_MUTED
    assert mod.call(P.MOD_UNMUTE, {"name": name}) == {"ok": True, "changed": True}
    back.wait_for(P.UNMUTED)
    assert back.call(P.DM_SEND, {"to": friend.session.name, "text": "x"})["ok"] is True


# -- ban ----------------------------------------------------------------------------------
def test_a_banned_player_cannot_get_back_in_any_way_until_unbanned(order_host, people):
    mod = moderator(people)
    name = unique_name("bad")
    player = people(name)
    old_token = player.session.token
    assert mod.call(P.MOD_BAN, {"name": name, "minutes": None, "reason": "cheating"}) == \
        {"ok": True, "until": None}
    assert ended(player) == {"reason": P.END_BANNED, "message": "cheating", "until": None}
    wait_until(lambda: not player.connected)

    # Log in again for a new token: 403 with the reason and the end (null: for good).
    reply = requests.post(order_host.url + P.HTTP_LOGIN,
                          json={"username": name, "password": PASSWORD}, timeout=5)
    assert reply.status_code == 403
    body = reply.json()
    assert (body["ok"], body["error"], body["reason"], body["until"]) == \
        (False, P.E_BANNED, "cheating", None)
    assert "cheating" in body["message"] and "for good" in body["message"]
    # The old token, on the old client and on another connection.
    for client in (player, people.client()):
        client.session = player.session
        with pytest.raises(HostError) as info:
            client.connect()
        assert "banned" in info.value.message and "cheating" in info.value.message
    # Register the name again: it is taken.
    with pytest.raises(HostError) as info:
        people.client().register(name, PASSWORD)
    assert info.value.code == P.E_NAME_TAKEN
    # The old token is revoked in the database, and nobody is in the world under the name.
    assert db_rows(order_host.db_path, "SELECT COUNT(*) FROM sessions s JOIN users u ON "
                   "u.id = s.user_id WHERE u.name = ? AND s.revoked_at IS NULL", (name,)) == [(0,)]
    assert name not in {p["name"] for p in mod.call(P.MOD_LIST, {})["players"]}
    assert audit_rows(order_host, "ban", name) == [(mod.session.name, "ban", name, "cheating",
                                                    "for good")]

    assert mod.call(P.MOD_UNBAN, {"name": name}) == {"ok": True, "changed": True}
    back = people(name, register=False)
    assert back.welcome["you"]["name"] == name and old_token != back.session.token
    assert [r[:3] for r in audit_rows(order_host, "unban", name)] == [
        (mod.session.name, "unban", name)]


def test_a_ban_for_a_while_says_until_when_and_ends_on_its_own(order_host, people):
    boss, name = owner(people), unique_name("bad")
    player = people(name)
    answer = boss.call(P.MOD_BAN, {"name": name, "minutes": 1 / 60, "reason": "timeout"})
    assert ended(player)["until"] == answer["until"]
    with pytest.raises(HostError) as info:
        people.client().login(name, PASSWORD)
    assert info.value.code == P.E_BANNED and info.value.status == 403
    wait_until(lambda: time.time() * 1000 > answer["until"] + 100, timeout=5)
    assert people(name, register=False).welcome["you"]["name"] == name


# -- announce, list, settings, audit ------------------------------------------------------
def test_an_announcement_reaches_every_online_player(order_host, people):
    mod = moderator(people)
    listeners = [people(), people()]
    assert mod.call(P.MOD_ANNOUNCE, {"text": "  Party at the fountain!  "}) == {"ok": True}
    for client in [mod, *listeners]:
        got = client.wait_for(P.ANNOUNCEMENT).data
        assert got["text"] == "Party at the fountain!" and got["from"] == mod.session.name
        assert abs(got["at"] - time.time() * 1000) < 5000
    assert db_rows(order_host.db_path, "SELECT actor, detail FROM audit WHERE action = "
                   "'announce' AND detail = 'Party at the fountain!'") == [
        (mod.session.name, "Party at the fountain!")]


def test_list_shows_addresses_to_moderators_only_when_the_owner_allows(order_host, people):
    boss, mod, player = owner(people), moderator(people), people()
    listed = {p["name"]: p for p in boss.call(P.MOD_LIST, {})["players"]}
    mine = listed[player.session.name]
    assert set(mine) == {"id", "name", "role", "map", "x", "y", "since", "address"}
    assert mine["address"] == "127.0.0.1" and mine["role"] == P.ROLE_PLAYER
    assert mine["map"] == player.welcome["you"]["map"]
    assert abs(mine["since"] - time.time() * 1000) < 30_000
    assert "address" not in mod.call(P.MOD_LIST, {})["players"][0]
    assert boss.call(P.MOD_SETTINGS, {"moderators_see_addresses": True}) == \
        {"ok": True, "settings": {"moderators_see_addresses": True}}
    try:
        assert all(p["address"] == "127.0.0.1" for p in mod.call(P.MOD_LIST, {})["players"])
    finally:
        assert boss.call(P.MOD_SETTINGS, {"moderators_see_addresses": False})["ok"]
    assert "address" not in mod.call(P.MOD_LIST, {})["players"][0]
    assert boss.call(P.MOD_SETTINGS, {}) == {"ok": True,
                                            "settings": {"moderators_see_addresses": False}}


def test_the_owner_reads_the_audit_log_page_by_page(people):
    boss, name = owner(people), unique_name("kid")
    people(name)
    assert boss.call(P.MOD_MUTE, {"name": name, "minutes": 5, "reason": "one"})["ok"]
    assert boss.call(P.MOD_UNMUTE, {"name": name})["ok"]
    first = boss.call(P.MOD_AUDIT, {"limit": 1})
    assert first["ok"] and first["more"] is True and len(first["entries"]) == 1
    newest = first["entries"][0]
    assert (newest["actor"], newest["action"], newest["target"]) == (OWNER, "unmute", name)
    assert set(newest) == {"id", "at", "actor", "action", "target", "reason", "detail"}
    older = boss.call(P.MOD_AUDIT, {"before_id": newest["id"], "limit": 1})["entries"][0]
    assert (older["action"], older["target"], older["reason"]) == ("mute", name, "one")
    refused(boss.call(P.MOD_AUDIT, {"limit": P.AUDIT_PAGE_MAX + 1}), P.E_BAD_PAYLOAD)


def test_moderator_actions_are_rate_limited(people):
    mod = moderator(people)
    answers = [mod.call(P.MOD_LIST, {}) for _ in range(P.MOD_ACTIONS_PER_WINDOW + 1)]
    assert all(a["ok"] for a in answers[:P.MOD_ACTIONS_PER_WINDOW])
    refused(answers[-1], P.E_RATE_LIMITED)
