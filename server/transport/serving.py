"""The HTTP side of the transport: the WSGI server of each async mode, the
TCP socket under a request, WebSocket upgrades tuned for real time, polling
payloads decoded as Engine.IO would, and Ctrl-C under eventlet."""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable

from engineio import packet as eio_packet
from engineio import payload as eio_payload

# Connections the eventlet server handles at once (eventlet's default).
DEFAULT_CONNECTIONS = 1024
# Engine.IO packets a client may send in a polling POST.
CLIENT_POLLING_PACKETS = frozenset({eio_packet.CLOSE, eio_packet.PONG, eio_packet.MESSAGE,
                                    eio_packet.UPGRADE})


def polling_payload_ok(body: bytes) -> bool:
    """Whether Engine.IO can decode a polling POST and it holds only packets
    a client may send (Engine.IO would end the session over the others)."""
    try:
        packets = eio_payload.Payload(encoded_payload=body.decode("utf-8")).packets
    except Exception:
        return False
    return bool(packets) and all(p.packet_type in CLIENT_POLLING_PACKETS for p in packets)


def raw_socket(environ: dict | None) -> Any:
    """The TCP socket under a request (eventlet and werkzeug servers)."""
    if not environ:
        return None
    stream = environ.get("eventlet.input")
    if stream is not None and hasattr(stream, "get_socket"):
        return stream.get_socket()
    return environ.get("werkzeug.socket")


class RealtimeSockets:
    """WSGI middleware for WebSocket upgrades: no permessage-deflate (each
    client would compress the same snapshot again) and no Nagle delay on the
    connection, so a snapshot leaves the moment it is written."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
            try:
                raw_socket(environ).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (AttributeError, OSError):
                pass
        return self.app(environ, start_response)


class RequestHooks:
    """What the host's request handling needs from the HTTP server: the
    server calls ``begin(handler, sock)`` when it waits for a request on a
    connection and ``end(handler)`` when done; ``environ_extras(handler,
    close_after_answer)`` adds to each request's environ."""

    def begin(self, handler: Any, sock: Any) -> None: ...
    def end(self, handler: Any) -> None: ...
    def environ_extras(self, handler: Any, close_after_answer: Callable[[], None]) -> dict: ...


def eventlet_protocol(hooks: RequestHooks) -> type:
    """eventlet's request handler, calling ``hooks``."""
    from eventlet import wsgi

    class Protocol(wsgi.HttpProtocol):
        def handle_one_request(self):
            hooks.begin(self, self.connection)
            try:
                super().handle_one_request()
            finally:
                hooks.end(self)

        def get_environ(self, *args, **kwargs):
            environ = super().get_environ(*args, **kwargs)
            environ.update(hooks.environ_extras(self, self._close_after_answer))
            return environ

        def _close_after_answer(self) -> None:
            self.close_connection = 1

    return Protocol


def werkzeug_handler(hooks: RequestHooks) -> type:
    """werkzeug's request handler (threading mode), calling ``hooks``, and
    without a log line per request."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def handle_one_request(self):
            hooks.begin(self, self.connection)
            try:
                super().handle_one_request()
            finally:
                hooks.end(self)

        def make_environ(self):
            environ = super().make_environ()
            environ.update(hooks.environ_extras(self, self._close_after_answer))
            return environ

        def _close_after_answer(self) -> None:
            self.close_connection = True

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return Handler


def OneAtATimePool() -> Any:
    """eventlet's connection pool, yielding after each connection it starts.

    eventlet's server accepts every connection waiting on the socket before
    any of them runs; a crowd logging in at once then has each request
    parsed and dispatched back to back in one turn of the event loop (about
    a millisecond each: 200 logins stalled the tick by tens of
    milliseconds).  Yielding after each one lets the tick run between them.
    """
    import eventlet

    class Pool(eventlet.GreenPool):
        def spawn(self, function, *args, **kwargs):
            thread = super().spawn(function, *args, **kwargs)
            eventlet.sleep(0)
            return thread
    return Pool(DEFAULT_CONNECTIONS)


def start_server(app: Any, listener: socket.socket, async_mode: str, hooks: RequestHooks,
                 idle_timeout_s: float) -> Any:
    """Serve ``app`` on ``listener`` beside the caller; returns what closes it."""
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        # An HTTP connection that sends nothing for a while is closed, so idle
        # sockets cannot use up the server's connection pool.
        green = eventlet.spawn(eventlet.wsgi.server, listener, app, log_output=False,
                               socket_timeout=idle_timeout_s,
                               protocol=eventlet_protocol(hooks),
                               custom_pool=OneAtATimePool())

        class _Eventlet:
            def close(self) -> None:
                green.kill()
                listener.close()
        return _Eventlet()
    from werkzeug.serving import ThreadedWSGIServer

    host, port = listener.getsockname()[:2]
    server = ThreadedWSGIServer(host, port, app, werkzeug_handler(hooks),
                                fd=listener.fileno())
    listener.close()  # the server holds its own copy
    # Stopping must not wait for requests still running (a long-poll, a
    # client that never sends its body): the process is about to exit.
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, name="http-server", daemon=True)
    thread.start()

    class _Werkzeug:
        def close(self) -> None:
            server.socket.close()
    return _Werkzeug()


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def interrupt_handler(async_mode: str):
    """What SIGTERM and Ctrl-C do: raise KeyboardInterrupt where the host's
    main loop waits.

    Under eventlet a signal handler runs in whichever green thread happens to
    be running; raising there only kills that green thread (a tick, a handler)
    and the host keeps serving.  The interrupt is handed to the main green
    thread through the hub instead.
    """
    if async_mode != "eventlet":
        return _raise_keyboard_interrupt
    import greenlet
    from eventlet import hubs

    main = greenlet.getcurrent()

    def interrupt_main(signum, frame):
        hubs.get_hub().schedule_call_global(0, main.throw, KeyboardInterrupt)
    return interrupt_main
