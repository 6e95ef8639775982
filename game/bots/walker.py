"""Where a scripted player walks: open spots, and steps towards them at walking speed."""
from __future__ import annotations

import math
import random
from typing import Protocol

from game.core import rules

# Crowd mode keeps every player inside this box around the spawn (half width,
# half height, pixels): well inside one screen, so everyone sees everyone.
CROWD_HALF_W = 240
CROWD_HALF_H = 180
# Targets farther than this (in x plus y) are not checked for a clear line.
LINE_CHECK_PX = 800
# A player whose loop stalled walks at most this long in one step (no teleports).
MAX_STEP_S = 0.25


class Walking(Protocol):
    """What ``Walker.advance`` moves: a position and a target."""
    x: float
    y: float
    target: tuple[float, float]


class Walker:
    """Picks open spots and walks towards them at walking speed."""

    def __init__(self, world: rules.WorldMap, targets: list[tuple[float, float]],
                 rng: random.Random):
        self.world = world
        self.targets = targets
        self.rng = rng

    def pick(self, x: float, y: float) -> tuple[float, float]:
        """A random target, preferably a near one in a straight line of sight
        (far ones are not checked: the player slides along the walls on its way)."""
        for _ in range(4):
            choice = self.rng.choice(self.targets)
            if (abs(choice[0] - x) + abs(choice[1] - y) <= LINE_CHECK_PX
                    and self.world.segment_free(x, y, *choice)):
                break
        return choice

    def advance(self, bot: Walking, dt: float) -> None:
        tx, ty = bot.target
        dx, dy = tx - bot.x, ty - bot.y
        dist = math.hypot(dx, dy)
        if dist < 4.0:
            bot.target = self.pick(bot.x, bot.y)
            return
        nx, ny = rules.step(self.world, bot.x, bot.y, dx / dist, dy / dist, min(dt, MAX_STEP_S))
        # Positions go out rounded to 0.1 px (as the host echoes them), so a
        # player can recognise its own position in a snapshot.
        nx, ny = round(nx, 1), round(ny, 1)
        free = self.world.segment_free
        if not free(bot.x, bot.y, nx, ny):
            # Sliding round a corner: the straight line clips the wall, and
            # the host checks straight lines.  Take one axis this step.
            nx, ny = (nx, bot.y) if free(bot.x, bot.y, nx, bot.y) else (bot.x, ny)
            if not free(bot.x, bot.y, nx, ny):
                nx, ny = bot.x, bot.y
        if (nx, ny) == (bot.x, bot.y):
            bot.target = self.pick(bot.x, bot.y)  # stuck against a wall
            return
        bot.x, bot.y = nx, ny


def targets_for(world: rules.WorldMap, mode: str) -> list[tuple[float, float]]:
    """Open spots to walk to: the whole map (``spread``) or around the spawn (``crowd``)."""
    ts = world.tile_size
    spots = [((tx + 0.5) * ts, (ty + 0.5) * ts) for tx, ty in world.walkable_tiles()]
    if mode == "crowd":
        sx, sy = world.spawn
        near = [(x, y) for x, y in spots
                if abs(x - sx) <= CROWD_HALF_W - ts and abs(y - sy) <= CROWD_HALF_H - ts]
        spots = near or [world.spawn]
    return spots
