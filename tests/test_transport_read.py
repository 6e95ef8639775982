"""Moves read the fast way (several WebSocket frames in one read, handed
straight to the connection guard) behave exactly as moves read one at a
time: the same validation, limits, sequence rules, corrections, acks and
order, in both async modes (threading mode reads them the usual way)."""
from __future__ import annotations

import json
import os
import struct
import time
import uuid

import pytest

from game.core import protocol as P
from server.transport.reader import BufferedRecv

from game.core.rules import load_world

from .helpers_wire import RawClient, register


# -- frames written by hand -------------------------------------------------------------
def frame(payload: str | bytes, *, opcode: int = 1, fin: bool = True) -> bytes:
    """One masked client frame (RFC 6455, section 5.2)."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(data)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def move_text(seq, x, y, ack: int | None = None) -> str:
    return f"42{'' if ack is None else ack}" + json.dumps([P.MOVE, {"seq": seq, "x": x, "y": y}])


def send_together(client: RawClient, frames: list[bytes]) -> None:
    """Every frame in one write, so the host reads them in one go."""
    client.ws.sock.sendall(b"".join(frames))


@pytest.fixture
def mover(world_host):
    def make() -> tuple[RawClient, dict]:
        name = "rd" + uuid.uuid4().hex[:12]
        client = RawClient(world_host.url)
        welcome = client.join(register(world_host.url, name))
        made.append(client)
        return client, welcome["you"]

    made: list[RawClient] = []
    yield make
    for client in made:
        client.close()


def host_position(client: RawClient, seq: int) -> tuple[float, float]:
    """Where the host has us: a move off the map is corrected to that spot."""
    client.emit(P.MOVE, {"seq": seq, "x": -100.0, "y": -100.0})
    data = client.wait_for(P.CORRECTION, match=lambda d: d["seq"] == seq)
    return data["x"], data["y"]


def steps(you: dict, count: int, first_seq: int = 1, dx: float = 2.0) -> list[tuple]:
    """Small steps along x, well within the walking speed."""
    return [(first_seq + i, round(you["x"] + dx * (i + 1), 1), you["y"]) for i in range(count)]


@pytest.fixture
def world(test_map_path):
    return load_world(test_map_path)


@pytest.fixture
def step_dx(world):
    """The direction along x a player can take 30 px from where they stand."""
    return lambda you: 2.0 if world.segment_free(you["x"], you["y"], you["x"] + 30,
                                                 you["y"]) else -2.0


@pytest.fixture
def far_spot(world):
    """A spot a player can stand on, too far to reach in one move."""
    def find(you: dict) -> tuple[float, float]:
        for dx, dy in ((150, 0), (-150, 0), (0, 150), (0, -150), (150, 150), (-150, -150)):
            x, y = you["x"] + dx, you["y"] + dy
            if world.in_bounds(x, y) and world.box_free(x, y):
                return x, y
        raise AssertionError("no free spot 150 px away on the test map")
    return find


# -- the host ------------------------------------------------------------------------------
def test_moves_read_together_are_applied_in_order(mover, step_dx):
    client, you = mover()
    walk = steps(you, 6, dx=step_dx(you))
    send_together(client, [frame(move_text(*m)) for m in walk])
    assert host_position(client, 100) == walk[-1][1:]
    assert client.named(P.CORRECTION)[:-1] == []
    assert client.named(P.ERROR) == []


def test_bad_moves_among_good_ones_get_the_usual_errors_and_corrections(mover, step_dx):
    client, you = mover()
    walk = steps(you, 2, dx=step_dx(you))
    send_together(client, [
        frame(move_text(*walk[0])),
        frame("42" + json.dumps([P.MOVE, "north"])),
        frame("42" + json.dumps([P.MOVE, {"seq": 7, "x": 1.0}])),
        frame("42" + json.dumps([P.MOVE, {"seq": 8, "x": 1.0, "y": 2.0}, "extra"])),
        frame("42" + json.dumps([P.MOVE])),
        frame(move_text(*walk[1])),
    ])
    assert host_position(client, 100) == walk[1][1:]
    errors = client.named(P.ERROR)
    assert [(e["code"], e["event"]) for e in errors] == [(P.E_BAD_PAYLOAD, P.MOVE)] * 4
    corrections = [(c["seq"], c["reason"]) for c in client.named(P.CORRECTION)[:-1]]
    assert corrections == [(None, "bad_payload"), (7, "bad_payload"), (8, "bad_payload"),
                           (None, "bad_payload")]
    for c in client.named(P.CORRECTION)[:-1]:
        assert (c["x"], c["y"]) == walk[0][1:]


def test_stale_and_too_fast_moves_follow_the_sequence_rules(mover, step_dx, far_spot):
    client, you = mover()
    walk = steps(you, 3, first_seq=10, dx=step_dx(you))
    send_together(client, [
        frame(move_text(*walk[0])),
        frame(move_text(5, walk[1][1], walk[1][2])),          # older than 10: ignored
        frame(move_text(11, *far_spot(you))),                   # far too far at once
        frame(move_text(*walk[1])),
    ])
    assert host_position(client, 100) == walk[1][1:]
    corrections = client.named(P.CORRECTION)[:-1]
    assert [(c["seq"], c["reason"]) for c in corrections] == [(11, "too_fast")]
    assert (corrections[0]["x"], corrections[0]["y"]) == walk[0][1:]


def test_a_move_asking_for_an_ack_is_answered_in_its_place(mover, step_dx):
    client, you = mover()
    walk = steps(you, 3, dx=step_dx(you))
    send_together(client, [frame(move_text(*walk[0])), frame(move_text(*walk[1], ack=41)),
                           frame(move_text(*walk[2]))])
    assert host_position(client, 100) == walk[2][1:]
    assert 41 in client.acks


def test_moves_over_the_players_limit_are_dropped_with_one_notice(mover, step_dx):
    client, you = mover()
    count = P.MOVES_PER_SECOND + 10
    walk = steps(you, count, dx=step_dx(you) / 4)
    send_together(client, [frame(move_text(*m)) for m in walk])
    # Ask again until the player's second is over and the question is taken.
    position, seq = None, 10_000
    deadline = time.monotonic() + 10.0
    while position is None and time.monotonic() < deadline:
        seq += 1
        client.emit(P.MOVE, {"seq": seq, "x": -100.0, "y": -100.0})
        try:
            found = client.wait_for(P.CORRECTION, 0.25, lambda d, s=seq: d["seq"] == s)
            position = found["x"], found["y"]
        except TimeoutError:
            pass
    limited = [e for e in client.named(P.ERROR) if e["code"] == P.E_RATE_LIMITED]
    assert len(limited) == 1 and limited[0]["event"] == P.MOVE
    # The first MOVES_PER_SECOND moves were taken, the rest dropped.
    assert position == walk[P.MOVES_PER_SECOND - 1][1:]


def test_packets_over_the_connection_limit_are_dropped_and_acks_answered(mover, step_dx):
    client, you = mover()
    pings = [frame("42" + json.dumps([P.PING, {"t": i}])) for i in range(P.PACKETS_PER_SECOND)]
    send_together(client, pings + [frame(move_text(1, you["x"] + step_dx(you), you["y"],
                                                   ack=77))])
    client.wait_for(P.ERROR, match=lambda e: e["code"] == P.E_RATE_LIMITED)
    answer = None
    while answer is None:
        assert client.pump(10.0)
        answer = client.acks.get(77)
    assert answer["ok"] is False and answer["error"] == P.E_RATE_LIMITED


def test_unusual_frames_between_moves_are_read_the_usual_way(mover, step_dx):
    client, you = mover()
    walk = steps(you, 4, dx=step_dx(you))
    second = move_text(*walk[1])
    send_together(client, [
        frame(move_text(*walk[0])),
        frame(b"hi", opcode=9),                                  # a ping
        frame(second[:10], opcode=1, fin=False), frame(second[10:], opcode=0),  # in two parts
        frame(b"\x04\x01binary", opcode=2),                      # refused by the guard
        frame("42" + json.dumps([P.MOVE, {"seq": 90, "x": "é", "y": 1}])),  # not ASCII
        frame(move_text(*walk[2])),
    ])
    assert host_position(client, 100) == walk[2][1:]
    codes = [e["code"] for e in client.named(P.ERROR)]
    assert codes == [P.E_BAD_PAYLOAD, P.E_BAD_PAYLOAD]
    assert [(c["seq"], c["reason"]) for c in client.named(P.CORRECTION)[:-1]] == \
        [(90, "bad_payload")]


def test_a_frame_that_is_not_utf8_ends_the_connection(mover, step_dx):
    client, you = mover()
    walk = steps(you, 1, dx=step_dx(you))
    send_together(client, [frame(move_text(*walk[0])), frame(b'42["move",\xff\xfe]')])
    assert client.read_until_closed(10.0)


# -- the buffer alone ----------------------------------------------------------------------
class Chunks:
    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.sizes = data, sizes

    def __call__(self, size: int) -> bytes:
        n = min(size, self.sizes.pop(0) if self.sizes else len(self.data))
        out, self.data = self.data[:n], self.data[n:]
        return out


def test_the_buffer_takes_whole_plain_frames_only():
    long = "4" + "x" * 300
    frames = [frame("42a"), frame(long), frame("3", fin=False), frame("x", opcode=0)]
    data = b"".join(frames)
    recv = BufferedRecv(Chunks(data, [3]))
    assert recv(2) == data[:2]             # the socket gave 3 bytes: 1 kept
    assert recv(4) == data[2:3]             # served from the buffer: a short read
    assert recv.take_text_frame(1000) is None   # nothing buffered
    assert recv(3) == data[3:6]             # the socket gave the rest: kept
    assert recv(3) == data[6:9]             # the first frame read the usual way
    assert recv.take_text_frame(100) is None    # over the size limit: left alone
    assert recv.take_text_frame(1000) == long
    assert recv.take_text_frame(1000) is None   # a fragment: left to eventlet
    assert recv(100) == frames[2] + frames[3]
    assert not recv.buf


def test_the_buffer_leaves_frames_it_cannot_read_whole():
    whole = frame("42[1]")
    recv = BufferedRecv(Chunks(b"z" + whole[:-1], []))
    assert recv(1) == b"z"
    assert recv.take_text_frame(1000) is None   # one byte short
    assert recv(100) == whole[:-1]
    bad = BufferedRecv(Chunks(b"z" + frame(b"\xff\x00"), []))
    bad(1)
    assert bad.take_text_frame(1000) is None    # not UTF-8: eventlet fails the connection
    unmasked = b"\x81\x03abc"
    plain = BufferedRecv(Chunks(b"z" + unmasked + b"......", []))
    plain(1)
    assert plain.take_text_frame(1000) is None
