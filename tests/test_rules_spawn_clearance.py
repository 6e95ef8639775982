"""Room around a spot (rules._Buckets.clearance) skips far points without
measuring them; the answers must be exactly those of measuring everyone."""
from __future__ import annotations

import math
import random

from game.core import rules


def measured(points, x: float, y: float, gap: float) -> float:
    nearest = min((math.hypot(px - x, (py - y) / rules.PERSONAL_SPACE_TALL)
                   for px, py in points), default=math.inf)
    return nearest if nearest < gap else math.inf


def test_clearance_is_the_distance_to_the_nearest_point_within_the_gap():
    rng = random.Random(5)
    for gap in (rules.PERSONAL_SPACE_PX, 1.0, 40.0):
        points = [(rng.uniform(0, 600), rng.uniform(0, 600)) for _ in range(1500)]
        # Points on bucket edges and exactly a gap away as well.
        points += [(gap * 3, gap * 4), (gap * 4, gap * 4), (gap * 3, gap * 4 + gap * 2)]
        buckets = rules._Buckets(points, gap)
        probes = [(rng.uniform(-20, 620), rng.uniform(-20, 620)) for _ in range(1500)]
        probes += [(gap * 3, gap * 4), (gap * 3.5, gap * 4), (gap * 3, gap * 5)]
        for x, y in probes:
            assert buckets.clearance(x, y) == measured(points, x, y, gap), (gap, x, y)


def test_a_crowd_at_the_spawn_is_placed_as_before():
    world = rules.load_world()
    occupied: list[tuple[float, float]] = []
    for _ in range(300):
        occupied.append(world.start_position(None, occupied))
    # Nobody on the same spot while free spots remain, all spots walkable.
    assert all(world.box_free(x, y) for x, y in occupied)
    assert len(set(occupied[:50])) == 50
