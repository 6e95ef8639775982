"""Starting a real host.py with something wrong: one line naming the file or
port and what to do, exit status 1, no traceback (unless --log-level DEBUG);
a world's session key is never replaced quietly; one host per database."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from game.client.host_process import ROOT, HostProcess
from server import startup

from .conftest import ASYNC_MODES, PASSWORD, post, unique_name
from .support import free_port


@pytest.fixture(scope="module")
def made_world(tmp_path_factory, test_map_path) -> tuple[Path, str, str]:
    """A world a real host made: a database with an account, and its key;
    with the account's name and a session token the key signed."""
    db = tmp_path_factory.mktemp("made") / "world.db"
    name = unique_name("old")
    with HostProcess(db, extra_args=("--map", str(test_map_path))) as proc:
        answer = post(proc.url, "/api/register", {"username": name, "password": PASSWORD})
        assert answer.status_code == 201
    return db, name, answer.json()["token"]


@pytest.fixture
def world(made_world, tmp_path) -> Path:
    """A copy of that world for one test to spoil."""
    folder = tmp_path / "w"
    folder.mkdir()
    for suffix in ("", ".key"):
        shutil.copy(str(made_world[0]) + suffix, folder / ("world.db" + suffix))
    return folder / "world.db"


def run_host(*args: str, map_path: Path, port: int | None = None, prefix: tuple = (),
             mode: str = "eventlet") -> subprocess.CompletedProcess:
    cmd = [*prefix, sys.executable, str(ROOT / "host.py"), "--port", str(port or free_port()),
           "--map", str(map_path), "--async-mode", mode, *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def refusal(result: subprocess.CompletedProcess, *words: str) -> str:
    """The host refused with status 1 and exactly one line containing ``words``."""
    output = (result.stdout + result.stderr).strip()
    lines = output.splitlines()
    assert result.returncode == 1, output
    assert len(lines) == 1, output
    assert "Traceback" not in output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- the map -----------------------------------------------------------------------------
def test_a_missing_map(tmp_path):
    missing = tmp_path / "nowhere.tmx"
    line = refusal(run_host("--db", str(tmp_path / "w.db"), map_path=missing), str(missing))
    assert "missing" in line and "--map" in line
    assert not (tmp_path / "w.db").exists()


def test_a_broken_map(tmp_path):
    broken = tmp_path / "broken.tmx"
    broken.write_text('<?xml version="1.0"?>\n<map version="1.10" width="3"')
    line = refusal(run_host("--db", str(tmp_path / "w.db"), map_path=broken), str(broken))
    assert "cannot be read" in line and "--map" in line


# -- the folder ---------------------------------------------------------------------------
def test_a_folder_that_cannot_be_made(tmp_path, test_map_path):
    in_the_way = tmp_path / "data"
    in_the_way.write_text("a file, not a folder")
    line = refusal(run_host("--db", str(in_the_way / "world.db"), map_path=test_map_path),
                   str(in_the_way))
    assert "--db" in line


def read_only(folder: Path) -> tuple[str, ...]:
    """A command prefix under which ``folder`` cannot be written to: a read-only
    bind mount for root (whom permissions do not stop), chmod for anyone else."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return ()
    if not shutil.which("unshare"):
        pytest.skip("running as root without unshare: no way to make a folder read-only")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode:
        pytest.skip("unshare -m is not allowed here")
    return ("unshare", "-m", "--propagation", "private", "sh", "-c",
            f'mount --bind -o ro "{folder}" "{folder}" && exec "$@"', "sh")


def test_a_read_only_folder_with_a_world_in_it(world, test_map_path):
    folder = world.parent
    try:
        line = refusal(run_host("--db", str(world), map_path=test_map_path,
                                prefix=read_only(folder)), str(folder))
    finally:
        folder.chmod(0o755)
    assert "--db" in line


# -- the database -------------------------------------------------------------------------
def test_a_file_that_is_not_a_database(world, test_map_path):
    world.write_bytes(os.urandom(world.stat().st_size))
    refusal(run_host("--db", str(world), map_path=test_map_path), str(world), "not")


def test_a_database_damaged_inside(world, test_map_path):
    data = bytearray(world.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # the header survives, the tables do not
    world.write_bytes(bytes(data))
    line = refusal(run_host("--db", str(world), map_path=test_map_path), str(world))
    assert "damaged" in line and "backup" in line


def test_a_truncated_database(world, test_map_path):
    data = world.read_bytes()
    world.write_bytes(data[:len(data) // 3])
    line = refusal(run_host("--db", str(world), map_path=test_map_path), str(world))
    assert "cut short" in line


def test_a_database_from_a_newer_version(world, test_map_path):
    conn = sqlite3.connect(world)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    line = refusal(run_host("--db", str(world), map_path=test_map_path), str(world),
                   "99", f"version {startup.schema_version()}")
    assert "newer" in line
    # Refused before anything was written: still the newer version.
    conn = sqlite3.connect(world)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


def test_debug_shows_the_traceback_too(world, test_map_path):
    world.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + os.urandom(8000))
    result = run_host("--db", str(world), "--log-level", "DEBUG", map_path=test_map_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("host.py: cannot start:")


# -- the session key --------------------------------------------------------------------------
def test_a_missing_key_beside_a_world_is_not_recreated(world, test_map_path):
    key = world.with_name("world.db.key")
    key.unlink()
    line = refusal(run_host("--db", str(world), map_path=test_map_path), str(key), "--new-key")
    assert "missing" in line
    assert not key.exists()


def test_a_short_key_is_not_overwritten(world, test_map_path):
    key = world.with_name("world.db.key")
    key.write_bytes(b"0123456789")
    line = refusal(run_host("--db", str(world), map_path=test_map_path), str(key), "--new-key")
    assert "too short" in line
    assert key.read_bytes() == b"0123456789"


@pytest.mark.parametrize("how", ["a folder", "no permission"])
def test_an_unreadable_key(world, test_map_path, how):
    key = world.with_name("world.db.key")
    if how == "a folder":
        key.unlink()
        key.mkdir()
    elif os.geteuid() == 0:
        pytest.skip("permissions do not stop root from reading")
    else:
        key.chmod(0)
    try:
        line = refusal(run_host("--db", str(world), map_path=test_map_path), str(key),
                       "--new-key")
    finally:
        if key.is_file():
            key.chmod(0o600)
    assert "cannot be read" in line


def test_new_key_starts_the_world_with_its_accounts_and_logs_everyone_out(
        world, made_world, test_map_path):
    _, name, old_token = made_world
    key = world.with_name("world.db.key")
    key.unlink()
    proc = HostProcess(world, log_level="INFO",
                       extra_args=("--map", str(test_map_path), "--new-key")).start()
    try:
        assert len(key.read_bytes()) >= startup.MIN_KEY_BYTES
        assert key.stat().st_mode & 0o777 == 0o600
        # The accounts are still there; the sessions signed with the old key are not.
        assert post(proc.url, "/api/login", {"username": name, "password": PASSWORD}).ok
        stale = post(proc.url, "/api/logout", headers={"Authorization": f"Bearer {old_token}"})
        assert stale.status_code == 401
    finally:
        proc.stop()
    assert "new session key" in proc.log()
    # The next start keeps that key.
    kept = key.read_bytes()
    with HostProcess(world, extra_args=("--map", str(test_map_path))):
        pass
    assert key.read_bytes() == kept


def test_a_first_start_makes_the_key_without_a_word(tmp_path, test_map_path):
    db = tmp_path / "new" / "world.db"
    with HostProcess(db, log_path=tmp_path / "host.log",
                     extra_args=("--map", str(test_map_path))) as proc:
        assert requests.get(proc.url + "/api/health", timeout=5).ok
    assert len(db.with_name("world.db.key").read_bytes()) >= startup.MIN_KEY_BYTES


# -- the port -----------------------------------------------------------------------------------
def test_a_port_in_use(tmp_path, test_map_path):
    with socket.socket() as other:  # another program, listening without SO_REUSEPORT
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        # INFO lines logged before the listening socket is made are left out here.
        line = refusal(run_host("--db", str(tmp_path / "w.db"), "--log-level", "WARNING",
                                map_path=test_map_path, port=port), f"port {port}")
    assert "--port" in line


# -- one host per database -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_second_host_on_the_same_world_refuses_naming_the_first(world, test_map_path, mode):
    # A port of its own, not 0: the lock file names the port the host was asked for.
    with HostProcess(world, port=free_port(), extra_args=("--map", str(test_map_path))) as first:
        line = refusal(run_host("--db", str(world), map_path=test_map_path, mode=mode),
                       str(world), f"pid {first.proc.pid}", first.url)
        assert "already served" in line
        assert startup.lock_holder(world) == {"pid": first.proc.pid, "url": first.url}
        assert requests.get(first.url + "/api/health", timeout=5).ok
    # Once the first has stopped, the world is free again.
    with HostProcess(world, async_mode=mode, extra_args=("--map", str(test_map_path))) as again:
        assert startup.lock_holder(world)["pid"] == again.proc.pid


def test_the_lock_goes_with_a_killed_host(world, test_map_path):
    first = HostProcess(world, extra_args=("--map", str(test_map_path))).start()
    first.kill()
    with HostProcess(world, extra_args=("--map", str(test_map_path))) as second:
        assert startup.lock_holder(world)["pid"] == second.proc.pid


# -- where friends join ---------------------------------------------------------------------------
def test_lan_addresses_are_this_computers_and_not_loopback():
    for address in startup.lan_addresses():
        assert not address.startswith("127.")
        socket.inet_aton(address)
        with socket.socket() as s:  # an address of this computer can be bound
            s.bind((address, 0))


def test_a_lan_host_names_the_addresses_friends_can_use(tmp_path, test_map_path):
    lan = startup.lan_addresses()
    if not lan:
        pytest.skip("this computer has no network address besides loopback")
    # A port of its own, not 0: the addresses name the port the host was asked for.
    proc = HostProcess(tmp_path / "w.db", port=free_port(), log_level="INFO",
                       extra_args=("--map", str(test_map_path), "--host", "0.0.0.0")).start()
    try:
        for address in lan:
            assert f"http://{address}:{proc.port}" in proc.log()
    finally:
        proc.stop()
    hosting = [line for line in proc.log().splitlines() if "hosting" in line]
    assert hosting and "0.0.0.0" not in hosting[0]


# -- the printer, for failures raised while the host starts listening ------------------------
def test_failures_to_listen_are_one_line_too(capsys):
    def refused(exc: Exception) -> str:
        def serve(_host) -> None:
            raise exc
        assert startup.run_or_explain(lambda: None, serve, host="127.0.0.1", port=5123,
                                      db_path=Path("w.db"), debug=False) == 1
        out = capsys.readouterr()
        assert out.out == "" and len(out.err.strip().splitlines()) == 1
        return out.err

    assert "port 5123 is already in use" in refused(OSError(errno.EADDRINUSE, "in use"))
    assert "port 5123 needs administrator" in refused(PermissionError(errno.EACCES, "denied"))
    assert "address 127.0.0.1" in refused(socket.gaierror(-2, "Name or service not known"))
    assert "another host listens" in refused(startup.StartupError("another host listens"))


def test_a_crash_after_the_start_keeps_its_traceback():
    def serve(_host) -> None:
        raise OSError(errno.ECONNRESET, "reset")
    with pytest.raises(OSError):
        startup.run_or_explain(lambda: None, serve, host="127.0.0.1", port=5123,
                               db_path=Path("w.db"), debug=False)
    with pytest.raises(ZeroDivisionError):
        startup.run_or_explain(lambda: 1 / 0, serve, host="127.0.0.1", port=5123,
                               db_path=Path("w.db"), debug=False)


# -- settings ---------------------------------------------------------------------------------
def test_a_setting_out_of_range_is_one_line(tmp_path, test_map_path):
    line = refusal(run_host("--db", str(tmp_path / "w.db"), "--tick-rate", "0",
                            map_path=test_map_path), "--tick-rate", "1 to 120")
    assert "--help" in line
    assert not (tmp_path / "w.db").exists()
