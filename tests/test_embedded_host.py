"""The host the game starts for itself: found by asking, never two on one
world, and never outliving the game that started it."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap

import psutil
import pytest

from game.client.embedded import EmbeddedHost
from game.client.host_process import ROOT, HostProcess
from game.client.net import HostClient, probe
from server import startup

from .conftest import PASSWORD, stored_position, unique_name, wait_for_position, wait_until
from .support import free_port


def closing_connections_on(port: int) -> None:
    """Leave connections in TIME_WAIT on ``port``, as a host that just stopped
    with players on it does (the host closed them first)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for _ in clients:
            conn, _ = listener.accept()
            conn.close()
        for client in clients:
            client.close()


def test_the_game_starts_its_host_on_the_usual_port_despite_closing_connections(
        tmp_path, test_map_path):
    port = free_port()
    closing_connections_on(port)
    with socket.socket() as s:  # what a bind test sees: "in use"
        with pytest.raises(OSError):
            s.bind(("127.0.0.1", port))
    embedded = EmbeddedHost(f"http://127.0.0.1:{port}", tmp_path / "world.db", port=port,
                            host_args=("--map", str(test_map_path))).start()
    try:
        assert embedded.wait(30) == "ready", embedded.error
        assert embedded.started_here
        assert embedded.url == f"http://127.0.0.1:{port}"
    finally:
        embedded.stop()


def test_the_game_joins_the_host_already_serving_its_world_on_another_port(
        tmp_path, test_map_path):
    db = tmp_path / "world.db"
    # A port of its own, not 0: the game finds the host by the address in the
    # database's lock file, which names the port the host was asked for.
    with HostProcess(db, port=free_port(), extra_args=("--map", str(test_map_path))) as running:
        usual = free_port()  # nothing answers here
        embedded = EmbeddedHost(f"http://127.0.0.1:{usual}", db, port=usual,
                                host_args=("--map", str(test_map_path))).start()
        assert embedded.wait(30) == "ready", embedded.error
        assert embedded.url == running.url
        assert not embedded.started_here
        assert not probe(f"http://127.0.0.1:{usual}")
        embedded.stop()
        assert probe(running.url)  # not ours to stop


def test_the_game_says_why_its_host_did_not_start(tmp_path, test_map_path):
    (tmp_path / "world.db").write_bytes(b"not a database at all, just some bytes" * 50)
    port = free_port()
    embedded = EmbeddedHost(f"http://127.0.0.1:{port}", tmp_path / "world.db", port=port,
                            host_args=("--map", str(test_map_path))).start()
    assert embedded.wait(30) == "failed"
    assert str(tmp_path / "world.db") in embedded.error
    assert "not a Pixel Commons database" in embedded.error
    assert "\n" not in embedded.error


GAME = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from game.client.embedded import EmbeddedHost

    url, db, port, map_path, mode = sys.argv[1:]
    host = EmbeddedHost(url, Path(db), port=int(port),
                        host_args=("--map", map_path, "--save-interval", "3600",
                                   "--async-mode", mode))
    assert host.start().wait(30) == "ready", host.error
    print(json.dumps({"pid": host.process.proc.pid, "url": host.url}), flush=True)
    time.sleep(300)
""")


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("how, mode", [("SIGKILL", "eventlet"), ("SIGKILL", "threading"),
                                       ("SIGTERM", "eventlet")])
def test_the_host_ends_with_the_game_however_it_ends_and_saves_everyone(
        tmp_path, test_map_path, how, mode):
    db, port = tmp_path / "world.db", free_port()
    game = subprocess.Popen([sys.executable, "-c", GAME, f"http://127.0.0.1:{port}", str(db),
                             str(port), str(test_map_path), mode],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    client = None
    try:
        started = json.loads(game.stdout.readline())
        host_pid = started["pid"]
        client = HostClient(started["url"], reconnect=False)
        client.login_or_register(unique_name("orphan"), PASSWORD)
        client.connect()
        you = client.wait_for("welcome").data["you"]
        spot = (you["x"], you["y"] + 20.0)
        client.send_move(*spot)
        wait_for_position(client, client.session.user_id, spot)
        # Periodic saves are an hour apart: only the way out can save this.
        assert stored_position(db, client.session.user_id) is None

        game.send_signal(getattr(signal, how))  # SIGTERM: the game has no handler here
        game.wait(10)
        assert wait_until(lambda: gone(host_pid), timeout=15)
    finally:
        if client is not None:
            client.close()
        if game.poll() is None:
            game.kill()
            game.wait(10)
    assert stored_position(db, client.session.user_id) == spot
    assert not probe(started["url"])
    # The world is free for the next host.
    with HostProcess(db, extra_args=("--map", str(test_map_path))) as next_host:
        assert startup.lock_holder(db)["pid"] == next_host.proc.pid

