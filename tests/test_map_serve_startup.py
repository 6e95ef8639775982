"""The host's map at start-up, in-process: checked by ``prepare`` and served
by ``create_host`` from one load; a file changed in between is read again."""
from __future__ import annotations

import os

from game.core import tiled
from server import startup

from .conftest import TEST_MAP_ROWS, write_tmx


def test_the_checked_map_is_the_one_served_without_loading_it_again(tmp_path, monkeypatch):
    path = write_tmx(tmp_path / "once.tmx", TEST_MAP_ROWS)
    loads = []
    real = tiled.load_map
    monkeypatch.setattr(tiled, "load_map", lambda p: loads.append(p) or real(p))
    checked = startup.check_map(path)
    served, bundle = startup.serve_map(path)
    assert served is checked and len(loads) == 1
    assert bundle.name == "once" and bundle.file == "once.tmx"


def test_a_map_changed_after_the_check_is_loaded_again(tmp_path, monkeypatch):
    path = write_tmx(tmp_path / "edited.tmx", TEST_MAP_ROWS)
    loads = []
    real = tiled.load_map
    monkeypatch.setattr(tiled, "load_map", lambda p: loads.append(p) or real(p))
    _, first = startup.serve_map(path)
    image = tmp_path / "test.png"
    image.write_bytes(image.read_bytes() + b"\0")
    os.utime(image, ns=(1, 1))
    _, second = startup.serve_map(path)
    assert len(loads) == 2 and second.hash != first.hash
