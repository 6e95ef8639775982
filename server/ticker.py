"""The fixed-rate tick: one batched snapshot per tick, positions saved every second."""
from __future__ import annotations

import time

from game import protocol as P

from .context import HostContext, log
from .live import WORLD_ROOM

# After a stall longer than this many ticks the loop skips ahead instead of
# firing a burst of late ticks.
MAX_CATCH_UP_TICKS = 5


class Ticker:
    def __init__(self, ctx: HostContext):
        self.ctx = ctx
        self.period = 1.0 / ctx.config.tick_rate
        self.running = False
        self.tick_number = 0
        self._last_save = time.monotonic()
        self._task = None

    def start(self) -> None:
        self.running = True
        self._task = self.ctx.sio.start_background_task(self._run)

    def stop(self) -> None:
        self.running = False

    def _run(self) -> None:
        sleep = self.ctx.sio.sleep
        due = time.monotonic() + self.period
        while self.running:
            delay = due - time.monotonic()
            if delay > 0:
                sleep(delay)
            now = time.monotonic()
            if now - due > MAX_CATCH_UP_TICKS * self.period:
                due = now  # skip the ticks we missed
            self.ctx.tick_stats.record(max(0.0, now - due))
            try:
                self.tick(now)
            except Exception:
                log.exception("tick failed")
            due += self.period

    def tick(self, now: float) -> None:
        ctx = self.ctx
        self.tick_number += 1
        moved = ctx.world.take_moved()
        if moved:
            ctx.sio.emit(P.SNAPSHOT, {"tick": self.tick_number, "t": round(time.time() * 1000.0),
                                      "p": P.pack_positions(moved)}, to=WORLD_ROOM)
            ctx.tick_stats.snapshots_sent += 1
        if now - self._last_save >= ctx.config.save_interval_s:
            self._last_save = now
            ctx.storage.save_positions(ctx.world.take_unsaved())
            self._close_idle_connections(now)

    def _close_idle_connections(self, now: float) -> None:
        """Connections that authenticated but never joined hold resources for nothing."""
        ctx = self.ctx
        limit = ctx.config.join_timeout_s
        for sid, since in list(ctx.connected_at.items()):
            if sid not in ctx.world.by_sid and now - since > limit:
                ctx.end_session(sid, "join_timeout", "did not join the world in time")
