"""Scripted players walk the host's own maps, not the game's bundled one.

The bots fetch the host's start map the way the game does (its bundle, named
in ``/api/health``) and, when one walks through an exit, the map named in
``map_changed``: the host then corrects none of their steps for walls or
bounds that only the bundled map has.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import db_rows, start_world_host, write_tmx

ROOT = Path(__file__).resolve().parent.parent

# A small field with a wall across it: the bundled map (100x75 tiles) would
# send the bots far outside it and through this wall.
FIELD_ROWS = (
    "..............",
    "..............",
    "......#.......",
    "..S...#.......",
    "......#.......",
    "..............",
    "..............",
    "..............",
)
# The same field with an exit on its right edge into a walled yard.
YARD_ROWS = (
    "########",
    "#......#",
    "#..S...#",
    "#......#",
    "########",
)


def run_bots(url: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "game.bots", "--server", url, "--players", "6", "--rate", "10",
         "--warmup", "1", "--report", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["eventlet"])
def test_bots_walk_the_hosts_own_map_without_corrections(tmp_path, mode):
    folder = tmp_path / "field"
    folder.mkdir()
    write_tmx(folder / "field.tmx", FIELD_ROWS)
    host = start_world_host(tmp_path / "world.db", folder / "field.tmx", mode)
    try:
        report = run_bots(host.url, "--seconds", "4", "--spread", "--prefix", "fieldbot")
    finally:
        host.stop()
    assert report["joined"] == 6
    assert report["corrections"] == {}  # no wall or edge of another map was walked into


def test_bots_follow_an_exit_onto_the_next_map(tmp_path):
    folder = tmp_path / "world"
    folder.mkdir()
    # The whole right half of the field leads into the yard: bots spread over
    # the field walk into it within seconds.
    write_tmx(folder / "field.tmx", FIELD_ROWS, exits=[(224.0, 0.0, 224.0, 256.0, "yard")])
    write_tmx(folder / "yard.tmx", YARD_ROWS)
    host = start_world_host(tmp_path / "world.db", folder, "eventlet", ("--start-map", "field"))
    try:
        report = run_bots(host.url, "--seconds", "6", "--spread", "--prefix", "yardbot")
    finally:
        host.stop()
    assert report["joined"] == 6
    # Some walked into the yard and were saved there when they left.
    assert db_rows(tmp_path / "world.db", "SELECT count(*) FROM positions WHERE map = 'yard'")[0][0] > 0
    # Steps sent before a bot heard of its new map are refused as on the
    # other map; nothing is refused for walls or bounds of the wrong map.
    assert set(report["corrections"]) <= {"other_map"}, report["corrections"]
