"""The speed budget by the client's clock: moves read late in a burst are
judged as they were walked, and a fast clock gains nothing over real time."""
from __future__ import annotations

import pytest

from game.core.rules import (CLIENT_CLOCK_BANK_MAX_S, MOVE_BUDGET_MAX_S, SPEED_SLACK, TOO_FAST,
                             WALK_SPEED, MoveBudget, WorldMap, check_move)

STEP_S = 0.05
STEP_PX = WALK_SPEED * STEP_S  # 8 px: an honest move at 20 Hz


@pytest.fixture(scope="module")
def world() -> WorldMap:
    return WorldMap.from_rows(["S" + "." * 49] + ["." * 50] * 3)  # open ground, 1600 px wide


def open_row(world: WorldMap) -> tuple[float, float]:
    """A point with room for 40 moves of triple speed to its east."""
    return 48.0, 48.0


def walk(world, budget, start, moves, host_times, client_times, px=STEP_PX):
    """Each move ``px`` further east; the reasons, None for accepted."""
    reasons, (x, y) = [], start
    for i, (now, t) in enumerate(zip(host_times, client_times), start=1):
        target = (start[0] + i * px, y)
        reason = check_move(world, budget, (x, y), target, now, t)
        if reason is None:
            x = target[0]
        reasons.append(reason)
        if i == moves:
            break
    return reasons


def test_a_burst_read_late_is_all_accepted(world):
    # 40 moves walked 50 ms apart (2 s of walking), read by a host that
    # stood still for those 2 s and then read all of them at once.
    start = open_row(world)
    budget = MoveBudget.full(now=0.0)
    assert check_move(world, budget, start, start, 0.0, 100.0) is None  # the clock's anchor
    client = [100.0 + STEP_S * i for i in range(1, 41)]
    host = [2.0 + 0.0001 * i for i in range(1, 41)]
    assert walk(world, budget, start, 40, host, client) == [None] * 40


def test_the_same_burst_by_the_host_clock_is_refused(world):
    # What the host did before moves carried the client's time.
    start = open_row(world)
    budget = MoveBudget.full(now=0.0)
    host = [2.0 + 0.0001 * i for i in range(1, 41)]
    reasons = walk(world, budget, start, 40, host, [None] * 40)
    assert TOO_FAST in reasons


def test_a_fast_clock_gains_nothing_over_real_time(world):
    # A client whose clock runs three times too fast walks three times too
    # fast, moves sent in real time 50 ms apart: refused once the budget and
    # the bank are spent.
    start = open_row(world)
    budget = MoveBudget.full(now=0.0)
    check_move(world, budget, start, start, 0.0, 0.0)
    host = [STEP_S * i for i in range(1, 41)]
    client = [3 * STEP_S * i for i in range(1, 41)]
    reasons = walk(world, budget, start, 40, host, client, px=3 * STEP_PX)
    assert TOO_FAST in reasons
    accepted = reasons.count(None) * 3 * STEP_PX
    real = host[-1] * WALK_SPEED * SPEED_SLACK + WALK_SPEED * MOVE_BUDGET_MAX_S
    assert accepted <= real


def test_credit_never_exceeds_the_host_time(world):
    budget = MoveBudget(available=0.0, updated_at=0.0)
    budget.refill_by_client(0.0, 0.0)
    budget.refill_by_client(0.1, 10.0)  # claims 10 s, 0.1 s passed
    assert budget.available == pytest.approx(0.1 * WALK_SPEED * SPEED_SLACK)
    assert budget.bank == 0.0


def test_the_bank_is_bounded(world):
    budget = MoveBudget(available=0.0, updated_at=0.0)
    budget.refill_by_client(0.0, 0.0)
    budget.refill_by_client(60.0, 0.0)  # a minute on the host, no time on the client
    assert budget.bank == CLIENT_CLOCK_BANK_MAX_S
    budget.available = 0.0
    budget.refill_by_client(60.0, 60.0)  # a minute on the client, none on the host
    assert budget.available == pytest.approx(
        min(budget.capacity, CLIENT_CLOCK_BANK_MAX_S * WALK_SPEED * SPEED_SLACK))
    assert budget.bank == 0.0


def test_the_first_stamped_move_counts_by_the_host_clock():
    budget = MoveBudget(available=0.0, updated_at=0.0)
    budget.refill_by_client(0.2, 5000.0)
    assert budget.available == pytest.approx(0.2 * WALK_SPEED * SPEED_SLACK)
    assert budget.client_at == 5000.0


def test_a_clock_going_back_is_noticed_and_a_new_connection_forgets_it():
    budget = MoveBudget.full(now=0.0)
    assert not budget.clock_went_back(1.0)
    budget.refill_by_client(0.1, 5.0)
    assert budget.clock_went_back(4.999) and not budget.clock_went_back(5.0)
    budget.new_client_clock()
    assert not budget.clock_went_back(1.0) and budget.bank == 0.0


def test_moves_without_a_time_keep_the_host_clock_rule(world):
    start = open_row(world)
    budget = MoveBudget.full(now=0.0)
    reasons = walk(world, budget, start, 40, [STEP_S * i for i in range(1, 41)], [None] * 40)
    assert reasons == [None] * 40
    budget.available = 0.0
    budget.updated_at = 10.0
    assert check_move(world, budget, start, (start[0] + STEP_PX, start[1]), 10.01) == TOO_FAST
