"""Replacements the host makes on the libraries' own classes.

Each one is installed once per process (the classes are shared) and says why
it exists; ``internals.INTERNALS`` lists what each relies on.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import socketio.packet

from .reader import BufferedRecv, SharedReader, fast_messages


class TextPacket(socketio.packet.Packet):
    """Socket.IO packets without the search for binary attachments: the host
    never sends bytes, and walking every number of a snapshot to find out
    cost more than encoding it."""

    uses_binary_events = False


def unmask_fast(data, mask, length=None, offset=0):
    """eventlet's WebSocket unmasking, one XOR over the whole frame instead
    of a Python loop per byte (every move a client sends is masked)."""
    if length is None:
        length = len(data)
    if not length:
        return b""
    if offset % 4:
        mask = mask[offset % 4:] + mask[:offset % 4]
    key = (bytes(mask) * (length // 4 + 1))[:length]
    return (int.from_bytes(data[:length], "little")
            ^ int.from_bytes(key, "little")).to_bytes(length, "little")


def install_fast_unmasking() -> None:
    from eventlet.websocket import RFC6455WebSocket

    RFC6455WebSocket._apply_mask = staticmethod(unmask_fast)


# How many ready sockets the eventlet loop serves before it fires its due
# timers (the tick among them) again.  eventlet serves every socket that is
# ready before looking at a timer; with a crowd moving, one such pass could hold
# the tick back by tens of milliseconds.  The poll is level-triggered, so the
# sockets left over come back first on the next pass.
READY_SOCKETS_PER_PASS = 24
# How long (seconds) one pass may spend in the green threads of ready sockets
# before the loop fires its due timers again.  A socket's green thread runs a
# few hundred microseconds, but during a join storm some run milliseconds
# (a handshake, a login, a welcome), and 24 of those in a row held the tick
# back by tens of milliseconds; past this budget the rest of the ready
# sockets wait for the next pass (the poll is level-triggered: they come back),
# where they go first.
PASS_BUDGET_S = 0.003
PASS_NEW = float("inf")  # the order of a socket that was not left over


def bound_event_loop_passes() -> None:
    """eventlet's poll loop with passes bounded in sockets and in time."""
    import errno
    import sys

    from eventlet import patcher
    from eventlet.hubs import epolls, hub as hub_module

    clock = patcher.original("time").perf_counter
    sleep = patcher.original("time").sleep

    def do_poll(self, seconds):
        return self.poll.poll(-1 if seconds is None else seconds, READY_SOCKETS_PER_PASS)

    def wait(self, seconds=None):
        # eventlet's poll.Hub.wait (0.41), but for the time budget.
        readers = self.listeners[self.READ]
        writers = self.listeners[self.WRITE]
        if not readers and not writers:
            if seconds:
                sleep(seconds)
            return
        try:
            presult = self.do_poll(seconds)
        except OSError as exc:
            if exc.errno == errno.EINTR:
                return
            raise
        system_exceptions = self.SYSTEM_EXCEPTIONS
        callbacks = set()
        noop = hub_module.noop
        for fileno, event in presult:
            if event & self.READ_MASK:
                callbacks.add((readers.get(fileno, noop), fileno))
            if event & self.WRITE_MASK:
                callbacks.add((writers.get(fileno, noop), fileno))
            if event & epolls.select.POLLNVAL:
                self.remove_descriptor(fileno)
                continue
            if event & self.EXC_MASK:
                callbacks.add((readers.get(fileno, noop), fileno))
                callbacks.add((writers.get(fileno, noop), fileno))
        # Sockets left over go first, the longest waiting first, so a socket
        # whose green thread always takes longer than the budget cannot keep
        # the others waiting.
        waiting = getattr(self, "game_waiting", None) or {}  # fileno -> pass it was left in
        ordered = sorted(callbacks, key=lambda c: waiting.get(c[1], PASS_NEW)) \
            if waiting else callbacks
        passes = self.game_passes = getattr(self, "game_passes", 0) + 1
        left: dict = {}
        started = clock()
        for listener, fileno in ordered:
            if left or clock() - started > PASS_BUDGET_S:
                left[fileno] = waiting.get(fileno, passes)  # still ready next pass
                continue
            try:
                listener.cb(fileno)
            except system_exceptions:
                raise
            except BaseException:
                self.squelch_exception(fileno, sys.exc_info())
        self.game_waiting = left

    epolls.Hub.do_poll = do_poll
    epolls.Hub.wait = wait


# The process's shared reader of idle WebSockets (eventlet; see keep_websockets).
SHARED_READER: SharedReader | None = None


def keep_websockets(stalls: Any) -> None:
    """Remember each Engine.IO socket's eventlet WebSocket while it is in use
    (as ``game_websocket``, for the fan-out), let its reads wait through a
    stall of the host (see ``recv_through_stalls``), and read it in chunks,
    handing plain messages straight to Engine.IO's message handler (see
    ``reader``)."""
    from engineio.socket import Socket

    global SHARED_READER
    handler = Socket._websocket_handler
    if getattr(handler, "keeps_websocket", False):
        return
    SHARED_READER = shared = SharedReader(stalls)

    def _websocket_handler(self, ws):
        self.game_websocket = ws
        recv = BufferedRecv(recv_through_stalls(ws.socket.recv, stalls))
        ws.socket.recv = recv
        ws.wait = fast_messages(self, ws, recv, shared)
        try:
            return handler(self, ws)
        finally:
            self.game_websocket = None

    _websocket_handler.keeps_websocket = True  # type: ignore[attr-defined]
    Socket._websocket_handler = _websocket_handler


def recv_through_stalls(recv: Callable[..., bytes], stalls: Any) -> Callable[..., bytes]:
    """Engine.IO gives a websocket's reads a timeout of a ping interval and
    timeout.  When the host stands still for that long, the timer of the
    waiting read is due the moment the host runs again, and eventlet fires due
    timers before it looks at the sockets: the read timed out (and the
    connection ended) although the client's packets were waiting unread.
    After a stall the read waits again instead; only a read that timed out
    with the host running ends the connection."""
    def recv_through_stalls(*args: Any) -> bytes:
        while True:
            started = time.monotonic()
            try:
                return recv(*args)
            except TimeoutError:
                now = time.monotonic()
                stalls.alive(now)
                if not stalls.stalled_within(now - started, now):
                    raise
    return recv_through_stalls


# Held while a binary event's text packet and its attachment are queued for a
# socket (``Fanout.emit_binary``); every Engine.IO send takes it too once
# ``send_pairs_whole`` is installed.
PAIRS = threading.RLock()


def send_pairs_whole() -> None:
    """A Socket.IO binary event is two Engine.IO packets, and the client
    takes whatever message follows the text packet for its attachment.
    Under --async-mode threading another thread (a handler answering its
    player) could queue a packet between the two; every send to any
    Engine.IO socket therefore waits while a pair is being queued."""
    from engineio.socket import Socket

    send = Socket.send
    if getattr(send, "keeps_pairs", False):
        return

    def send_whole(self, pkt):
        with PAIRS:
            return send(self, pkt)

    send_whole.keeps_pairs = True  # type: ignore[attr-defined]
    Socket.send = send_whole


def forgive_ping_timeouts_after_stalls(stalls: Any) -> None:
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


def disconnect_without_waiting(eio: Any) -> Callable:
    """``engineio.Server.disconnect`` that does not wait for the client to
    collect the goodbye: a polling client with no long-poll open never would,
    and the request that asked for the disconnect would never be answered."""
    def disconnect(sid: str | None = None) -> None:
        for eio_sid in ([sid] if sid is not None else list(eio.sockets)):
            sock = eio.sockets.get(eio_sid)
            if sock is not None:
                sock.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
                eio.sockets.pop(eio_sid, None)
    return disconnect
