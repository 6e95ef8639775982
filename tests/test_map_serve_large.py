"""A large map bundle is sent in pieces with a turn for the rest of the host
between them (so a download cannot hold up the tick), and arrives whole."""
from __future__ import annotations

import hashlib
import os

import pytest
import requests

from game.core import protocol as P
from server.http_api import MAP_CHUNK_BYTES, in_pieces

from .conftest import ASYNC_MODES, TEST_MAP_ROWS, write_tmx
from .support import HostProcess


def test_a_bundle_goes_out_in_pieces_with_a_pause_after_each():
    data = os.urandom(3 * MAP_CHUNK_BYTES + 5)
    events: list = []
    for piece in in_pieces(data, lambda s: events.append("pause")):
        events.append(len(piece))
    assert events == [MAP_CHUNK_BYTES, "pause"] * 3 + [5, "pause"]


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_large_bundle_arrives_whole(tmp_path, mode):
    (tmp_path / "map").mkdir()
    tmx = write_tmx(tmp_path / "map" / "big.tmx", TEST_MAP_ROWS)
    (tmp_path / "map" / "test.png").write_bytes(os.urandom(3 * 1024 * 1024))
    with HostProcess(tmp_path / "w.db", async_mode=mode, extra_args=("--map", str(tmx))) as host:
        desc = requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["map"]
        assert desc["size"] > 3 * 1024 * 1024
        digest, pieces = hashlib.sha256(), 0
        with requests.get(host.url + desc["url"], stream=True, timeout=30) as answer:
            for piece in answer.iter_content(MAP_CHUNK_BYTES):
                digest.update(piece)
                pieces += 1
        assert digest.hexdigest() == desc["hash"]
        assert pieces >= desc["size"] // MAP_CHUNK_BYTES
