"""The tick's packets: framed once per cell and written straight to each
player's WebSocket under eventlet, queued as usual otherwise; what a player
receives is the same either way."""
from __future__ import annotations

import json
import struct
import time

import pytest
import requests

from game.core import protocol as P
from server.transport import websocket_text_frame

from .conftest import players_online, snapshot_positions, wait_for_position, wait_until


def read_frame(frame: bytes) -> tuple[int, str]:
    """(first byte, text) of one unmasked frame, read as a client would."""
    first, second = frame[0], frame[1]
    assert not second & 0x80, "a server's frames are not masked"
    size, offset = second & 0x7F, 2
    if size == 126:
        size, offset = struct.unpack("!H", frame[2:4])[0], 4
    elif size == 127:
        size, offset = struct.unpack("!Q", frame[2:10])[0], 10
    assert len(frame) == offset + size
    return first, frame[offset:].decode("utf-8")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_text_frames_carry_their_length_in_the_smallest_form(size):
    text = "é" * (size // 2) + "x" * (size % 2)  # two bytes a character, so lengths are exact
    first, back = read_frame(websocket_text_frame(text))
    assert first == 0x81  # final fragment, text
    assert back == text
    header = len(websocket_text_frame(text)) - len(text.encode())
    assert header == (2 if size < 126 else 4 if size < 65536 else 10)


def test_snapshots_reach_a_neighbour_and_say_how_they_went_out(world_host, players):
    # Players of earlier tests on this shared host may still be leaving.
    wait_until(lambda: players_online(world_host.url) == 0, timeout=10)
    watcher, mover = players(), players()
    mover_id = mover.session.user_id
    before = requests.get(world_host.url + P.HTTP_STATS, timeout=5).json()
    # The watcher stands at the spawn, so the mover was placed beside it:
    # walk from where the host put it.
    x, y = float(mover.welcome["you"]["x"]), float(mover.welcome["you"]["y"])
    for step in range(1, 6):
        mover.send_move(x, y + 4.0 * step)  # south, open floor; 4 px every 50 ms
        time.sleep(0.05)
    seen = wait_for_position(watcher, mover_id, (x, y + 20.0)).data
    assert set(seen) >= {"tick", "t", "p"}
    assert snapshot_positions(seen)[mover_id] == (x, y + 20.0)
    json.dumps(seen)  # plain JSON values all the way down

    def counts():
        stats = requests.get(world_host.url + P.HTTP_STATS, timeout=5).json()
        return (stats["broadcast_packets_written"] - before["broadcast_packets_written"],
                stats["broadcast_packets_queued"] - before["broadcast_packets_queued"])

    written, queued = wait_until(lambda: sum(counts()) >= 2 and counts())
    if world_host.async_mode == "eventlet":
        assert written >= 2  # both players' snapshots, straight to their sockets
    else:
        assert written == 0 and queued >= 2
