"""The tick's personal ``area`` events against their definition, over many
random worlds: a player whose cell changed is told of exactly the players
now in its area that were not in its old area a tick ago (enter), and of
exactly the players that were in its old area and are not in its new one
(leave); one who arrived or changed map gets its whole area (reset).

The tick finds these without scanning every cell of the area (it looks at
the cells new to the area and at the other players who changed cell), so
it is checked here against a plain scan of everyone."""
from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from game.core import protocol as P
from server.live import area
from server.ticker import Ticker


def make_world(rng: random.Random, players: int, span: int, movers: int, levels: int = 2):
    """Players on random cells of ``levels`` maps; ``movers`` of them change
    cell this tick (a step to a neighbouring cell, a jump, a new map, or
    arriving from nowhere).  Returns (ticker, changes, before, after)."""
    by_uid, cells, before, after = {}, {}, {}, {}
    for uid in range(1, players + 1):
        cell = (rng.randrange(levels), rng.randrange(span), rng.randrange(span))
        before[uid] = after[uid] = cell
        by_uid[uid] = SimpleNamespace(user_id=uid, sid=f"s{uid}", sent=(uid * 4, uid * 8),
                                      step=(1, -1), x=0.0, y=0.0, cell=cell, node=None)
    changes = []
    for uid in rng.sample(sorted(by_uid), min(movers, players)):
        old = before[uid]
        kind = rng.random()
        if kind < 0.6:
            new = (old[0], old[1] + rng.choice((-1, 0, 1)), old[2] + rng.choice((-1, 1)))
        elif kind < 0.8:
            new = (old[0], rng.randrange(span), rng.randrange(span))
        elif kind < 0.9:
            new = ((old[0] + 1) % levels, old[1], old[2])
        else:
            new, old = old, None  # just joined
            before[uid] = None
        if old is not None and new == old:
            continue
        after[uid] = new
        changes.append((by_uid[uid], old, new))
    for uid, cell in after.items():
        cells.setdefault(cell, set()).add(uid)
    ctx = SimpleNamespace(world=SimpleNamespace(by_uid=by_uid, everyone=by_uid, cells=cells))
    ticker = Ticker.__new__(Ticker)
    ticker.ctx = ctx
    return ticker, changes, before, after


def expected(me: int, old, new, before: dict, after: dict):
    """(enter ids, leave ids, reset) by a scan of everyone."""
    if old is None or old[0] != new[0]:
        return sorted(q for q, c in after.items() if q != me and c in area(new)), [], True
    old_area, now_area = area(old), area(new)
    enter = sorted(q for q in after if q != me and after[q] in now_area
                   and (before[q] is None or before[q] not in old_area))
    leave = sorted(q for q in after if q != me and before[q] is not None
                   and before[q] in old_area and after[q] not in now_area)
    return enter, leave, False


@pytest.mark.parametrize("seed", range(40))
def test_area_events_tell_exactly_who_came_into_view_and_who_left(seed):
    rng = random.Random(seed)
    ticker, changes, before, after = make_world(
        rng, players=rng.randrange(5, 120), span=rng.randrange(3, 12),
        movers=rng.randrange(1, 5) if seed % 2 else rng.randrange(5, 40))
    events = dict(ticker._area_events(changes))
    told = 0
    for player, old, new in changes:
        enter, leave, reset = expected(player.user_id, old, new, before, after)
        payload = events.get(player.sid)
        if payload is None:
            assert not enter and not leave and not reset, (player.user_id, old, new)
            continue
        told += 1
        got_enter, got_leave, got_reset = P.decode_area(payload)
        assert [e[0] for e in got_enter] == enter
        assert sorted(got_leave) == leave
        assert got_reset is reset
        for pid, qx, qy, sx, sy in got_enter:  # the position and step last sent
            assert (qx, qy, sx, sy) == (pid * 4, pid * 8, 1, -1)
    assert len(events) == told
