"""The fixed-rate tick: batched, interest-managed snapshots; positions saved every second.

Each tick first tells everyone who joined and who left since the last one
(``players_left``, ``players_joined``: see ``server.presence``).
Each tick, every player who moved is placed in their cell (see ``server.live``).
A player whose cell changed gets a personal ``area`` event first (who came into
and who left their area); then every occupied cell's room gets one
``snapshot`` of the movers in that cell's area, encoded once for all of the
cell's players, with ``gone`` listing players who walked out of the area.
Cells belong to one map (see ``server.live``): a player who went through an
exit to another map leaves every area of the old map and gets the new map's
area from scratch, like a player who just joined.

Snapshots and areas are binary (``protocol.encode_snapshot``): each mover
goes whole or as the change of its step against what the host last sent of
it (``LivePlayer.sent`` / ``step``, updated once per tick after the area
events, whose ``enter`` lists give those same positions).  Players in the
outer ring of an area get every update like the nearest: in a crowd that
ring holds about 3 % of what a client receives (``python -m
bench.bandwidth``, "outer_ring_share"), and a client that skipped a tick's
deltas would need the mover whole again, which costs more than it saves.
"""
from __future__ import annotations

import gc
import sys
import time
from collections import defaultdict

from game.core import protocol as P

from .context import HostContext, log
from .live import WORLD_ROOM, area, cell_of, cell_room
from .overload import ENTER_WINDOW_S

# After a stall longer than this many ticks the loop skips ahead instead of
# firing a burst of late ticks.
MAX_CATCH_UP_TICKS = 5
# The host collects garbage itself, right after a tick, never in between:
# a collection the allocator starts stops the whole host, and one that lands
# when a tick falls due makes it late.  With a crowd joining, collections of
# the middle generation took 40 to 55 ms there (tick lateness p99 14-36 ms in a
# storm of 500 joins).  After a tick there is the rest of the period to spare.
# Young collections run after this many new container objects (not 700: with a
# crowd online that ran about 18 collections a second at ~1.5 ms each, 3 % of a
# core; almost everything the host allocates is freed at once) ...
YOUNG_COLLECTION_THRESHOLD = 10_000
# ... the middle generation with every second one (each stays short) ...
MIDDLE_COLLECTION_EVERY = 2
# ... and a full collection this often.
FULL_COLLECTION_EVERY_S = 30.0
# A collection waits for a tick that leaves at least this long before the
# next one (a young or middle one takes up to ~16 ms with 500 joining, a full
# one ~50 ms), unless garbage piled up to this many times the threshold.
GC_SPARE_S = 0.025
GC_PILE_UP = 4
# How long another thread of the host (the storage thread, under eventlet)
# may keep the interpreter before the event loop gets it back (Python's
# default is 5 ms): a tick that falls due while the storage thread builds rows
# waits at most this long.
SWITCH_INTERVAL_S = 0.001


class Ticker:
    def __init__(self, ctx: HostContext):
        self.ctx = ctx
        self.period = 1.0 / ctx.config.tick_rate
        self.running = False
        self.tick_number = 0
        self._last_save = time.monotonic()
        self._last_full_collection = time.monotonic()
        self._gc_was_enabled = True
        self._switch_interval = sys.getswitchinterval()
        self._task = None
        # The world's other processes (server.cluster.world.ClusterWorld), or None.
        cluster = getattr(ctx, "cluster", None)
        self.cluster = cluster.world if cluster is not None else None

    def start(self) -> None:
        # A full garbage collection walks every tracked object and stops the
        # whole host meanwhile: with a crowd online that was the tick's worst
        # delay (75 to 190 ms here).  Everything allocated so far (modules,
        # the app, the map) lives as long as the host, so it is collected once
        # and then left out of later collections.
        gc.collect()
        gc.freeze()
        self._gc_was_enabled = gc.isenabled()
        gc.disable()  # see collect_garbage
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
        self.running = True
        self.next_due = time.monotonic() + self.period
        desk = getattr(self.ctx, "join_desk", None)
        if desk is not None:
            desk.next_tick_in = lambda: self.next_due - time.monotonic()
        self._task = self.ctx.sio.start_background_task(self._run)

    def stop(self) -> None:
        self.running = False
        desk = getattr(self.ctx, "join_desk", None)
        if desk is not None:
            desk.next_tick_in = lambda: float("inf")
        if self._gc_was_enabled:
            gc.enable()
        sys.setswitchinterval(self._switch_interval)

    def _run(self) -> None:
        sleep = self.ctx.sio.sleep
        cluster = self.cluster
        due = self.next_due = time.monotonic() + self.period
        while self.running:
            if cluster is not None:
                # The world's processes tick together, on the wall clock's
                # grid of periods (see server.cluster.world.exchange).
                due = self.next_due = cluster.align(due, self.period)
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
            self.next_due = due
            self.collect_garbage(now, due - time.monotonic())

    def _watch_load(self, now: float, late: float) -> None:
        """Slow the tick while the host is overloaded and say so (see
        ``server.overload``): the log, everyone online (``pace``) and
        /api/stats."""
        watch = self.ctx.overload
        work = time.monotonic() - now
        if self.cluster is not None:  # waiting for the other processes is not work
            work -= self.cluster.last_wait_s
        if not watch.record(now, late, work, time.process_time()):
            return
        self.period = 1.0 / watch.tick_rate
        if watch.overloaded:
            log.warning("overloaded: falling behind over the last %g s (%s); snapshots at "
                        "%g Hz instead of %g until the load falls", ENTER_WINDOW_S,
                        watch.reason, watch.tick_rate, watch.normal_rate)
        else:
            log.warning("no longer overloaded: snapshots at %g Hz again", watch.tick_rate)
        self.ctx.transport.emit(P.PACE, watch.describe(), WORLD_ROOM)

    def tick(self, now: float) -> None:
        ctx = self.ctx
        self.tick_number += 1
        ctx.presence.flush()  # who joined and left: before snapshots that show them
        self.broadcast(now)
        if self.cluster is not None:
            self.cluster.after_tick()
        if now - self._last_save >= ctx.config.save_interval_s:
            self._last_save = now
            ctx.storage.save_positions(ctx.world.take_unsaved())
            self._close_idle_connections(now)

    def collect_garbage(self, now: float, spare_s: float) -> int | None:
        """Collect what the last periods left, as the allocator would have
        (see YOUNG_COLLECTION_THRESHOLD), when ``spare_s`` seconds are left
        before the next tick falls due (or garbage has piled up); returns
        the generation collected."""
        young, young_runs, _ = gc.get_count()
        if spare_s < GC_SPARE_S and young < GC_PILE_UP * YOUNG_COLLECTION_THRESHOLD:
            return None
        if now - self._last_full_collection >= FULL_COLLECTION_EVERY_S:
            self._last_full_collection = now
            gc.collect()
            return 2
        if young < YOUNG_COLLECTION_THRESHOLD:
            return None
        generation = 1 if young_runs + 1 >= MIDDLE_COLLECTION_EVERY else 0
        gc.collect(generation)
        return generation

    def broadcast(self, now: float) -> None:
        """Send this tick's area changes and snapshots."""
        world, cluster = self.ctx.world, self.cluster
        with world.lock:
            moved = world.take_moved()
            if cluster is None:
                if not moved:
                    return
                areas, snapshots = self._build(moved)
        if cluster is not None:
            # This tick's movers here go to the world's other processes, and
            # theirs (of this same tick) come in, before anything is sent.
            moved = cluster.exchange(moved, self.next_due, self.period)
            with world.lock:
                if not moved:
                    return
                areas, snapshots = self._build(moved)
        # Sent outside the lock (a slow socket's share waits in its queue).
        transport = self.ctx.transport
        for sid, payload in areas:
            transport.emit_binary(P.AREA, payload, sid)
        for cell, data in snapshots:
            transport.emit_binary(P.SNAPSHOT, data, cell_room(cell))
        self.ctx.tick_stats.snapshots_sent += len(snapshots)

    def _build(self, moved):
        """This tick's area events and snapshots (``world.lock`` held)."""
        movers, changes, sent = self._place(moved)
        # Area events give the positions the host last sent, which this
        # tick's deltas apply to; only then do the movers' positions count
        # as sent.
        areas = self._area_events(changes)
        for player, q, step in sent:
            player.sent, player.step = q, step
        return areas, self._snapshots(movers, changes)

    def _place(self, moved):
        """Group movers by cell, move players whose cell changed, and decide
        who goes absolute and who as a delta against the position last sent."""
        world, sio = self.ctx.world, self.ctx.sio
        by_uid, cells = world.everyone, world.cells
        # cell -> ([(id, qx, qy) absolute], [(id, ax, ay) changes of step])
        moved_in: dict[tuple[int, int, int], tuple[list, list]] = {}
        changes = []  # (player, old cell or None, new cell)
        sent = []  # (player, quantised position, step), applied after the area events
        keyframe, tick = P.KEYFRAME_TICKS, self.tick_number
        limit = P.DELTA_MAX
        quantise = P.quantise
        for uid, x, y in moved:
            player = by_uid.get(uid)
            if player is None:  # a remote player gone while this tick waited for the others
                continue
            cell = cell_of(x, y, player.level)
            entries = moved_in.get(cell)
            if entries is None:
                entries = moved_in[cell] = ([], [])
            qx, qy = quantise(x), quantise(y)
            last = player.sent
            if cell != player.cell:
                changes.append((player, player.cell, cell))
                last = None  # new to some areas: everyone gets it whole
            if last is not None and (tick + uid) % keyframe:
                dx, dy = qx - last[0], qy - last[1]
                ax, ay = dx - player.step[0], dy - player.step[1]
                if (-limit <= dx <= limit and -limit <= dy <= limit
                        and -limit <= ax <= limit and -limit <= ay <= limit):
                    entries[1].append((uid, ax, ay))
                    sent.append((player, (qx, qy), (dx, dy)))
                    continue
            entries[0].append((uid, qx, qy))
            sent.append((player, (qx, qy), (0, 0)))
        for player, old, new in changes:
            if old is not None:
                members = cells.get(old)
                if members is not None:
                    members.discard(player.user_id)
                    if not members:
                        del cells[old]
                if player.node is None:
                    sio.leave_room(player.sid, cell_room(old))
            cells.setdefault(new, set()).add(player.user_id)
            player.cell = new
            if player.node is not None:  # another process's player: no connection here
                continue
            try:
                sio.enter_room(player.sid, cell_room(new))
            except ValueError:
                # The connection has just ended and its disconnect handler,
                # which takes the player out of the world, has not run yet.
                log.debug("player %s left while changing cells", player.user_id)
        return moved_in, changes, sent

    def _area_events(self, changes) -> list[tuple[str, bytes]]:
        """Personal ``area`` events for players whose own cell changed."""
        if not changes:
            return []
        world = self.ctx.world
        by_uid, cells = world.everyone, world.cells
        was_in = {player.user_id: old for player, old, _ in changes}
        events = []
        for player, old, new in changes:
            if player.node is not None:  # another process's player: told there
                continue
            me = player.user_id
            now_area = area(new)
            if old is None or old[0] != new[0]:  # just joined or changed map: from scratch
                enter = [q for c in now_area for q in cells.get(c, ()) if q != me]
                events.append((player.sid, P.encode_area(_positions(by_uid, enter), [], True)))
                continue
            old_area = area(old)
            # Who comes into view: everyone in the cells new to the area
            # (unless they were in the old area a moment ago), and players who
            # moved into the cells both areas share from outside the old one;
            # who leaves it: everyone in the cells it lost (who was in the old
            # area), and players who walked out of both areas at once.
            enter = []
            for c in now_area - old_area:
                for q in cells.get(c, ()):
                    before = was_in.get(q, c)
                    if q != me and (before is None or before not in old_area):
                        enter.append(q)
            leave = []
            for c in old_area - now_area:
                for q in cells.get(c, ()):
                    if q != me and was_in.get(q, c) in old_area:
                        leave.append(q)
            for other, before, after in changes:
                q = other.user_id
                if q == me or (after in old_area and before in old_area):
                    continue
                if after in old_area and after in now_area:  # came into the shared cells
                    enter.append(q)
                elif (before in old_area and after not in now_area
                      and after not in old_area):  # walked out of both areas at once
                    leave.append(q)
            if enter or leave:
                events.append((player.sid, P.encode_area(_positions(by_uid, enter), leave,
                                                         False)))
        return events

    def _snapshots(self, movers, changes) -> list[tuple[tuple[int, int, int], bytes]]:
        """One binary snapshot per occupied cell: the movers in its area
        (``protocol.encode_snapshot``), encoded once for all of its players."""
        gone: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for player, old, new in changes:
            if old is not None:
                for c in area(old) - area(new):
                    gone[c].append(player.user_id)
        tick, t_ms = self.tick_number, round(time.time() * 1000.0)
        out = []
        encode = P.encode_snapshot
        world = self.ctx.world
        cells, local = world.cells, world.by_uid
        remote = world.remote
        for cell in cells:
            if remote and not any(uid in local for uid in cells[cell]):
                continue  # only other processes' players stand here: nobody to send to
            absolute: list = []
            deltas: list = []
            for c in area(cell):
                entries = movers.get(c)
                if entries is not None:
                    absolute += entries[0]
                    deltas += entries[1]
            left = gone.get(cell)
            if absolute or deltas or left:
                absolute.sort()
                deltas.sort()
                out.append((cell, encode(tick, t_ms, absolute, deltas, left or ())))
        return out

    def _close_idle_connections(self, now: float) -> None:
        """Connections that authenticated but never joined hold resources for nothing."""
        ctx = self.ctx
        limit = ctx.config.join_timeout_s
        for sid, since in list(ctx.connected_at.items()):
            if sid not in ctx.world.by_sid and now - since > limit:
                ctx.end_session(sid, P.END_JOIN_TIMEOUT, "did not join the world in time")


def _positions(by_uid, uids) -> list[tuple[int, int, int, int, int]]:
    """(id, qx, qy, sx, sy) of the given players: the position and step the
    host last sent of each (what the deltas that follow apply to), in wire
    units."""
    out = []
    for uid in uids:
        p = by_uid.get(uid)
        if p is not None:
            q = p.sent if p.sent is not None else (P.quantise(p.x), P.quantise(p.y))
            out.append((uid, q[0], q[1], p.step[0], p.step[1]))
    return out
