"""Limits on the connections themselves, below the game's events.

The game-level rules live here (packet rates, strikes, which packets are
refused and why, when a connection is closed); everything that touches
python-socketio, python-engineio or eventlet goes through ``server.transport``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any, Callable

from game.core import protocol as P

from .ratelimit import (CATCH_UP_MIN_RATE, STALL_THRESHOLD_S, Pace, SlidingWindow,  # noqa: F401
                        StallClock, Strikes)
from .transport import Transport, wire

log = logging.getLogger("server.limits")

# Event names a client may not use: Socket.IO's own and the catch-all.
RESERVED_EVENTS = ("connect", "connect_error", "disconnect", "*")

# Why a packet is refused before any handler sees it, by what the transport
# found in it (see transport.wire.packet_kind).  Binary packets are refused
# unread: waiting for their attachments would take the connection's next
# packets for them.
REFUSED_PACKETS = {
    wire.BINARY_MESSAGE: "binary messages are not part of the protocol; packet dropped",
    wire.BINARY_ATTACHMENTS: "binary attachments are not part of the protocol; packet dropped",
    wire.NAME_NOT_TEXT: "an event's name must be a string",
    wire.NAME_ESCAPED: "an event's name must be plain text, without escapes",
}
RESERVED_NOTICE = "event names connect, disconnect and * are reserved"


class ConnectionGuard:
    """Limits on connections themselves, below the game's events.

    * Every packet a connection sends counts against ``PACKETS_PER_SECOND``;
      extra ones, and ones that cannot be decoded, are dropped, and a
      connection that keeps sending them is ended.
    * An Engine.IO connection with no accepted Socket.IO session (it never
      sent a valid token, or the host ended its session) is closed after
      ``connect_timeout_s``.
    * A client that does not read what the host sends is closed once
      ``outbox_max`` packets wait for it, so its backlog cannot grow without
      bound.
    * An event must be named by a plain string that is not one of Socket.IO's
      own.  Where an accepted event runs is the handlers' rule
      (``server.events``): ``fast_events`` go straight to their handler
      through the transport, ``beside_events`` (they wait on the disk) run
      beside the connection's reader, the rest in order on it.
    * A websocket that died without Engine.IO noticing ends its session.
    * Binary packets (Socket.IO BINARY_EVENT and BINARY_ACK, and binary
      Engine.IO messages) are refused without being read: waiting for their
      attachments would take the connection's next packets for them.
    * A dropped event that asked for an ack gets one, saying why.
    * Rate limits judge packets by ``Pace`` (see StallClock), so a host that
      stood still does not take its backlog for a flood.

    Closing cuts the transport itself, so a client that ignores the
    protocol's goodbye cannot hold anything open.
    """

    def __init__(self, sio: Any, transport: Transport, *, connect_timeout_s: float,
                 outbox_max: int, on_flood: Callable[[str], None],
                 on_notice: Callable[[str, str, str], None],
                 packets_per_second: int = P.PACKETS_PER_SECOND,
                 flood_drops_max: int = P.FLOOD_DROPS_MAX, check_interval_s: float = 0.25):
        self.sio = sio
        self.transport = transport
        self.connect_timeout_s = connect_timeout_s
        self.outbox_max = outbox_max
        self.packets_per_second = packets_per_second
        self.flood_drops_max = flood_drops_max
        self.check_interval_s = check_interval_s
        self._on_flood = on_flood
        self._on_notice = on_notice
        self._rates: dict[str, tuple[SlidingWindow, Strikes, list[float], Pace]] = {}
        self.stalls = StallClock()
        # The judged time of the packet being handled: (eio_sid, time) of the
        # one a connection's reader is handling (in order, so a handler that
        # waits holds its reader), and per (green) thread for the events that
        # run beside their reader.  A plain attribute and a dict: a thread-local
        # is a green one under eventlet and costs 2 us a move.
        self._handling: tuple[str, float] | None = None
        self._beside_handling: dict[int, tuple[str, float]] = {}
        self._unclaimed_since: dict[str, float] = {}
        self._close_at: dict[str, tuple[float, str]] = {}
        # Events that run beside the connection's reader, and events the
        # transport hands straight to their handler (set by the handlers'
        # registration, see server.events).
        self.beside_events: frozenset[str] = frozenset()
        self.fast_events: frozenset[str] = frozenset()
        self.running = False
        self.closed_counts: dict[str, int] = defaultdict(int)

    # -- packet rate ------------------------------------------------------------------
    def install(self) -> None:
        """Count every inbound packet before Socket.IO decodes it."""
        self.transport.intercept(self._on_message)

    def _on_message(self, eio_sid: str, data: Any) -> None:
        now = time.monotonic()
        self.stalls.alive(now)
        rate = self._rates.get(eio_sid)
        if rate is None:
            rate = self._rates[eio_sid] = (SlidingWindow(self.packets_per_second, 1.0),
                                           Strikes(self.flood_drops_max, P.FLOOD_WINDOW_S),
                                           [-1e9], Pace())
        window, strikes, last_notice, pace = rate
        now = pace.judge(now, self.stalls, window.recent)
        if window.allow(now):
            code = P.E_BAD_PAYLOAD
            try:
                # A plain event of a fast name (a move: most packets) is an
                # event named by plain text and not a reserved one, without
                # reading its header in full.
                if data.__class__ is str and data.startswith('2["'):
                    end = data.find('"', 3)
                    if end > 0 and data[3:end] in self.fast_events:
                        self._handling = (eio_sid, now)
                        if not self.transport.deliver_fast(eio_sid, data[3:end], data):
                            self.transport.deliver(eio_sid, data)
                        return
                notice, name = self._event_name(data)
                if notice is None:
                    self._handling = (eio_sid, now)
                    if name in self.beside_events:
                        self.sio.start_background_task(self._dispatch, eio_sid, data, now)
                    elif name is None or not self.transport.deliver_fast(eio_sid, name, data):
                        self.transport.deliver(eio_sid, data)
                    return
            except Exception as exc:  # a packet Socket.IO cannot decode
                # Only the kind of error: the packet itself stays out of the log.
                log.debug("malformed packet from %s (%s)", eio_sid[:6], type(exc).__name__)
                notice = "malformed packet dropped"
        else:
            code = P.E_RATE_LIMITED
            notice = f"more than {self.packets_per_second} packets a second; extra packets are dropped"
        if eio_sid in self._close_at:
            return
        sid = self.transport.sid_of(eio_sid)
        if sid is not None:
            self._answer_ack(eio_sid, data, code, notice)
        if strikes.add(now):
            if sid is not None:
                self._on_flood(sid)
            self.close_soon(eio_sid, "flooding")
        elif sid is not None and now - last_notice[0] >= 1.0:
            last_notice[0] = now
            self._on_notice(sid, code, notice)

    def judged_time(self, sid: str) -> float:
        """The time the rate limits judge the packet of ``sid`` being handled
        at (see Pace); a handler calls it."""
        eio_sid = self.transport.eio_sid_of(sid)
        now = time.monotonic()
        if self._beside_handling:
            beside = self._beside_handling.get(threading.get_ident())
            if beside is not None and beside[0] == eio_sid:
                return min(now, beside[1])
        handling = self._handling
        if handling is not None and handling[0] == eio_sid:
            return min(now, handling[1])
        rate = self._rates.get(eio_sid) if eio_sid is not None else None
        return min(now, rate[3].judged) if rate is not None else now

    def _answer_ack(self, eio_sid: str, data: Any, code: str, message: str) -> None:
        """Answer a dropped event's ack, if it asked for one, with the reason."""
        ack_id = wire.ack_id(data)
        if ack_id is None:
            return
        try:
            self.transport.answer_ack(eio_sid, ack_id,
                                      {"ok": False, "error": code, "message": message})
        except Exception:
            log.debug("could not answer a dropped packet's ack", exc_info=True)

    def _dispatch(self, eio_sid: str, data: Any, judged: float) -> None:
        """Handle one event beside the connection's reader (see beside_events)."""
        me = threading.get_ident()
        self._beside_handling[me] = (eio_sid, judged)
        try:
            self.transport.deliver(eio_sid, data)
        except Exception as exc:
            log.debug("malformed packet from %s (%s)", eio_sid[:6], type(exc).__name__)
        finally:
            self._beside_handling.pop(me, None)

    @staticmethod
    def _event_name(data: Any) -> tuple[str | None, str | None]:
        """(why the packet must not reach the handlers or None, the event's name).

        Its name must be a string, and not one of Socket.IO's own (connect,
        disconnect) or the catch-all: a client could otherwise call those
        handlers with arguments of its choosing.
        """
        kind, name = wire.packet_kind(data)
        notice = REFUSED_PACKETS.get(kind)
        if notice is None and name in RESERVED_EVENTS:
            notice = RESERVED_NOTICE
        return notice, name

    # -- closing ----------------------------------------------------------------------
    def close_soon(self, eio_sid: str, reason: str, grace_s: float = 0.5) -> None:
        """Cut the connection after ``grace_s`` (time for a goodbye to go out)."""
        self._close_at.setdefault(eio_sid, (time.monotonic() + grace_s, reason))

    def close_sid_soon(self, sid: str, reason: str, grace_s: float = 0.5) -> None:
        eio_sid = self.transport.eio_sid_of(sid)
        if eio_sid is not None:
            self.close_soon(eio_sid, reason, grace_s)

    def close_now(self, eio_sid: str, reason: str, cut_transport: bool = True) -> None:
        """Drop the connection at once: run the disconnect handlers, then cut
        the transport so a blocked send or an idle read ends immediately
        (``cut_transport=False`` leaves the TCP connection to whoever is
        answering on it)."""
        self._close_at.pop(eio_sid, None)
        self.closed_counts[reason] += 1
        self.transport.close_now(eio_sid, cut_transport)
        log.info("closed connection %s: %s", eio_sid[:6], reason)

    # -- the watch loop ---------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self.sio.start_background_task(self._run)

    def stop(self) -> None:
        self.running = False

    def _run(self) -> None:
        while self.running:
            self.sio.sleep(self.check_interval_s)
            try:
                self.check(time.monotonic())
            except Exception:
                log.exception("connection check failed")

    def check(self, now: float) -> None:
        self.stalls.alive(now)
        transport = self.transport
        connections = transport.connections()
        for eio_sid in connections:
            if not transport.is_open(eio_sid):
                continue
            if transport.queue_depth(eio_sid) > self.outbox_max:
                self.close_now(eio_sid, "not reading")
                continue
            if transport.websocket_gone(eio_sid):
                # The websocket ended without Engine.IO noticing (it gives up
                # on a frame it cannot decode): end the session now rather
                # than at the next missed ping.
                self.close_now(eio_sid, "transport gone")
                continue
            if transport.sid_of(eio_sid) is None:
                since = self._unclaimed_since.setdefault(eio_sid, now)
                if now - since > self.connect_timeout_s:
                    self.close_now(eio_sid, "no session")
                    continue
            else:
                self._unclaimed_since.pop(eio_sid, None)
        for eio_sid, (when, reason) in list(self._close_at.items()):
            if now >= when:
                self.close_now(eio_sid, reason)
        known = set(transport.connections())
        for table in (self._rates, self._unclaimed_since, self._close_at):
            for eio_sid in [k for k in table if k not in known]:
                del table[eio_sid]
