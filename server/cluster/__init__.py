"""One world served by several host processes, through Redis (``--redis``).

``bus.Bus`` is the process's only connection to Redis; ``Cluster`` holds it
and the parts of the world built on it.  A host without ``--redis`` has no
``Cluster`` (``HostContext.cluster`` is None) and serves its world alone.
"""
from __future__ import annotations

from typing import Any

from . import limits, messages
from .bus import Bus
from .world import ClusterWorld


class Cluster:
    """This process's place among the processes serving one world."""

    def __init__(self, ctx: Any, bus: Bus):
        self.ctx = ctx
        self.bus = bus
        self.node = bus.node
        self.world = ClusterWorld(ctx, bus)  # players and moves of every process
        self.messages = messages.install(self)  # takeover, positions, DMs, moderation
        self.limits = limits.install(self)  # login throttles, joins, DMs: world-wide

    def start(self) -> None:
        """Connect to Redis (or keep trying) beside the host's other tasks."""
        self.bus.start(self.ctx.sio.start_background_task)
        self.messages.start()

    def stop(self) -> None:
        self.messages.stop()
        self.world.stop()
        self.bus.close()

    def health(self) -> dict:
        """The cluster's part of /api/health."""
        return {**self.bus.health(), **self.world.health()}
