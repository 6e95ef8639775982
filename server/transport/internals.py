"""Every private or undocumented name of python-socketio, python-engineio and
eventlet that the transport relies on, in one table, and the library versions
it was written against.

``tests/test_transport_pins.py`` reads both: it fails, naming the entry, when
a pinned version changes or when one of these names is gone or changed shape.
When a library is upgraded, check each entry's use below, then update the pin
in requirements.txt.
"""
from __future__ import annotations

from dataclasses import dataclass

# Distributions whose versions the transport was written and tested against;
# each must match its pin in requirements.txt.
PINNED = ("python-socketio", "python-engineio", "eventlet", "flask-socketio",
          "simple-websocket")


@dataclass(frozen=True)
class Internal:
    library: str         # the distribution, as pinned
    owner: str           # "module" or "module:Class"
    name: str            # the attribute
    used_by: str         # where in the transport, and why
    params: tuple[str, ...] | None = None  # a method's parameters, when called or replaced
    instance: bool = False  # an attribute set in the class's __init__, not on the class


INTERNALS: tuple[Internal, ...] = (
    # python-socketio
    Internal("python-socketio", "socketio.server:Server", "_handle_eio_message",
             "Transport.intercept/deliver: messages reach it after the guard",
             ("self", "eio_sid", "data")),
    Internal("python-socketio", "socketio.server:Server", "_send_packet",
             "Transport.answer_ack: an ack for a dropped packet", ("self", "eio_sid", "pkt")),
    Internal("python-socketio", "socketio.server:Server", "_send_eio_packet",
             "Fanout.emit_json: a packet framed once, queued per socket",
             ("self", "eio_sid", "eio_pkt")),
    Internal("python-socketio", "socketio.base_server:BaseServer", "handlers",
             "Transport.forget_handler", instance=True),
    Internal("python-socketio", "socketio.base_server:BaseServer", "environ",
             "Transport.close_now/websocket_gone: the WSGI environ by Engine.IO sid",
             instance=True),
    Internal("python-socketio", "socketio.base_server:BaseServer", "packet_class",
             "Transport.answer_ack", instance=True),
    Internal("python-socketio", "socketio.base_manager:BaseManager", "sid_from_eio_sid",
             "Transport.sid_of/deliver_fast", ("self", "eio_sid", "namespace")),
    Internal("python-socketio", "socketio.base_manager:BaseManager", "eio_sid_from_sid",
             "Transport.eio_sid_of", ("self", "sid", "namespace")),
    Internal("python-socketio", "socketio.base_manager:BaseManager", "is_connected",
             "Transport.is_connected/deliver_fast", ("self", "sid", "namespace")),
    Internal("python-socketio", "socketio.base_manager:BaseManager", "get_participants",
             "Fanout.emit_json: (sid, eio_sid) of a room", ("self", "namespace", "room")),
    Internal("python-socketio", "socketio.packet:Packet", "uses_binary_events",
             "patches.TextPacket: no search for binary attachments"),
    # python-engineio
    Internal("python-engineio", "engineio.base_server:BaseServer", "sockets",
             "Transport sessions, queue depth, close_now", instance=True),
    Internal("python-engineio", "engineio.socket:Socket", "_websocket_handler",
             "patches.keep_websockets: remember the WebSocket, reads through stalls",
             ("self", "ws")),
    Internal("python-engineio", "engineio.socket:Socket", "send",
             "patches.send_pairs_whole: a binary event's two packets queued together",
             ("self", "pkt")),
    Internal("python-engineio", "engineio.socket:Socket", "poll",
             "patches.forgive_ping_timeouts_after_stalls", ("self",)),
    Internal("python-engineio", "engineio.socket:Socket", "check_ping_timeout",
             "patches.forgive_ping_timeouts_after_stalls", ("self",)),
    Internal("python-engineio", "engineio.base_socket:BaseSocket", "queue",
             "Transport.queue_depth, Fanout", instance=True),
    Internal("python-engineio", "engineio.base_socket:BaseSocket", "last_ping",
             "patches.forgive_ping_timeouts_after_stalls", instance=True),
    Internal("python-engineio", "engineio.base_socket:BaseSocket", "upgrading",
             "Fanout: no direct write during an upgrade", instance=True),
    Internal("python-engineio", "engineio.base_socket:BaseSocket", "upgraded",
             "reader.fast_messages: messages go the fast way only after the upgrade",
             instance=True),
    Internal("python-engineio", "engineio.base_socket:BaseSocket", "server",
             "reader.fast_messages: the message handler and its options", instance=True),
    Internal("python-engineio", "engineio.base_server:BaseServer", "handlers",
             "reader.fast_messages: Engine.IO's message handler, called directly",
             instance=True),
    Internal("python-engineio", "engineio.base_server:BaseServer", "async_handlers",
             "reader.fast_messages: handlers run on the reader (False under Socket.IO)",
             instance=True),
    Internal("python-engineio", "engineio.base_server:BaseServer", "max_http_buffer_size",
             "reader.fast_messages: longer messages are left to Engine.IO's check",
             instance=True),
    Internal("python-engineio", "engineio.payload:Payload", "packets",
             "serving.polling_payload_ok: decode a polling POST", instance=True),
    # eventlet
    Internal("eventlet", "eventlet.websocket:RFC6455WebSocket", "_apply_mask",
             "patches.install_fast_unmasking", ("data", "mask", "length", "offset")),
    Internal("eventlet", "eventlet.websocket:RFC6455WebSocket", "wait",
             "reader.fast_messages: Engine.IO's loop reads messages through it", ("self",)),
    Internal("eventlet", "eventlet.websocket:RFC6455WebSocket", "max_frame_length",
             "reader.BufferedRecv.take_text_frame: longer frames are left to eventlet",
             instance=True),
    Internal("eventlet", "eventlet.websocket:WebSocket", "websocket_closed",
             "reader.fast_messages: no read after the close frame went out", instance=True),
    Internal("eventlet", "eventlet.websocket:RFC6455WebSocket", "_recv_frame",
             "reader.BufferedRecv: eventlet's frame parser reads ws.socket.recv, "
             "which the buffer replaces", ("self", "message")),
    Internal("eventlet", "eventlet.websocket:WebSocket", "_sendlock",
             "Fanout._write_now: one frame at a time", instance=True),
    Internal("eventlet", "eventlet.websocket:WebSocket", "socket",
             "Fanout._write_now, patches.keep_websockets", instance=True),
    Internal("eventlet", "eventlet.greenio.base:GreenSocket", "fd",
             "Fanout._write_now, reader.SharedReader: the OS socket under a green one "
             "(non-blocking)", instance=True),
    Internal("eventlet", "eventlet.hubs.hub:BaseHub", "add",
             "reader.SharedReader: one listener on its own epoll descriptor for its life",
             ("self", "evtype", "fileno", "cb", "tb", "mark_as_closed")),
    Internal("eventlet", "eventlet.hubs.epolls:Hub", "do_poll",
             "patches.bound_event_loop_passes", ("self", "seconds")),
    Internal("eventlet", "eventlet.hubs.epolls:Hub", "poll",
             "patches.bound_event_loop_passes: the epoll object", instance=True),
    Internal("eventlet", "eventlet.hubs.poll:Hub", "wait",
             "patches.bound_event_loop_passes: replaced by a copy with a time budget",
             ("self", "seconds")),
    Internal("eventlet", "eventlet.hubs.hub:BaseHub", "squelch_exception",
             "patches.bound_event_loop_passes: a listener's error, as eventlet reports it",
             ("self", "fileno", "exc_info")),
    Internal("eventlet", "eventlet.wsgi:HttpProtocol", "get_environ",
             "serving.eventlet_protocol: extras for each request"),
    Internal("eventlet", "eventlet.wsgi:Input", "get_socket",
             "serving.raw_socket: the TCP socket under a request", ("self",)),
)
