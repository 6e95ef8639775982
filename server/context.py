"""The host's shared state, handed to every handler module."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from game import protocol as P

from .accounts import Accounts, Identity
from .config import HostConfig
from .live import LiveWorld
from .runtime import Runtime
from .storage import Storage

log = logging.getLogger("server")


@dataclass
class TickStats:
    """Tick timing, kept for /api/stats and the benchmarks."""

    ticks: int = 0
    snapshots_sent: int = 0
    lateness_ms: list[float] = field(default_factory=list)

    def record(self, lateness_s: float) -> None:
        self.ticks += 1
        self.lateness_ms.append(lateness_s * 1000.0)
        if len(self.lateness_ms) > 4096:
            del self.lateness_ms[:2048]

    def summary(self) -> dict[str, Any]:
        values = sorted(self.lateness_ms)
        if not values:
            return {"ticks": self.ticks, "lateness_p50_ms": None, "lateness_p99_ms": None,
                    "lateness_max_ms": None}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 2)
        return {"ticks": self.ticks, "lateness_p50_ms": pick(0.5),
                "lateness_p99_ms": pick(0.99), "lateness_max_ms": round(values[-1], 2)}


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
    started_at: float = field(default_factory=time.time)

    def send_error(self, sid: str, code: str, message: str, event: str | None = None) -> dict:
        """Tell one client what was wrong; returns the same shape for an ack."""
        payload = P.error_payload(code, message, event)
        self.sio.emit(P.ERROR, payload, to=sid)
        return {"ok": False, "error": code, "message": message}

    def end_session(self, sid: str, reason: str, message: str) -> None:
        """Tell a client why, then drop its connection."""
        self.sio.emit(P.SESSION_ENDED, {"reason": reason, "message": message}, to=sid)
        self.sio.disconnect(sid)
