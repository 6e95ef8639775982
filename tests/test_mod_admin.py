"""``python host.py admin ...`` against a real host while it runs: each
command applied to the live world within a second, seen by real clients."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from game.client.net import HostClient, HostError
from game.core import protocol as P
from server.config import ASYNC_MODES

from .conftest import (PASSWORD, db_rows, post, start_world_host, unique_name,
                       wait_until)

ROOT = Path(__file__).resolve().parent.parent
OWNER = "boss"
RETIRED_S = 3.0  # the cooling-off of deleted names on these hosts


def admin(db_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``host.py admin --db DB ARGS`` as the hosting player would."""
    return subprocess.run([sys.executable, str(ROOT / "host.py"), "admin", "--db", str(db_path),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          input=stdin)


@pytest.fixture(scope="module")
def admin_hosts(tmp_path_factory, test_map_path):
    started = {}

    def get(mode: str):
        if mode not in started:
            db = tmp_path_factory.mktemp(f"admin-{mode}") / "world.db"
            started[mode] = start_world_host(
                db, test_map_path, mode,
                ("--owner", OWNER, "--retired-name-seconds", str(RETIRED_S)))
        return started[mode]

    yield get
    for world in started.values():
        world.stop()


@pytest.fixture(params=ASYNC_MODES)
def world(request, admin_hosts):
    return admin_hosts(request.param)


@pytest.fixture
def clients(world):
    made: list[HostClient] = []

    def make(name: str | None = None, password: str = PASSWORD, register: bool = True,
             listen: tuple[str, ...] = ()) -> HostClient:
        client = HostClient(world.url, reconnect=False)
        for kind in listen:  # make sure these events are queued too
            client.sio.on(kind, lambda data=None, kind=kind: client._put(kind, data))
        name = name or unique_name("a")
        (client.register if register else client.login)(name, password)
        client.connect()
        client.welcome = client.wait_for(P.WELCOME).data
        made.append(client)
        return client

    yield make
    for client in made:
        world.in_background(client.close)


def ended(client: HostClient, timeout: float = 1.0) -> dict:
    return client.wait_for(P.SESSION_ENDED, timeout=timeout).data


def test_list_shows_who_is_online_and_where(world, clients):
    alice = clients()
    name = alice.session.name
    out = wait_until(lambda: (r := admin(world.db_path, "list")).returncode == 0
                     and name in r.stdout and r.stdout, timeout=10)
    line = next(l for l in out.splitlines() if l.startswith(name))
    assert "127.0.0.1" in line and "player" in line


def test_kick_ends_the_connection_within_a_second(world, clients):
    alice = clients()
    name = alice.session.name
    wait_until(lambda: name in admin(world.db_path, "list").stdout, timeout=10)
    result = admin(world.db_path, "kick", name, "--reason", "spamming the square")
    assert result.returncode == 0, result.stderr
    assert "applied by the running host" in result.stdout
    goodbye = ended(alice)
    assert goodbye["reason"] == P.END_KICKED and goodbye["message"] == "spamming the square"
    # A kick is no ban: the player comes straight back.
    again = clients(name, register=False)
    assert again.welcome["you"]["name"] == name
    log = admin(world.db_path, "audit", "--limit", "5").stdout
    assert f"console kick {name}: spamming the square" in log


def test_ban_ends_the_connection_and_refuses_login_until_unbanned(world, clients):
    alice = clients()
    name = alice.session.name
    result = admin(world.db_path, "ban", name, "--minutes", "60", "--reason", "griefing")
    assert result.returncode == 0, result.stderr
    goodbye = ended(alice)
    assert goodbye["reason"] == P.END_BANNED and goodbye["message"] == "griefing"
    assert goodbye["until"] > time.time() * 1000
    refused = post(world.url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"] == P.E_BANNED
    assert admin(world.db_path, "unban", name).returncode == 0
    assert post(world.url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD}).ok


def test_mute_tells_the_player_and_unmute_lifts_it(world, clients):
    alice = clients(listen=(P.MUTED, P.UNMUTED))
    bob = clients()
    name = alice.session.name
    assert admin(world.db_path, "mute", name, "10", "--reason", "calm down").returncode == 0
    muted = alice.wait_for(P.MUTED, timeout=1.0).data
    assert muted["reason"] == "calm down" and muted["until"] > time.time() * 1000 + 500_000
    answer = alice.call(P.DM_SEND, {"to": bob.session.name, "text": "hello"})
    assert answer["ok"] is False and answer["error"] == P.E_MUTED
    assert admin(world.db_path, "unmute", name).returncode == 0
    alice.wait_for(P.UNMUTED, timeout=1.0)
    assert alice.call(P.DM_SEND, {"to": bob.session.name, "text": "hello"})["ok"] is True


def test_announce_reaches_everyone_online(world, clients):
    alice = clients(listen=(P.ANNOUNCEMENT,))
    bob = clients(listen=(P.ANNOUNCEMENT,))
    result = admin(world.db_path, "announce", "the host restarts at noon")
    assert result.returncode == 0, result.stderr
    for client in (alice, bob):
        seen = client.wait_for(P.ANNOUNCEMENT, timeout=1.0,
                               match=lambda d: d["text"] == "the host restarts at noon").data
        assert seen["at"] > 0


def test_promote_and_demote_are_seen_as_role_changed(world, clients):
    alice = clients(listen=(P.ROLE_CHANGED,))
    bob = clients(listen=(P.ROLE_CHANGED,))
    name = alice.session.name
    assert admin(world.db_path, "promote", name).returncode == 0
    mine = alice.wait_for(P.ROLE_CHANGED, timeout=1.0).data
    assert mine["role"] == P.ROLE_MODERATOR and "kick" in mine["can"]
    theirs = bob.wait_for(P.ROLE_CHANGED, timeout=1.0, match=lambda d: d["name"] == name).data
    assert theirs["role"] == P.ROLE_MODERATOR
    assert admin(world.db_path, "demote", name).returncode == 0
    assert alice.wait_for(P.ROLE_CHANGED, timeout=1.0).data["can"] == []


def test_reset_password_revokes_sessions_and_changes_the_password(world, clients, tmp_path):
    alice = clients()
    name, old_token = alice.session.name, alice.session.token
    secret = tmp_path / "pw"
    secret.write_text("a-brand-new-secret\n")
    result = admin(world.db_path, "reset-password", name, "--password-file", str(secret))
    assert result.returncode == 0, result.stderr
    assert ended(alice)["reason"] == P.END_PASSWORD_RESET
    old = post(world.url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD})
    assert old.status_code == 401
    assert post(world.url, P.HTTP_LOGIN, {"username": name,
                                          "password": "a-brand-new-secret"}).ok
    stale = HostClient(world.url, reconnect=False)
    stale.session = type(alice.session)(old_token, alice.session.user_id, name)
    with pytest.raises(HostError):
        stale.connect(timeout=5)
    world.in_background(stale.close)


def test_delete_my_account_end_to_end(world, clients):
    alice = clients()
    bob = clients()
    gone = bob.session.name
    assert bob.call(P.DM_SEND, {"to": alice.session.name, "text": "remember me"})["ok"]
    wrong = post(world.url, P.HTTP_ACCOUNT_DELETE, {"username": gone, "password": "nope-nope"})
    assert wrong.status_code == 401
    answer = post(world.url, P.HTTP_ACCOUNT_DELETE, {"username": gone, "password": PASSWORD})
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert ended(bob)["reason"] == P.END_ACCOUNT_DELETED
    # The other side keeps the message, from "deleted player"; the directory forgets the name.
    resumed = HostClient(world.url, reconnect=False)
    resumed.login(alice.session.name, PASSWORD)
    resumed.last_dm_id, resumed._resume = 0, True  # a join that asks for every message
    resumed.connect()
    welcome = resumed.wait_for(P.WELCOME).data
    names = [p["name"] for p in resumed.call(P.DIRECTORY, {})["players"]]
    world.in_background(resumed.close)
    assert gone not in names
    texts = {(m["from"], m["text"]) for m in welcome["missed_messages"]}
    assert (P.DELETED_PLAYER_NAME, "remember me") in texts
    # The name cools off, then is free again.
    taken = post(world.url, P.HTTP_REGISTER, {"username": gone, "password": PASSWORD})
    assert taken.status_code == 409 and taken.json()["error"] == P.E_NAME_RETIRED
    assert taken.json()["until"] > time.time() * 1000
    assert wait_until(lambda: post(world.url, P.HTTP_REGISTER,
                                   {"username": gone, "password": PASSWORD}).status_code == 201,
                      timeout=RETIRED_S + 5, interval=0.5)
    assert f"{gone} delete_account {gone}" in admin(world.db_path, "audit").stdout


def test_admin_delete_ends_the_connection(world, clients):
    carol = clients()
    name = carol.session.name
    result = admin(world.db_path, "delete", name, "--yes")
    assert result.returncode == 0, result.stderr
    assert ended(carol)["reason"] == P.END_ACCOUNT_DELETED
    assert db_rows(world.db_path, "SELECT id FROM users WHERE name = ?", (name,)) == []
    refused = post(world.url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD})
    assert refused.status_code == 401


def test_health_says_registration_is_open(world):
    assert requests.get(world.url + P.HTTP_HEALTH, timeout=5).json()["registration"] == "open"
