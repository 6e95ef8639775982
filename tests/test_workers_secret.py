"""host.py --secret-file: one session-signing key shared by several host
processes, so a login on one is accepted by the others; a key file that
cannot serve stops the host with one line naming it."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from game.client.host_process import HostProcess
from game.client.net import HostClient, HostError
from game.core import protocol as P
from server import startup
from server.config import load_or_create_secret

from .conftest import PASSWORD, post, unique_name
from .test_startup import refusal, run_host


def copy_database(source: Path, target: Path) -> None:
    """Copy a live SQLite world the way SQLite allows (online backup)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def host(db: Path, key: Path, mode: str, map_path: Path, *more: str) -> HostProcess:
    return HostProcess(db, async_mode=mode, extra_args=(
        "--map", str(map_path), "--secret-file", str(key), *more))


def test_a_token_from_one_host_is_accepted_by_another_sharing_the_key(tmp_path, test_map_path):
    """Hosts A (eventlet) and B (threading) run side by side, each with its
    own SQLite file, B's a copy of A's taken after the login (the account and
    its session exist on both); only the key file is shared.  C has the same
    copy but its own key: the very same token is refused there."""
    shared, other = tmp_path / "shared.key", tmp_path / "other.key"
    name = unique_name("tok")
    with host(tmp_path / "a.db", shared, "eventlet", test_map_path) as a:
        assert shared.stat().st_mode & 0o777 == 0o600
        assert not (tmp_path / "a.db.key").exists()  # the flag replaces the key beside the db
        client_a = HostClient(a.url, reconnect=False)
        token = client_a.register(name, PASSWORD).token
        copy_database(tmp_path / "a.db", tmp_path / "b.db")
        copy_database(tmp_path / "a.db", tmp_path / "c.db")
        other.write_bytes(b"f" * 64)
        with host(tmp_path / "b.db", shared, "threading", test_map_path) as b, \
                host(tmp_path / "c.db", other, "eventlet", test_map_path) as c:
            # The token A signed opens a game connection on B, and the player joins.
            on_b = HostClient(b.url, reconnect=False)
            on_b.session = client_a.session
            try:
                on_b.connect()
                assert on_b.wait_for(P.WELCOME).data["you"]["name"] == name
                assert on_b.connected
            finally:
                on_b.close()
            # The same token on C, whose key differs: refused as a forgery.
            on_c = HostClient(c.url, reconnect=False)
            on_c.session = client_a.session
            with pytest.raises(HostError) as refused:
                on_c.connect()
            assert "invalid_token" in refused.value.message
            on_c.close()
            # And over HTTP: B logs the session out, C does not know it.
            bearer = {"Authorization": f"Bearer {token}"}
            assert post(c.url, P.HTTP_LOGOUT, headers=bearer).status_code == 401
            assert post(b.url, P.HTTP_LOGOUT, headers=bearer).status_code == 200


def test_processes_creating_the_key_at_once_all_get_the_same_one(tmp_path):
    """Several processes starting together on a new shared key file: whoever
    creates it first wins, and nobody replaces it afterwards."""
    path = tmp_path / "keys" / "world.key"
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def create() -> None:
        start.wait()
        keys.append(load_or_create_secret(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(keys) == 8 and set(keys) == {path.read_bytes()}
    assert len(path.read_bytes()) >= startup.MIN_KEY_BYTES
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["world.key"]  # no leftovers


@pytest.mark.parametrize("how", ["a folder", "empty", "under a file", "no permission"])
def test_a_key_file_that_cannot_serve_stops_the_host_with_one_line(tmp_path, test_map_path, how):
    key = tmp_path / "shared.key"
    if how == "a folder":
        key.mkdir()
    elif how == "empty":
        key.write_bytes(b"")
    elif how == "under a file":
        (tmp_path / "plain").write_text("not a folder")
        key = tmp_path / "plain" / "shared.key"
    elif startup.os.geteuid() == 0:
        pytest.skip("permissions do not stop root from reading")
    else:
        key.write_bytes(b"k" * 64)
        key.chmod(0)
    db = tmp_path / "world.db"
    line = refusal(run_host("--db", str(db), "--secret-file", str(key), map_path=test_map_path),
                   f"session key {key}")
    assert {"a folder": "folder", "empty": "too short (0 bytes",
            "under a file": "cannot be", "no permission": "cannot be read"}[how] in line
    assert not db.exists()  # nothing was started


def test_an_existing_world_does_not_quietly_get_a_new_shared_key(tmp_path, test_map_path):
    """Pointing a world that has its key beside the database at a new
    --secret-file would log everyone out: refused, saying to copy the key."""
    db = tmp_path / "world.db"
    with HostProcess(db, extra_args=("--map", str(test_map_path))):
        pass
    key = tmp_path / "shared" / "world.key"
    line = refusal(run_host("--db", str(db), "--secret-file", str(key), map_path=test_map_path),
                   f"session key {key} is missing", f"copy the world's key {db}.key there")
    assert "--new-key" in line and not key.exists()
