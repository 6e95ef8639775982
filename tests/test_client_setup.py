"""The game's start-up helpers: remembered settings and the embedded host."""
from __future__ import annotations

import json

from game.client.embedded import EmbeddedHost
from game.client.net import probe
from game.client.settings import DEFAULT_SERVER, Settings

from .support import free_port


def test_settings_remember_server_and_username_but_never_a_password(tmp_path):
    path = tmp_path / "conf" / "client.json"
    assert Settings.load(path) == Settings()  # first run: defaults
    Settings(server="http://10.0.0.5:5000", username="mira").save(path)
    assert Settings.load(path) == Settings(server="http://10.0.0.5:5000", username="mira")
    assert set(json.loads(path.read_text())) == {"server", "username", "fullscreen", "volume", "muted"}


def test_broken_settings_fall_back_to_defaults(tmp_path):
    path = tmp_path / "client.json"
    path.write_text("{not json")
    assert Settings.load(path) == Settings(server=DEFAULT_SERVER, username="")
    path.write_text('{"server": 5, "username": ["x"]}')
    assert Settings.load(path) == Settings()


def test_embedded_host_uses_a_host_that_already_answers(host):
    embedded = EmbeddedHost(host.url, tmp_db := host.db_path.with_name("unused.db")).start()
    assert embedded.wait(10) == "ready"
    assert embedded.url == host.url and not embedded.started_here
    embedded.stop()
    assert not tmp_db.exists()


def test_embedded_host_starts_and_stops_its_own_host(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    embedded = EmbeddedHost(url, tmp_path / "data" / "world.db", port=port).start()
    try:
        assert embedded.wait(30) == "ready", embedded.error
        assert embedded.started_here and probe(embedded.url)
        assert (tmp_path / "data" / "world.db").exists()
    finally:
        embedded.stop()
    assert not probe(url)
    assert embedded.process.proc.poll() is not None
