"""The fixed-rate tick: batched, interest-managed snapshots; positions saved every second.

Each tick, every player who moved is placed in their cell (see ``server.live``).
A player whose cell changed gets a personal ``area`` event first (who came into
and who left their area); then every occupied cell's room gets one
``snapshot`` of the movers in that cell's area, encoded once for all of the
cell's players, with ``gone`` listing players who walked out of the area.
Cells belong to one map (see ``server.live``): a player who went through an
exit to another map leaves every area of the old map and gets the new map's
area from scratch, like a player who just joined.
"""
from __future__ import annotations

import gc
import time
from collections import defaultdict

from game.core import protocol as P

from .context import HostContext, log
from .overload import ENTER_WINDOW_S
from .transport import compact_json
from .live import WORLD_ROOM, area, cell_of, cell_room

# After a stall longer than this many ticks the loop skips ahead instead of
# firing a burst of late ticks.
MAX_CATCH_UP_TICKS = 5
# Full garbage collections run right after a tick, this often, instead of
# whenever the allocator decides (up to 15 ms with a crowd online, which could
# land just before a tick was due).
FULL_COLLECTION_EVERY_S = 30.0
# Young collections after this many new container objects instead of 700:
# with a crowd online the default ran about 18 collections a second at ~1.5 ms
# each (3 % of a core); almost everything the host allocates is freed at once.
YOUNG_COLLECTION_THRESHOLD = 10_000


class Ticker:
    def __init__(self, ctx: HostContext):
        self.ctx = ctx
        self.period = 1.0 / ctx.config.tick_rate
        self.running = False
        self.tick_number = 0
        self._last_save = time.monotonic()
        self._last_full_collection = time.monotonic()
        self._gc_thresholds = gc.get_threshold()
        self._task = None

    def start(self) -> None:
        # A full garbage collection walks every tracked object and stops the
        # whole host meanwhile: with a crowd online that was the tick's worst
        # delay (75 to 190 ms here).  Everything allocated so far (modules,
        # the app, the map) lives as long as the host, so it is collected once
        # and then left out of later collections.
        gc.collect()
        gc.freeze()
        _, middle, _ = self._gc_thresholds
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, 2**31 - 1)  # full ones: see tick()
        self.running = True
        self._task = self.ctx.sio.start_background_task(self._run)

    def stop(self) -> None:
        self.running = False
        gc.set_threshold(*self._gc_thresholds)

    def _run(self) -> None:
        sleep = self.ctx.sio.sleep
        due = time.monotonic() + self.period
        while self.running:
            delay = due - time.monotonic()
            if delay > 0:
                sleep(delay)
            now = time.monotonic()
            if self.ctx.guard is not None:
                self.ctx.guard.stalls.alive(now)
            late = max(0.0, now - due)
            skipped = 0
            if late > MAX_CATCH_UP_TICKS * self.period:
                # Skip the ticks we missed (a stall: the machine was busy or
                # suspended), but record how late this one was and how many
                # never ran.
                skipped = int(late / self.period)
                due = now
            self.ctx.tick_stats.record(late, skipped)
            try:
                self.tick(now)
            except Exception:
                log.exception("tick failed")
            self._watch_load(now, late)
            due += self.period

    def _watch_load(self, now: float, late: float) -> None:
        """Slow the tick while the host is overloaded and say so (see
        ``server.overload``): the log, everyone online (``pace``) and
        /api/stats."""
        watch = self.ctx.overload
        if not watch.record(now, late, time.monotonic() - now, time.process_time()):
            return
        self.period = 1.0 / watch.tick_rate
        if watch.overloaded:
            log.warning("overloaded: falling behind (ticks late or long, or moves read late, "
                        "p90 over %g s); snapshots at %g Hz instead of %g until the load "
                        "falls", ENTER_WINDOW_S, watch.tick_rate, watch.normal_rate)
        else:
            log.warning("no longer overloaded: snapshots at %g Hz again", watch.tick_rate)
        self.ctx.transport.emit(P.PACE, watch.describe(), WORLD_ROOM)

    def tick(self, now: float) -> None:
        ctx = self.ctx
        self.tick_number += 1
        self.broadcast(now)
        if now - self._last_save >= ctx.config.save_interval_s:
            self._last_save = now
            ctx.storage.save_positions(ctx.world.take_unsaved())
            self._close_idle_connections(now)
        if now - self._last_full_collection >= FULL_COLLECTION_EVERY_S:
            self._last_full_collection = now
            gc.collect()

    def broadcast(self, now: float) -> None:
        """Send this tick's area changes and snapshots."""
        world = self.ctx.world
        with world.lock:
            moved = world.take_moved()
            if not moved:
                return
            movers, changes = self._place(moved)
            areas = self._area_events(changes)
            snapshots = self._snapshots(movers, changes)
        # Sent outside the lock (a slow socket's share waits in its queue).
        transport = self.ctx.transport
        for sid, payload in areas:
            transport.emit(P.AREA, payload, sid)
        for cell, data_json in snapshots:
            transport.emit_json(P.SNAPSHOT, data_json, cell_room(cell))
        self.ctx.tick_stats.snapshots_sent += len(snapshots)

    def _place(self, moved):
        """Group movers by cell and move players whose cell changed."""
        world, sio = self.ctx.world, self.ctx.sio
        by_uid, cells = world.by_uid, world.cells
        moved_in: dict[tuple[int, int, int], list] = defaultdict(list)
        changes = []  # (player, old cell or None, new cell)
        for uid, x, y in moved:
            player = by_uid[uid]
            cell = cell_of(x, y, player.level)
            moved_in[cell].append((uid, x, y))
            if cell != player.cell:
                changes.append((player, player.cell, cell))
        for player, old, new in changes:
            if old is not None:
                members = cells.get(old)
                if members is not None:
                    members.discard(player.user_id)
                    if not members:
                        del cells[old]
                sio.leave_room(player.sid, cell_room(old))
            cells.setdefault(new, set()).add(player.user_id)
            player.cell = new
            try:
                sio.enter_room(player.sid, cell_room(new))
            except ValueError:
                # The connection has just ended and its disconnect handler,
                # which takes the player out of the world, has not run yet.
                log.debug("player %s left while changing cells", player.user_id)
        # Each cell's movers are encoded once; every snapshot that covers the
        # cell (up to 25 of them) splices in the same text.
        movers = {cell: compact_json(P.pack_positions(entries))[1:-1]
                  for cell, entries in moved_in.items()}
        return movers, changes

    def _area_events(self, changes) -> list[tuple[str, dict]]:
        """Personal ``area`` events for players whose own cell changed."""
        if not changes:
            return []
        world = self.ctx.world
        by_uid, cells = world.by_uid, world.cells
        was_in = {player.user_id: old for player, old, _ in changes}
        events = []
        for player, old, new in changes:
            me = player.user_id
            now_area = area(new)
            if old is None or old[0] != new[0]:  # just joined or changed map: from scratch
                enter = [q for c in now_area for q in cells.get(c, ()) if q != me]
                events.append((player.sid, {"enter": _positions(by_uid, enter), "leave": [],
                                            "reset": True}))
                continue
            old_area = area(old)
            enter = []
            for c in now_area:
                for q in cells.get(c, ()):
                    before = was_in.get(q, c)
                    if q != me and (before is None or before not in old_area):
                        enter.append(q)
            leave = []
            for c in old_area - now_area:
                for q in cells.get(c, ()):
                    if q != me and was_in.get(q, c) in old_area:
                        leave.append(q)
            for other, before, after in changes:  # walked out of both areas at once
                q = other.user_id
                if (q != me and before in old_area and after not in now_area
                        and after not in old_area):
                    leave.append(q)
            if enter or leave:
                events.append((player.sid, {"enter": _positions(by_uid, enter), "leave": leave,
                                            "reset": False}))
        return events

    def _snapshots(self, movers, changes) -> list[tuple[tuple[int, int, int], str]]:
        """One snapshot per occupied cell, the movers in its area, as JSON
        ``{"tick":..,"t":..,"p":[..]}``."""
        gone: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for player, old, new in changes:
            if old is not None:
                for c in area(old) - area(new):
                    gone[c].append(player.user_id)
        head = f'{{"tick":{self.tick_number},"t":{round(time.time() * 1000.0)},"p":['
        out = []
        for cell in self.ctx.world.cells:
            parts = [movers[c] for c in area(cell) if c in movers]
            left = gone.get(cell)
            if parts or left:
                tail = f'],"gone":{compact_json(left)}}}' if left else "]}"
                out.append((cell, head + ",".join(parts) + tail))
        return out

    def _close_idle_connections(self, now: float) -> None:
        """Connections that authenticated but never joined hold resources for nothing."""
        ctx = self.ctx
        limit = ctx.config.join_timeout_s
        for sid, since in list(ctx.connected_at.items()):
            if sid not in ctx.world.by_sid and now - since > limit:
                ctx.end_session(sid, P.END_JOIN_TIMEOUT, "did not join the world in time")


def _positions(by_uid, uids) -> list:
    """[id, x, y, id, x, y, ...] of the given players."""
    players = (by_uid.get(uid) for uid in uids)
    return P.pack_positions([(p.user_id, p.x, p.y) for p in players if p is not None])
