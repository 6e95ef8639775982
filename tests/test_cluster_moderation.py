"""Keeping order across two host processes of one world: a moderator's
action on one process, or ``host.py admin`` beside them, reaches the player
wherever they are connected, and every process's caches follow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from game.core import protocol as P

from .conftest import PASSWORD, post, seen_events, wait_until
from .helpers_cluster import cluster

ROOT = Path(__file__).resolve().parent.parent


def admin(db_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``host.py admin --db DB ARGS``, as the hosting player would run it."""
    return subprocess.run([sys.executable, str(ROOT / "host.py"), "admin", "--db", str(db_path),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def mod(client, event: str, **payload) -> dict:
    reply = client.call(event, payload)
    assert reply["ok"] is True, reply
    return reply


def login(url: str, name: str):
    return post(url, P.HTTP_LOGIN, {"username": name, "password": PASSWORD})


def test_a_moderators_actions_reach_players_on_the_other_process(tmp_path, test_map_path,
                                                                 redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        boss = w.players[0]()  # the world's first account: its owner
        assert "ban" in boss.welcome["can"]
        alice, bob = w.players[1](), w.players[1]()
        name = alice.session.name
        # Mute and unmute: told, and applied by the process alice is on.
        mod(boss, P.MOD_MUTE, name=name, minutes=10, reason="calm down")
        assert alice.wait_for(P.MUTED, timeout=5).data["reason"] == "calm down"
        refused = alice.call(P.DM_SEND, {"to": bob.session.name, "text": "hey"})
        assert refused["ok"] is False and refused["error"] == P.E_MUTED
        mod(boss, P.MOD_UNMUTE, name=name)
        alice.wait_for(P.UNMUTED, timeout=5)
        assert alice.call(P.DM_SEND, {"to": bob.session.name, "text": "hey"})["ok"] is True
        # An announcement reaches everyone on every process.
        mod(boss, P.MOD_ANNOUNCE, text="welcome, everyone")
        for client in (alice, bob):
            got = client.wait_for(P.ANNOUNCEMENT, timeout=5).data
            assert got["text"] == "welcome, everyone" and got["from"] == boss.session.name
        # Promoted on process 0, alice moderates on process 1.
        mod(boss, P.MOD_PROMOTE, name=name)
        mine = alice.wait_for(P.ROLE_CHANGED, timeout=5).data
        assert mine["role"] == P.ROLE_MODERATOR and "kick" in mine["can"]
        assert bob.wait_for(P.ROLE_CHANGED, timeout=5).data == {
            "id": alice.session.user_id, "name": name, "role": P.ROLE_MODERATOR}
        # ...on a player connected to the other process.
        carol = w.players[0]()
        mod(alice, P.MOD_KICK, name=carol.session.name, reason="out")
        goodbye = carol.wait_for(P.SESSION_ENDED, timeout=5).data
        assert goodbye == {"reason": P.END_KICKED, "message": "out"}
        mod(boss, P.MOD_DEMOTE, name=name)
        assert alice.wait_for(P.ROLE_CHANGED, timeout=5).data["role"] == P.ROLE_PLAYER
        refused = alice.call(P.MOD_KICK, {"name": bob.session.name, "reason": ""})
        assert refused["ok"] is False and refused["error"] == P.E_FORBIDDEN
        # A ban ends the session on process 1, and holds for logins there.
        mod(boss, P.MOD_BAN, name=name, minutes=60, reason="griefing")
        goodbye = alice.wait_for(P.SESSION_ENDED, timeout=5).data
        assert goodbye["reason"] == P.END_BANNED and goodbye["message"] == "griefing"
        for host in w.hosts:
            refused = login(host.url, name)
            assert refused.status_code == 403 and refused.json()["error"] == P.E_BANNED
        mod(boss, P.MOD_UNBAN, name=name)
        assert login(w.hosts[1].url, name).ok
        # Kicking someone who is not online anywhere is refused.
        gone = bob.session.name
        w.players[1].close(bob).result(10)
        wait_until(lambda: boss.call(P.MOD_KICK, {"name": gone, "reason": ""})["ok"] is False,
                   timeout=5)


def test_admin_commands_and_deletion_act_on_every_process(tmp_path, test_map_path,
                                                          redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        db = tmp_path / "world.db"
        w.players[0]()  # the owner, out of the way
        alice, bob, carol = w.players[1](), w.players[1](), w.players[0]()
        result = admin(db, "ban", alice.session.name, "--minutes", "5", "--reason", "console")
        assert result.returncode == 0, result.stderr
        goodbye = alice.wait_for(P.SESSION_ENDED, timeout=5).data
        assert goodbye["reason"] == P.END_BANNED and goodbye["message"] == "console"
        # One process took the command: one audit line, one ban.
        audit = admin(db, "audit").stdout
        assert audit.count(f"ban {alice.session.name}") == 1, audit
        for host in w.hosts:
            assert login(host.url, alice.session.name).status_code == 403
        result = admin(db, "announce", "maintenance soon")
        assert result.returncode == 0, result.stderr
        for client in (bob, carol):
            client.wait_for(P.ANNOUNCEMENT, timeout=5,
                            match=lambda d: d["text"] == "maintenance soon")
        # A password reset ends the session wherever it is.
        dave = w.players[1]()
        secret = tmp_path / "pw"
        secret.write_text("a-brand-new-secret\n")
        result = admin(db, "reset-password", dave.session.name, "--password-file", str(secret))
        assert result.returncode == 0, result.stderr
        assert dave.wait_for(P.SESSION_ENDED, timeout=5).data["reason"] == P.END_PASSWORD_RESET
        # bob deletes his account through process 0 while connected to process 1.
        answer = post(w.hosts[0].url, P.HTTP_ACCOUNT_DELETE,
                      {"username": bob.session.name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        assert bob.wait_for(P.SESSION_ENDED, timeout=5).data["reason"] == P.END_ACCOUNT_DELETED
        # Both processes forgot the name.
        for host in w.hosts:
            assert login(host.url, bob.session.name).status_code == 401
        refused = carol.call(P.DM_SEND, {"to": bob.session.name, "text": "still there?"})
        assert refused["ok"] is False and refused["error"] == P.E_NO_SUCH_PLAYER
        assert not seen_events(carol, P.SESSION_ENDED)
