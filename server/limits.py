"""Rate limits per player, and limits on the connections themselves."""
from __future__ import annotations

import json
import logging
import socket as _socket
import threading
import time
from collections import defaultdict, deque
from typing import Any, Callable

import socketio.packet

from game.core import protocol as P

log = logging.getLogger("server.limits")

# Event names a client may not use: Socket.IO's own and the catch-all.
RESERVED_EVENTS = ("connect", "connect_error", "disconnect", "*")
# Chat events, whose handlers wait on the database.  They run beside the
# connection's reader, so a slow disk holds up that answer only, never the
# player's moves that follow it.  (join and logout stay in order: nothing a
# client sends after them makes sense before they are done.)
WAITING_EVENTS = frozenset({P.DM_OPEN, P.DM_SEND, P.DM_HISTORY})

# Socket.IO packet types that announce binary attachments (BINARY_EVENT,
# BINARY_ACK); the protocol has none, so they are refused unread.
BINARY_PACKET_TYPES = ("5", "6")

# The host counts as having stood still (suspended, SIGSTOP, a machine out of
# memory) when none of it ran for this long; the tick alone runs every 50 ms.
STALL_THRESHOLD_S = 0.5
# After a stall, a connection's packets are judged as sent at the pace it had
# before (at least this many packets a second): see Pace.
CATCH_UP_MIN_RATE = 20.0


class _RecentTimes:
    """Times of events in the last ``window_s`` seconds, checked against ``limit``."""

    __slots__ = ("limit", "window_s", "_times")

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def _recent(self, now: float) -> deque[float]:
        times = self._times
        cutoff = now - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return times


class SlidingWindow(_RecentTimes):
    """Allows at most ``limit`` events in any ``window_s`` seconds."""

    __slots__ = ()

    def allow(self, now: float) -> bool:
        times = self._recent(now)
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Strikes(_RecentTimes):
    """Counts refusals; a client that keeps flooding after being told is dropped."""

    __slots__ = ()

    def add(self, now: float) -> bool:
        """Record a refusal; True when the client has now earned a disconnect."""
        times = self._recent(now)
        times.append(now)
        return len(times) >= self.limit

    @property
    def recent(self) -> int:
        return len(self._times)


class StallClock:
    """Notices when the whole host stood still, and for how long.

    Whatever runs (the tick, the connection checks, every packet) calls
    ``alive``; a gap longer than ``threshold_s`` between two calls means
    nothing of the host ran meanwhile.  The packets clients sent during such a
    stall are read in a burst afterwards; ``Pace`` uses ``last_stall`` so the
    rate limits do not take that burst for a flood.
    """

    def __init__(self, threshold_s: float = STALL_THRESHOLD_S, now: float | None = None):
        self.threshold_s = threshold_s
        self._alive = time.monotonic() if now is None else now
        self.last_stall: tuple[float, float] | None = None  # (froze at, ran again at)
        self.stalls = 0
        self.longest_s = 0.0

    def alive(self, now: float) -> None:
        last = self._alive
        if now - last > self.threshold_s:
            if self.last_stall is None or self.last_stall[1] < now - self.threshold_s:
                self.stalls += 1
                self.longest_s = max(self.longest_s, now - last)
                log.warning("the host stood still for %.1f s; packets sent meanwhile are "
                            "judged at their senders' pace", now - last)
            self.last_stall = (last, now)
        if now > last:
            self._alive = now

    def stalled_within(self, seconds: float, now: float) -> bool:
        """Whether the host stood still at some point in the last ``seconds``."""
        stall = self.last_stall
        return stall is not None and stall[1] >= now - seconds


class Pace:
    """The time a connection's packets are judged at by the rate limits.

    Normally the time the host reads them.  After a stall (see StallClock)
    the packets a client sent meanwhile arrive together; they are judged as
    sent one after another at the pace the connection had before the stall
    (``step`` apart), never later than the host read them, and catching up
    with the clock within as long as the stall lasted.  So a client is judged
    by what it sent, not by when a frozen host got round to reading it.
    """

    __slots__ = ("judged", "read_at", "step", "stall")

    def __init__(self) -> None:
        self.judged = -1e9
        self.read_at = -1e9
        self.step = 1.0 / CATCH_UP_MIN_RATE
        self.stall: tuple[float, float] | None = None

    def judge(self, now: float, clock: StallClock, recent_packets: int) -> float:
        stall = clock.last_stall
        if stall is not None and stall is not self.stall and self.read_at < stall[1]:
            # Packets from before the stall ended: read at the pace of the
            # last second before it.
            self.stall = stall
            self.step = 1.0 / max(float(recent_packets), CATCH_UP_MIN_RATE)
        judged = now
        if self.stall is not None:
            froze, resumed = self.stall
            behind = (resumed - froze) - (now - resumed)  # what is left to catch up
            if behind > 0:
                judged = min(now, max(self.judged + self.step, now - behind))
        judged = max(judged, self.judged)
        self.judged, self.read_at = judged, now
        return judged


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
      own; events that wait on the disk (``WAITING_EVENTS``) run beside the
      connection's reader.
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

    def __init__(self, sio: Any, *, connect_timeout_s: float, outbox_max: int,
                 on_flood: Callable[[str], None], on_notice: Callable[[str, str, str], None],
                 packets_per_second: int = P.PACKETS_PER_SECOND,
                 flood_drops_max: int = P.FLOOD_DROPS_MAX, check_interval_s: float = 0.25):
        self.sio = sio
        self.connect_timeout_s = connect_timeout_s
        self.outbox_max = outbox_max
        self.packets_per_second = packets_per_second
        self.flood_drops_max = flood_drops_max
        self.check_interval_s = check_interval_s
        self._on_flood = on_flood
        self._on_notice = on_notice
        self._rates: dict[str, tuple[SlidingWindow, Strikes, list[float], Pace]] = {}
        self.stalls = StallClock()
        # The judged time of the packet the current (green) thread handles.
        self._handling = threading.local()
        self._unclaimed_since: dict[str, float] = {}
        self._close_at: dict[str, tuple[float, str]] = {}
        self._inner_message: Callable | None = None
        # Events whose plain packets go straight to their handler (see
        # _handle_directly).
        self.direct_events: set[str] = set()
        self.running = False
        self.closed_counts: dict[str, int] = defaultdict(int)

    # -- packet rate ------------------------------------------------------------------
    def install(self) -> None:
        """Count every inbound packet before Socket.IO decodes it."""
        self._inner_message = self.sio._handle_eio_message
        self.sio.eio.on("message", self._on_message)
        _forgive_ping_timeouts_after_stalls(self.stalls)

    def _on_message(self, eio_sid: str, data: Any) -> None:
        now = time.monotonic()
        self.stalls.alive(now)
        rate = self._rates.get(eio_sid)
        if rate is None:
            rate = self._rates[eio_sid] = (SlidingWindow(self.packets_per_second, 1.0),
                                           Strikes(self.flood_drops_max, P.FLOOD_WINDOW_S),
                                           [-1e9], Pace())
        window, strikes, last_notice, pace = rate
        now = pace.judge(now, self.stalls, len(window._times))
        if window.allow(now):
            code = P.E_BAD_PAYLOAD
            try:
                notice, name = self._event_name(data)
                if notice is None:
                    self._handling.packet = (eio_sid, now)
                    if name in WAITING_EVENTS:
                        self.sio.start_background_task(self._dispatch, eio_sid, data, now)
                    elif name not in self.direct_events or \
                            not self._handle_directly(eio_sid, name, data):
                        self._inner_message(eio_sid, data)
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
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, "/")
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
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        now = time.monotonic()
        handling = getattr(self._handling, "packet", None)
        if handling is not None and handling[0] == eio_sid:
            return min(now, handling[1])
        rate = self._rates.get(eio_sid) if eio_sid is not None else None
        return min(now, rate[3].judged) if rate is not None else now

    def _answer_ack(self, eio_sid: str, data: Any, code: str, message: str) -> None:
        """Answer a dropped event's ack, if it asked for one, with the reason."""
        ack_id = _ack_id(data)
        if ack_id is None:
            return
        try:
            self.sio._send_packet(eio_sid, self.sio.packet_class(
                socketio.packet.ACK, namespace="/",
                data=[{"ok": False, "error": code, "message": message}], id=ack_id))
        except Exception:
            log.debug("could not answer a dropped packet's ack", exc_info=True)

    def _handle_directly(self, eio_sid: str, name: str, data: str) -> bool:
        """Decode a plain ``2["name",{...}]`` packet once and call its handler,
        skipping python-socketio's packet objects and dispatch (the move event
        arrives 20 times a second from every player).  Anything else (a
        namespace, an ack id, a missing or second argument, a socket not yet
        connected to the namespace) returns False and goes the usual way."""
        handler = self.sio.handlers.get("/", {}).get(name)
        if handler is None or not data.startswith('2["' + name + '",'):
            return False
        args = _PACKET_JSON.decode(data[1:])
        if not isinstance(args, list) or len(args) != 2:
            return False
        manager = self.sio.manager
        sid = manager.sid_from_eio_sid(eio_sid, "/")
        if sid is None or not manager.is_connected(sid, "/"):
            return False
        handler(sid, args[1])
        return True

    def _dispatch(self, eio_sid: str, data: Any, judged: float) -> None:
        """Handle one event beside the connection's reader (see WAITING_EVENTS)."""
        self._handling.packet = (eio_sid, judged)
        try:
            self._inner_message(eio_sid, data)
        except Exception as exc:
            log.debug("malformed packet from %s (%s)", eio_sid[:6], type(exc).__name__)

    @staticmethod
    def _event_name(data: Any) -> tuple[str | None, str | None]:
        """(why the packet must not reach the handlers or None, the event's name).

        Its name must be a string, and not one of Socket.IO's own (connect,
        disconnect) or the catch-all: a client could otherwise call those
        handlers with arguments of its choosing.
        """
        if not isinstance(data, str):
            return "binary messages are not part of the protocol; packet dropped", None
        if data[:1] in BINARY_PACKET_TYPES:
            return "binary attachments are not part of the protocol; packet dropped", None
        if data[:1] != "2":  # only events are checked here
            return None, None
        i = 1
        if data[i:i + 1] == "/":  # a namespace, up to the comma
            i = data.find(",", i) + 1 or len(data)
        while i < len(data) and data[i].isdigit():  # an ack id
            i += 1
        if not data.startswith('["', i):
            return "an event's name must be a string", None
        end = data.find('"', i + 2)
        name = data[i + 2:end] if end > 0 else "\\"
        if "\\" in name:
            return "an event's name must be plain text, without escapes", None
        if name in RESERVED_EVENTS:
            return "event names connect, disconnect and * are reserved", name
        return None, name

    # -- closing ----------------------------------------------------------------------
    def close_soon(self, eio_sid: str, reason: str, grace_s: float = 0.5) -> None:
        """Cut the connection after ``grace_s`` (time for a goodbye to go out)."""
        self._close_at.setdefault(eio_sid, (time.monotonic() + grace_s, reason))

    def close_sid_soon(self, sid: str, reason: str, grace_s: float = 0.5) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            self.close_soon(eio_sid, reason, grace_s)

    def close_now(self, eio_sid: str, reason: str, cut_transport: bool = True) -> None:
        """Drop the connection at once: run the disconnect handlers, then cut
        the transport so a blocked send or an idle read ends immediately
        (``cut_transport=False`` leaves the TCP connection to whoever is
        answering on it)."""
        self._close_at.pop(eio_sid, None)
        self.closed_counts[reason] += 1
        environ = self.sio.environ.get(eio_sid)
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is not None and not socket.closed:
            try:
                socket.close(wait=False, abort=True)
            except Exception:
                log.exception("closing connection %s failed", eio_sid)
        self.sio.eio.sockets.pop(eio_sid, None)
        raw = _raw_socket(environ) if cut_transport else None
        if raw is not None:
            try:
                raw.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
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
        sockets = self.sio.eio.sockets
        manager = self.sio.manager
        for eio_sid, socket in list(sockets.items()):
            if socket.closed:
                continue
            if socket.queue.qsize() > self.outbox_max:
                self.close_now(eio_sid, "not reading")
                continue
            if _websocket_gone(self.sio.environ.get(eio_sid)):
                # The websocket ended without Engine.IO noticing (it gives up
                # on a frame it cannot decode): end the session now rather
                # than at the next missed ping.
                self.close_now(eio_sid, "transport gone")
                continue
            if manager.sid_from_eio_sid(eio_sid, "/") is None:
                since = self._unclaimed_since.setdefault(eio_sid, now)
                if now - since > self.connect_timeout_s:
                    self.close_now(eio_sid, "no session")
                    continue
            else:
                self._unclaimed_since.pop(eio_sid, None)
        for eio_sid, (when, reason) in list(self._close_at.items()):
            if now >= when:
                self.close_now(eio_sid, reason)
        for table in (self._rates, self._unclaimed_since, self._close_at):
            for eio_sid in [k for k in table if k not in sockets]:
                del table[eio_sid]


def _forgive_ping_timeouts_after_stalls(stalls: StallClock) -> None:
    """Engine.IO drops a client whose pong is late, and ends a websocket whose
    writer had nothing to send for a ping interval and timeout.  When the
    host itself stood still meanwhile, the pong is most likely waiting unread
    and the quiet was the host's, so the wait starts again instead (for every
    Engine.IO socket of this process)."""
    from engineio import exceptions
    from engineio.socket import Socket

    check = Socket.check_ping_timeout
    if getattr(check, "forgives_stalls", False):
        return
    poll = Socket.poll

    def poll_through_stalls(self):
        while True:
            started = time.monotonic()
            try:
                return poll(self)
            except exceptions.QueueEmpty:
                now = time.monotonic()
                stalls.alive(now)
                if self.closed or not stalls.stalled_within(now - started, now):
                    raise

    def check_ping_timeout(self):
        last = self.last_ping
        if last:
            stalls.alive(time.monotonic())
            waited = time.time() - last
            if waited > self.server.ping_timeout and \
                    stalls.stalled_within(waited, time.monotonic()):
                self.last_ping = time.time()
        return check(self)

    check_ping_timeout.forgives_stalls = True  # type: ignore[attr-defined]
    Socket.check_ping_timeout = check_ping_timeout
    Socket.poll = poll_through_stalls


def _ack_id(data: Any) -> int | None:
    """The ack id of a Socket.IO EVENT or BINARY_EVENT packet's text, if any."""
    if not isinstance(data, str) or data[:1] not in ("2", "5"):
        return None
    i = 1
    if data[0] == "5":  # the number of attachments, then a dash
        i = data.find("-", 0, 12) + 1
        if not i:
            return None
    if data[i:i + 1] == "/":  # a namespace, up to the comma
        i = data.find(",", i, i + 200) + 1
        if not i:
            return None
    end = i
    while end < len(data) and end - i < 16 and data[end].isdigit():
        end += 1
    return int(data[i:end]) if end > i else None


def _bounded_int(text: str) -> int:
    """Integer literals as Engine.IO's JSON reads them: at most 100 digits."""
    if len(text) > 100:
        raise ValueError("Integer is too large")
    return int(text)


# One decoder for every packet handled directly (json.loads with parse_int
# builds a new decoder on each call).
_PACKET_JSON = json.JSONDecoder(parse_int=_bounded_int)


def _raw_socket(environ: dict | None) -> Any:
    """The TCP socket under a connection (eventlet and werkzeug servers)."""
    if not environ:
        return None
    stream = environ.get("eventlet.input")
    if stream is not None and hasattr(stream, "get_socket"):
        return stream.get_socket()
    return environ.get("werkzeug.socket")


def _websocket_gone(environ: dict | None) -> bool:
    """True when a connection that arrived as a websocket has lost its socket."""
    if not environ or "transport=websocket" not in environ.get("QUERY_STRING", ""):
        return False
    raw = _raw_socket(environ)
    try:
        return raw is not None and raw.fileno() == -1
    except OSError:
        return True
