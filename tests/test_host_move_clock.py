"""Moves stamped with the client's clock (``t``): a burst of honest moves the
host reads late is accepted, a fast clock is refused, moves without ``t``
keep the host-clock rule, and ``t`` may not go back."""
from __future__ import annotations

import time

from game.core import protocol as P
from game.client.net import clock_ms

from .conftest import seen_events, wait_for_position

STEP_PX = 8.0  # 160 px/s at 20 Hz
STEP_MS = 50
BURST = 24  # 192 px, twice the budget's capacity; under MOVES_PER_SECOND


def anchored(client) -> tuple[float, float, int]:
    """One accepted stamped move a pixel below the start: the clock's anchor.
    Returns the position and its ``t``."""
    you = client.welcome["you"]
    x, y = you["x"], you["y"] + 1.0
    t0 = clock_ms()
    client.send_move(x, y, t0)
    wait_for_position(client, client.session.user_id, (x, y))
    return x, y, t0


def corrections(client) -> list[dict]:
    return seen_events(client, P.CORRECTION)


def test_a_burst_of_honest_moves_read_late_is_all_accepted(players):
    # Walked 50 ms apart on the client, delivered together after the host had
    # heard nothing for as long as they took to walk: what the host sees when
    # it falls behind and then reads a player's queued moves.
    alice = players()
    x, y, t0 = anchored(alice)
    time.sleep(BURST * STEP_MS / 1000.0 + 0.2)  # the host's clock runs on meanwhile
    for i in range(1, BURST + 1):
        alice.send_move(x, y + STEP_PX * i, t0 + STEP_MS * i)
    wait_for_position(alice, alice.session.user_id, (x, y + STEP_PX * BURST))
    assert corrections(alice) == []


def test_the_same_burst_without_t_is_refused_as_before(players):
    alice = players()
    you = alice.welcome["you"]
    x, y = you["x"], you["y"]
    for seq in range(1, BURST + 1):
        alice.emit(P.MOVE, {"seq": seq, "x": x, "y": y + STEP_PX * seq})
    refused = alice.wait_for(P.CORRECTION).data
    assert refused["reason"] == "too_fast"


def test_old_clients_without_t_walk_as_before(players):
    alice = players()
    you = alice.welcome["you"]
    x, y = you["x"], you["y"]
    for seq in range(1, 11):
        alice.emit(P.MOVE, {"seq": seq, "x": x, "y": y + STEP_PX * seq})
        time.sleep(STEP_MS / 1000.0)  # walking pace
    wait_for_position(alice, alice.session.user_id, (x, y + STEP_PX * 10))
    assert corrections(alice) == []


def test_a_clock_running_fast_does_not_walk_faster(players):
    # Three times the walking speed, the clock three times as fast: the moves
    # go out in real time, 50 ms apart, and the host's clock bounds the credit.
    alice = players()
    x, y, t0 = anchored(alice)
    refused = None
    for i in range(1, 21):
        alice.send_move(x, y + 3 * STEP_PX * i, t0 + 3 * STEP_MS * i)
        time.sleep(STEP_MS / 1000.0)  # real time between moves
        found = corrections(alice)
        if found:
            refused = found[0]
            break
    assert refused is not None and refused["reason"] == "too_fast"


def test_t_going_back_is_a_bad_payload(players):
    alice = players()
    x, y, t0 = anchored(alice)
    seq = alice.send_move(x, y + STEP_PX, t0 - 1)
    error = alice.wait_for(P.ERROR).data
    assert error["code"] == P.E_BAD_PAYLOAD and error["event"] == P.MOVE and "'t'" in error["message"]
    correction = alice.wait_for(P.CORRECTION).data
    assert correction == {"seq": seq, "x": x, "y": y, "reason": "bad_payload"}
    # The same time again is fine (two moves within a millisecond).
    alice.send_move(x, y + STEP_PX, t0)
    wait_for_position(alice, alice.session.user_id, (x, y + STEP_PX))


def test_t_must_be_a_whole_number_of_milliseconds(players):
    alice = players()
    you = alice.welcome["you"]
    for seq, t in enumerate((1.5, -1, "5", True), start=1):
        alice.emit(P.MOVE, {"seq": seq, "x": you["x"], "y": you["y"] + 1.0, "t": t})
        error = alice.wait_for(P.ERROR).data
        assert error["code"] == P.E_BAD_PAYLOAD and "'t'" in error["message"], t
