"""The host's shared state, handed to every handler module."""
from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from game.core import protocol as P
from game.core.bundle import MapBundle

from .accounts import Accounts, Identity
from .config import HostConfig
from .live import LiveWorld
from .overload import OverloadWatch
from .runtime import Runtime
from .storage import Storage

log = logging.getLogger("server")


# Upper bounds (ms) of the tick lateness histogram in /api/stats; the last
# bucket holds everything later.
LATENESS_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 250, 1000, 5000)


@dataclass
class TickStats:
    """Tick timing, kept for /api/stats and the benchmarks."""

    ticks: int = 0
    snapshots_sent: int = 0
    lateness_ms: list[float] = field(default_factory=list)
    # Ticks that never ran because the loop skipped ahead after a stall.
    skipped: int = 0
    # Every tick since the start, counted by lateness (LATENESS_BUCKETS_MS).
    histogram: list[int] = field(default_factory=lambda: [0] * (len(LATENESS_BUCKETS_MS) + 1))
    worst_ms: float = 0.0

    def record(self, lateness_s: float, skipped: int = 0) -> None:
        late_ms = lateness_s * 1000.0
        self.ticks += 1
        self.skipped += skipped
        self.worst_ms = max(self.worst_ms, late_ms)
        self.histogram[bisect.bisect_left(LATENESS_BUCKETS_MS, late_ms)] += 1
        self.lateness_ms.append(late_ms)
        if len(self.lateness_ms) > 4096:
            del self.lateness_ms[:2048]

    def recent_max(self, ticks: int) -> float | None:
        """The worst lateness among the last ``ticks`` ticks."""
        recent = self.lateness_ms[-ticks:] if ticks > 0 else []
        return round(max(recent), 2) if recent else None

    def summary(self) -> dict[str, Any]:
        values = sorted(self.lateness_ms)
        totals = {"ticks_skipped": self.skipped,
                  "lateness_worst_ms": round(self.worst_ms, 2) if self.ticks else None,
                  "lateness_histogram_ms": {
                      **{f"<={b}": n for b, n in zip(LATENESS_BUCKETS_MS, self.histogram)},
                      f">{LATENESS_BUCKETS_MS[-1]}": self.histogram[-1]}}
        if not values:
            return {"ticks": self.ticks, "lateness_p50_ms": None, "lateness_p99_ms": None,
                    "lateness_max_ms": None, **totals}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)
        return {"ticks": self.ticks, "lateness_p50_ms": pick(0.5),
                "lateness_p99_ms": pick(0.99), "lateness_max_ms": round(values[-1], 2), **totals}


@dataclass
class HostContext:
    config: HostConfig
    sio: Any  # socketio.Server
    runtime: Runtime
    storage: Storage
    accounts: Accounts
    world: LiveWorld
    # Accepted connections (joined or not yet): sid -> who.
    connections: dict[str, Identity] = field(default_factory=dict)
    connected_at: dict[str, float] = field(default_factory=dict)
    tick_stats: TickStats = field(default_factory=TickStats)
    # Whether the host is overloaded and its tick rate now (server.overload).
    overload: OverloadWatch | None = None
    # The world's maps as served, bundle hash -> MapBundle, and the one new
    # players start on (see game.core.bundle and GET /api/maps/<hash>.zip).
    maps: dict[str, MapBundle] = field(default_factory=dict)
    start_map: MapBundle | None = None
    started_at: float = field(default_factory=time.time)
    # Limits on the connections themselves (packet rate, idle and slow sockets).
    guard: Any = None  # server.limits.ConnectionGuard
    # The host's one door below python-socketio / Engine.IO / eventlet:
    # fan-out to rooms, fast events, sessions (server.transport.Transport).
    transport: Any = None
    # Joins per account, whichever connection they come on (see session.join).
    joins: dict[int, Any] = field(default_factory=dict)
    # Players part-way through join: user id -> DMs that arrived meanwhile,
    # handed over in the welcome instead of live (see session.join).
    joining: dict[int, list[dict]] = field(default_factory=dict)
    joining_sids: set[str] = field(default_factory=set)
    # Message ids a player already got in its welcome, so a live copy of one
    # that was in flight during the join is not delivered twice.
    replayed: dict[int, set[int]] = field(default_factory=dict)
    # Keeping order: roles, bans, mutes and every moderator action
    # (server.moderation.Moderation).
    moderation: Any = None
    # This tick's joins and leaves, sent to everyone once per tick
    # (server.presence.Presence).
    presence: Any = None
    # Where joins enter the world, a few ms of them per turn of the event
    # loop (server.presence.JoinDesk).
    join_desk: Any = None
    # The other host processes serving this world (server.cluster.Cluster,
    # with --redis); None: this host serves its world alone.
    cluster: Any = None

    def __post_init__(self) -> None:
        if self.overload is None:
            self.overload = OverloadWatch(self.config.tick_rate)

    def send_error(self, sid: str, code: str, message: str, event: str | None = None) -> dict:
        """Tell one client what was wrong; returns the same shape for an ack."""
        payload = P.error_payload(code, message, event)
        self.sio.emit(P.ERROR, payload, to=sid)
        return {"ok": False, "error": code, "message": message}

    def end_session(self, sid: str, reason: str, message: str, **extra: Any) -> None:
        """Tell a client why (``extra``: more fields for the goodbye, such as a
        ban's ``until``), then drop its connection (and, a moment later, the
        transport under it, in case the client ignores the goodbye)."""
        self.sio.emit(P.SESSION_ENDED, {"reason": reason, "message": message, **extra}, to=sid)
        if self.guard is not None:
            self.guard.close_sid_soon(sid, reason)
        self.sio.disconnect(sid)
