"""The host's transport: the one place that reaches below the public API of
python-socketio, python-engineio and eventlet.

Speed forces the host below those libraries in a few places (a move skips
python-socketio's dispatcher, the tick writes frames straight to eventlet's
WebSockets, Engine.IO's timeouts forgive a host that stood still).  All of
that lives in this package; the rest of the host calls ``Transport``:

* inbound: ``intercept`` sees every Engine.IO message first, ``deliver``
  hands one on to python-socketio, ``add_fast_event`` / ``deliver_fast`` call
  a hot event's handler without python-socketio's packet objects;
* outbound: ``emit`` / ``emit_json`` / ``emit_binary`` send one frame (a
  binary event: its two frames) to a whole room,
  ``answer_ack`` answers a packet's ack, ``outbound_waiting`` tells whether
  anything is still queued;
* sessions: ``sid_of`` / ``eio_sid_of``, ``connections``, ``is_open``,
  ``queue_depth``, ``websocket_gone``, ``close_now``;
* the host's stall clock, which Engine.IO's timeouts consult
  (``install``).

``internals.INTERNALS`` lists every private or undocumented name this
package relies on; ``tests/test_transport_pins.py`` checks that each still
exists and that the libraries are the pinned versions.
"""
from __future__ import annotations

import logging
import socket as _socket
from typing import Any, Callable

import socketio.packet

from . import patches, wire
from .fanout import Fanout
from .patches import READY_SOCKETS_PER_PASS, TextPacket
from .serving import (RealtimeSockets, RequestHooks, interrupt_handler, polling_payload_ok,
                      raw_socket, start_server)
from .wire import compact_json, websocket_text_frame

__all__ = ["Transport", "TextPacket", "RealtimeSockets", "RequestHooks", "interrupt_handler",
           "polling_payload_ok", "start_server", "compact_json", "websocket_text_frame",
           "READY_SOCKETS_PER_PASS", "wire"]

log = logging.getLogger("server.transport")

NAMESPACE = "/"


class Transport:
    """A python-socketio server seen from the host: sessions, frames, fast events.

    ``sid`` is a Socket.IO session (what handlers get); ``eio_sid`` the
    Engine.IO connection under it (what the guard counts packets on).
    """

    # Options for python-socketio's server that the transport needs.
    SERVER_OPTIONS = {"serializer": TextPacket}

    def __init__(self, sio: Any, async_mode: str):
        self.sio = sio
        self.async_mode = async_mode
        self.fanout = Fanout(sio, direct=async_mode == "eventlet")
        self._deliver: Callable[[str, Any], None] | None = None
        self._fast: dict[str, Callable[[str, Any], Any]] = {}

    def install(self, stalls: Any) -> None:
        """Make the library changes the host relies on.  ``stalls`` (a
        ``ratelimit.StallClock``) tells Engine.IO's timeouts when the host
        itself stood still."""
        eio = self.sio.eio
        eio.disconnect = patches.disconnect_without_waiting(eio)
        patches.forgive_ping_timeouts_after_stalls(stalls)
        if self.async_mode != "eventlet":
            patches.send_pairs_whole()  # green threads never switch between the two
        if self.async_mode == "eventlet":
            patches.install_fast_unmasking()
            patches.bound_event_loop_passes()
            patches.keep_websockets(stalls)

    # -- inbound --------------------------------------------------------------------
    def intercept(self, on_message: Callable[[str, Any], None]) -> None:
        """Call ``on_message(eio_sid, data)`` for every Engine.IO message
        before python-socketio decodes it; it decides what is delivered."""
        self._deliver = self.sio._handle_eio_message
        self.sio.eio.on("message", on_message)

    def deliver(self, eio_sid: str, data: Any) -> None:
        """Hand a message on to python-socketio's own decoding and dispatch."""
        (self._deliver or self.sio._handle_eio_message)(eio_sid, data)

    def add_fast_event(self, name: str, handler: Callable[[str, Any], Any]) -> None:
        """Let ``deliver_fast`` call ``handler(sid, payload)`` for plain
        packets of event ``name`` (register the handler with ``sio.on`` too:
        anything unusual still goes that way)."""
        self._fast[name] = handler
        if patches.SHARED_READER is not None:
            patches.SHARED_READER.set_hot_events(self._fast)

    @property
    def fast_events(self) -> frozenset[str]:
        return frozenset(self._fast)

    def deliver_fast(self, eio_sid: str, name: str, data: Any) -> bool:
        """Decode a plain ``2["name",{...}]`` packet once and call its fast
        handler, skipping python-socketio's packet objects and dispatch.
        Anything else (no fast handler, a namespace, an ack id, a missing or
        second argument, a socket not yet connected to the namespace)
        returns False and must be delivered the usual way."""
        handler = self._fast.get(name)
        if handler is None:
            return False
        plain, payload = wire.plain_event_payload(data, name)
        if not plain:
            return False
        manager = self.sio.manager
        sid = manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if sid is None or not manager.is_connected(sid, NAMESPACE):
            return False
        handler(sid, payload)
        return True

    def answer_ack(self, eio_sid: str, ack_id: int, payload: Any) -> None:
        """Send ``payload`` as the answer to the packet with ``ack_id``."""
        self.sio._send_packet(eio_sid, self.sio.packet_class(
            socketio.packet.ACK, namespace=NAMESPACE, data=[payload], id=ack_id))

    # -- outbound -------------------------------------------------------------------
    def emit(self, event: str, data: Any, room: str, skip_sid: str | None = None,
             skip_sids: Any = ()) -> None:
        """``sio.emit(event, data, to=room, skip_sid=...)``, encoded and framed
        once; ``skip_sids`` (a set) leaves out several sessions."""
        self.fanout.emit(event, data, room, skip_sid, skip_sids)

    def emit_json(self, event: str, data_json: str, room: str,
                  skip_sid: str | None = None, skip_sids: Any = ()) -> None:
        """``emit`` for a payload already encoded as JSON."""
        self.fanout.emit_json(event, data_json, room, skip_sid, skip_sids)

    def emit_binary(self, event: str, data: bytes, room: str,
                    skip_sid: str | None = None) -> None:
        """``emit`` of one bytes argument (a Socket.IO binary event), framed once."""
        self.fanout.emit_binary(event, data, room, skip_sid)

    def outbound_waiting(self) -> bool:
        """Whether packets still wait to be written to any open connection."""
        return any(s.queue.qsize() for s in list(self.sio.eio.sockets.values())
                   if not s.closed)

    def forget_handler(self, event: str) -> None:
        """Stop calling the handler of ``event`` (a stopping host drops its
        disconnect handler once everyone is saved)."""
        self.sio.handlers.get(NAMESPACE, {}).pop(event, None)

    # -- sessions -------------------------------------------------------------------
    def sid_of(self, eio_sid: str) -> str | None:
        return self.sio.manager.sid_from_eio_sid(eio_sid, NAMESPACE)

    def eio_sid_of(self, sid: str) -> str | None:
        return self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)

    def is_connected(self, sid: str) -> bool:
        """Whether ``sid`` is a Socket.IO session still connected (False
        while its disconnect handler runs)."""
        return self.sio.manager.is_connected(sid, NAMESPACE)

    def connections(self) -> list[str]:
        """Every Engine.IO connection the server knows (open or closing)."""
        return list(self.sio.eio.sockets)

    def is_open(self, eio_sid: str) -> bool:
        socket = self.sio.eio.sockets.get(eio_sid)
        return socket is not None and not socket.closed

    def queue_depth(self, eio_sid: str) -> int:
        """How many packets wait to be written to a connection."""
        socket = self.sio.eio.sockets.get(eio_sid)
        return socket.queue.qsize() if socket is not None else 0

    def longest_queue(self) -> int:
        return max((s.queue.qsize() for s in list(self.sio.eio.sockets.values())), default=0)

    def websocket_gone(self, eio_sid: str) -> bool:
        """True when a connection that arrived as a websocket has lost its
        socket (the websocket ended without Engine.IO noticing)."""
        environ = self.sio.environ.get(eio_sid)
        if not environ or "transport=websocket" not in environ.get("QUERY_STRING", ""):
            return False
        raw = raw_socket(environ)
        try:
            return raw is not None and raw.fileno() == -1
        except OSError:
            return True

    def close_now(self, eio_sid: str, cut_transport: bool = True) -> None:
        """End a connection at once: run the disconnect handlers, then cut
        the TCP connection so a blocked send or an idle read ends immediately
        (``cut_transport=False`` leaves it to whoever is answering on it)."""
        environ = self.sio.environ.get(eio_sid)
        sockets = self.sio.eio.sockets
        socket = sockets.get(eio_sid)
        if socket is not None and not socket.closed:
            try:
                socket.close(wait=False, abort=True)
            except Exception:
                log.exception("closing connection %s failed", eio_sid)
        sockets.pop(eio_sid, None)
        raw = raw_socket(environ) if cut_transport else None
        if raw is not None:
            try:
                raw.shutdown(_socket.SHUT_RDWR)
            except OSError:
                pass
