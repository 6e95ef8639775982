"""The binary snapshot and area encoding (``game.core.protocol``): round trips,
deltas that overflow, gone, keyframes and bad bytes."""
from __future__ import annotations

import random
import zlib

import pytest

from game.core import protocol as P


def test_snapshot_round_trip_over_random_movers():
    rng = random.Random(15)
    for _ in range(200):
        ids = sorted(rng.sample(range(1, 1_000_000), rng.randint(0, 300)))
        absolute, deltas = [], []
        for pid in ids:
            if rng.random() < 0.3:
                absolute.append((pid, rng.randint(0, 4_000_000), rng.randint(0, 4_000_000)))
            else:
                deltas.append((pid, rng.randint(-P.DELTA_MAX, P.DELTA_MAX),
                               rng.randint(-P.DELTA_MAX, P.DELTA_MAX)))
        gone = rng.sample(range(1, 1_000_000), rng.randint(0, 5))
        tick, t = rng.randint(0, 2**40), rng.randint(0, 2**45)
        data = P.encode_snapshot(tick, t, absolute, deltas, gone)
        snap = P.decode_snapshot(data)
        assert (snap.tick, snap.t, snap.absolute, snap.deltas, snap.gone) == \
            (tick, t, absolute, deltas, sorted(gone))
        assert data[0] == P.WIRE_VERSION
        plain = P.encode_snapshot(tick, t, absolute, deltas, gone, deflate=False)
        assert P.decode_snapshot(plain).deltas == deltas
        assert len(data) <= len(plain)


def test_area_round_trip_and_reset_flag():
    enter = [(9, 400, 1, 0, 0), (3, 0, 2**30, -127, 127), (300, 17, 17, 5, -3)]
    for reset in (True, False):
        data = P.encode_area(enter, [77, 5], reset)
        assert P.decode_area(data) == (sorted(enter), [5, 77], reset)
        assert bool(data[1] & P.FLAG_RESET) == reset


def test_book_follows_deltas_without_drift():
    """Many ticks of deltas (changes of step) against what was last sent
    land exactly where the host's own quantised positions are."""
    rng = random.Random(3)
    host_sent: dict[int, tuple[int, int]] = {}
    host_step: dict[int, tuple[int, int]] = {}
    book = P.PositionBook()
    positions = {pid: (rng.uniform(0, 3000), rng.uniform(0, 3000)) for pid in range(1, 60)}
    for tick in range(1, 400):
        absolute, deltas = [], []
        for pid in sorted(positions):
            x, y = positions[pid]
            x, y = max(0.0, x + rng.uniform(-9, 9)), max(0.0, y + rng.uniform(-9, 9))
            if rng.random() < 0.01:
                x, y = rng.uniform(0, 3000), rng.uniform(0, 3000)  # a jump: does not fit
            positions[pid] = (x, y)
            q = (P.quantise(x), P.quantise(y))
            last = host_sent.get(pid)
            step = host_step.get(pid, (0, 0))
            d = (q[0] - last[0], q[1] - last[1]) if last else (0, 0)
            change = (d[0] - step[0], d[1] - step[1])
            if (last is None or (tick + pid) % P.KEYFRAME_TICKS == 0
                    or max(map(abs, d + change)) > P.DELTA_MAX):
                absolute.append((pid, *q))
                d = (0, 0)
            else:
                deltas.append((pid, *change))
            host_sent[pid], host_step[pid] = q, d
        out = book.snapshot(P.encode_snapshot(tick, tick * 50, absolute, deltas))
        assert len(out["p"]) == 3 * len(positions)
    assert book.unknown == 0
    for pid, (x, y) in positions.items():
        assert book.known[pid][:2] == (P.quantise(x), P.quantise(y))
        assert book.known[pid][2:] == host_step[pid]
        assert abs(P.dequantise(book.known[pid][0]) - x) <= 0.5 / P.POSITION_SCALE


def test_book_gone_leave_reset_and_unknown_deltas():
    book = P.PositionBook()
    area = book.area(P.encode_area([(1, 40, 80, 2, 0), (2, 8, 8, 0, 0)], [], True))
    assert area == {"enter": [1, 10.0, 20.0, 2, 2.0, 2.0], "leave": [], "reset": True}
    snap = book.snapshot(P.encode_snapshot(7, 1000, [(3, 4, 4)], [(1, 2, -8), (9, 1, 1)], [2]))
    assert snap == {"tick": 7, "t": 1000, "p": [3, 1.0, 1.0, 1, 11.0, 18.0], "gone": [2]}
    assert book.known[1] == (44, 72, 4, -8) and book.known[3] == (4, 4, 0, 0)
    book.snapshot(P.encode_snapshot(8, 1050, [], [(1, 0, 0)]))  # walking on: no change of step
    assert book.known[1] == (48, 64, 4, -8)
    assert book.unknown == 1  # 9 was never given whole: skipped, not guessed
    assert 2 not in book.known
    book.area(P.encode_area([], [1], False))
    assert set(book.known) == {3}
    book.area(P.encode_area([(5, 0, 0, 0, 0)], [], True))
    assert set(book.known) == {5}


def test_quantise_unit_and_floor_at_zero():
    assert P.quantise(10.1) == 40 and P.quantise(10.13) == 41 and P.quantise(-3.0) == 0
    assert P.dequantise(P.quantise(1392.25)) == 1392.25


@pytest.mark.parametrize("data", [b"", b"\x01", "text", b"\x02\x00\x00", b"\x01\x00\x80",
                                  b"\x01\x00\x01\x01\x05", b"\x01\x01garbage",
                                  b"\x01\x00\x01\x01\xff\xff\xff\xff\x0f"])
def test_bad_bytes_are_a_protocol_error(data):
    with pytest.raises(P.ProtocolError) as caught:
        P.decode_snapshot(data)
    assert caught.value.code == P.E_BAD_PAYLOAD


def test_inflating_is_bounded():
    bomb = zlib.compress(b"\x00" * (P.WIRE_BODY_MAX + 10), 9, -15)
    with pytest.raises(P.ProtocolError):
        P.decode_snapshot(bytes((P.WIRE_VERSION, P.FLAG_DEFLATE)) + bomb)
