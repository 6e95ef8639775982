"""``python host.py admin ...`` on a world whose host is stopped: every
command changes the database (or says there is nobody to act on), and
errors name the database or the account."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from game.core import protocol as P
from server.accounts import password_hasher
from server.runtime import Runtime
from server.storage import Storage

from .conftest import db_rows
from .test_mod_admin import admin


@pytest.fixture
def world_db(tmp_path) -> Path:
    """A stopped world with three accounts (the first one the owner)."""
    path = tmp_path / "world.db"
    storage = Storage(path, Runtime("threading"))
    hasher = password_hasher()
    for name in ("boss", "alice", "bob"):
        storage.create_user(name, hasher.hash("correct-horse"))
    storage.call(lambda db: db.execute("UPDATE users SET role = 'owner' WHERE name = 'boss'"))
    storage.close()
    return path


def role(db: Path, name: str) -> str:
    return db_rows(db, "SELECT role FROM users WHERE name = ?", (name,))[0][0]


def test_roles_and_their_audit_lines(world_db):
    result = admin(world_db, "promote", "alice")
    assert result.returncode == 0 and "alice is a moderator now" in result.stdout
    assert role(world_db, "alice") == "moderator"
    assert admin(world_db, "promote", "alice").returncode == 1
    refused = admin(world_db, "demote", "boss")
    assert refused.returncode == 1 and "owner" in refused.stderr
    assert admin(world_db, "demote", "alice").returncode == 0
    assert role(world_db, "alice") == "player"
    log = admin(world_db, "audit", "--limit", "10").stdout.splitlines()
    assert [line.split(" ", 2)[2] for line in log] == ["console demote alice (player)",
                                                      "console promote alice (moderator)"]


def test_ban_mute_and_their_lifting(world_db):
    result = admin(world_db, "ban", "bob", "--minutes", "30", "--reason", "griefing")
    assert result.returncode == 0, result.stderr
    (reason, until), = db_rows(world_db, "SELECT reason, until FROM bans")
    assert reason == "griefing" and until == pytest.approx(time.time() + 1800, abs=60)
    assert admin(world_db, "ban", "alice").returncode == 0
    assert db_rows(world_db, "SELECT until FROM bans WHERE user_id = 2") == [(None,)]
    assert admin(world_db, "unban", "bob").returncode == 0
    assert admin(world_db, "unban", "bob").returncode == 1  # not banned any more
    assert admin(world_db, "mute", "alice", "5", "--reason", "shouting").returncode == 0
    assert db_rows(world_db, "SELECT reason FROM mutes") == [("shouting",)]
    assert admin(world_db, "unmute", "alice").returncode == 0
    assert db_rows(world_db, "SELECT * FROM mutes") == []
    owner = admin(world_db, "ban", "boss")
    assert owner.returncode == 1 and "owner" in owner.stderr
    assert db_rows(world_db, "SELECT count(*) FROM admin_queue") == [(0,)]  # no host to tell


def test_live_only_commands_say_there_is_no_host(world_db):
    listed = admin(world_db, "list")
    assert listed.returncode == 0 and "no host is running" in listed.stdout
    kicked = admin(world_db, "kick", "alice")
    assert kicked.returncode == 0 and "no one to kick" in kicked.stdout
    told = admin(world_db, "announce", "hello")
    assert told.returncode == 0 and "no one to announce to" in told.stdout


def test_delete_retires_the_name(world_db):
    refused = admin(world_db, "delete", "bob")  # not a terminal, no --yes
    assert refused.returncode == 1 and "--yes" in refused.stderr
    result = admin(world_db, "delete", "bob", "--yes")
    assert result.returncode == 0, result.stderr
    assert db_rows(world_db, "SELECT * FROM users WHERE name = 'bob'") == []
    (until,), = db_rows(world_db, "SELECT until FROM retired_names WHERE name_key = 'bob'")
    assert until == pytest.approx(time.time() + P.RETIRED_NAME_DAYS * 86400, abs=60)


def test_reset_password_hashes_like_the_host_and_revokes_sessions(world_db, tmp_path):
    storage = Storage(world_db, Runtime("threading"))
    storage.create_session("s1", 2, 3600)
    storage.close()
    secret = tmp_path / "pw"
    secret.write_text("a-brand-new-secret\n")
    result = admin(world_db, "reset-password", "alice", "--password-file", str(secret))
    assert result.returncode == 0, result.stderr
    (pw_hash,), = db_rows(world_db, "SELECT pw_hash FROM users WHERE name = 'alice'")
    assert PasswordHasher().verify(pw_hash, "a-brand-new-secret")
    assert "p=1" in pw_hash  # the host's one lane
    assert db_rows(world_db, "SELECT revoked_at IS NOT NULL FROM sessions") == [(1,)]
    secret.write_text("short\n")
    too_short = admin(world_db, "reset-password", "alice", "--password-file", str(secret))
    assert too_short.returncode == 1


def test_reset_password_asks_twice(world_db):
    # getpass falls back to reading standard input when there is no terminal.
    differs = admin(world_db, "reset-password", "alice", stdin="one-secret-1\nother-secret\n")
    assert differs.returncode == 1 and "differ" in differs.stderr


def test_invites(world_db):
    assert admin(world_db, "invite", "carol").returncode == 0
    assert admin(world_db, "invite", "alice").returncode == 1  # has an account already
    assert "carol" in admin(world_db, "invites").stdout
    assert admin(world_db, "uninvite", "carol").returncode == 0
    assert "nobody is invited" in admin(world_db, "invites").stdout
    assert admin(world_db, "uninvite", "carol").returncode == 1


def test_moderators_see_addresses_setting(world_db):
    assert "off" in admin(world_db, "moderators-see-addresses").stdout
    assert admin(world_db, "moderators-see-addresses", "on").returncode == 0
    assert db_rows(world_db, "SELECT value FROM settings WHERE key = "
                             "'moderators_see_addresses'") == [("1",)]
    assert "on" in admin(world_db, "moderators-see-addresses").stdout


def test_errors_name_the_account_or_the_database(world_db, tmp_path):
    unknown = admin(world_db, "ban", "nobody")
    assert unknown.returncode == 1
    assert f"no account named nobody in {world_db}" in unknown.stderr
    missing = admin(tmp_path / "elsewhere.db", "list")
    assert missing.returncode == 1 and str(tmp_path / "elsewhere.db") in missing.stderr
    assert not (tmp_path / "elsewhere.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 10)
    broken = admin(junk, "list")
    assert broken.returncode == 1 and str(junk) in broken.stderr
