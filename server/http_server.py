"""The HTTP server under the host: its listening socket, a deadline for every
request, and request bodies read whole (within limits) before the app runs.

* The listening socket is the host's own: ``SO_REUSEADDR`` (a restart right
  after a stop binds although the old connections are still closing) and,
  for a single host, never ``SO_REUSEPORT``, so a second host on a port that
  is taken fails to start instead of sharing the port with the first.  The
  workers of ``host.py --workers N`` share their port with ``SO_REUSEPORT``
  (the kernel spreads new connections among them); their parent checks that
  the port is free first (``server.workers``).
* Every request must arrive whole (request line, headers and body) within
  ``HTTP_REQUEST_DEADLINE_S`` of its connection opening or of the answer to
  the connection's previous request; a connection that is slower is cut.
* A body is read before the app runs: at most ``MAX_FRAME_BYTES``, and only
  with a ``Content-Length``.  A polling POST that is too large or cannot be
  decoded is answered ``400`` at once, its Engine.IO session is closed, and so
  is the connection it came on.

Both async modes use the same pieces: the servers themselves (eventlet's and
werkzeug's) are set up by ``server.transport.serving``, which calls the
``RequestDeadlines`` hooks.
"""
from __future__ import annotations

import errno
import io
import json
import logging
import socket
import time
import urllib.parse
from typing import Any, Callable

from game.core import protocol as P

from .startup import StartupError
from .transport import polling_payload_ok

log = logging.getLogger("server.http")

# What the server puts in each request's WSGI environ for RequestBodies.
REQUEST_ARRIVED = "pixel_commons.request_arrived"    # () -> False when the deadline cut it
CLOSE_CONNECTION = "pixel_commons.close_connection"  # () close the connection after this answer

SOCKETIO_PATH = "/socket.io"


class PortInUse(StartupError):
    """Another program listens on the port: the host stops with this one line
    and exit status 1."""


def open_listener(host: str, port: int, backlog: int = 128, *, reuse_port: bool = False,
                  listen: bool = True) -> socket.socket:
    """Bind and listen on ``host:port`` (with SO_REUSEADDR; with SO_REUSEPORT
    only when ``reuse_port`` asks for it: a worker of ``host.py --workers``).
    Without ``listen`` the socket is only bound: it holds the port."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, IndexError) as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc}") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        if not hasattr(socket, "SO_REUSEPORT"):
            sock.close()
            raise StartupError("--workers needs SO_REUSEPORT, which this system lacks: "
                               "run one process per port")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(address)
        if listen:
            sock.listen(backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use by another program "
                            "(another host?); stop it or choose another port with --port") from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class RequestDeadlines:
    """Cuts a connection whose request has not arrived whole in time.

    The server calls ``begin`` when it starts waiting for a request on a
    connection, ``environ_extras`` for each request, and ``end`` when it is
    done with it; ``RequestBodies`` calls
    ``arrived`` once the headers and the body are in.  ``run`` (a background
    task) shuts down the socket of every request still missing at its deadline,
    which ends any read that was waiting on it.
    """

    def __init__(self, deadline_s: float = P.HTTP_REQUEST_DEADLINE_S,
                 check_interval_s: float = 0.25):
        self.deadline_s = deadline_s
        self.check_interval_s = check_interval_s
        self._due: dict[Any, tuple[float, Any]] = {}  # handler -> (deadline, socket)
        self.cut = 0
        self.running = False

    def begin(self, handler: Any, sock: Any) -> None:
        self._due[handler] = (time.monotonic() + self.deadline_s, sock)

    def arrived(self, handler: Any) -> bool:
        """The request is in; False when its deadline had already cut it."""
        return self._due.pop(handler, None) is not None

    def end(self, handler: Any) -> None:
        self._due.pop(handler, None)

    def environ_extras(self, handler: Any, close_after_answer: Callable[[], None]) -> dict:
        """What the server adds to each request's environ for RequestBodies."""
        return {REQUEST_ARRIVED: lambda: self.arrived(handler),
                CLOSE_CONNECTION: close_after_answer}

    def check(self, now: float) -> None:
        for handler, (due, sock) in list(self._due.items()):
            if now >= due and self._due.pop(handler, None) is not None:
                self.cut += 1
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run(self, sleep: Callable[[float], None]) -> None:
        self.running = True
        while self.running:
            sleep(self.check_interval_s)
            try:
                self.check(time.monotonic())
            except Exception:
                log.exception("request deadline check failed")

    def stop(self) -> None:
        self.running = False


class _Refused(Exception):
    def __init__(self, status: str, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RequestBodies:
    """WSGI middleware: read each request's body whole, within its size limit,
    before the app sees it, and check polling POSTs before Engine.IO does.

    Engine.IO's own answer to an oversized POST waited until the client's
    long-poll took the session's goodbye, which might never happen; here the
    answer is immediate and the connection is closed behind it (the unread
    body would otherwise be read as the next request).
    """

    def __init__(self, app: Callable, close_session: Callable[[str], None],
                 max_body: int = P.MAX_FRAME_BYTES):
        self.app = app
        self.close_session = close_session
        self.max_body = max_body

    def __call__(self, environ: dict, start_response: Callable):
        polling = environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH)
        try:
            self._read_body(environ, polling)
            arrived = environ.get(REQUEST_ARRIVED)
            if arrived is not None and not arrived():
                raise _Refused("408 Request Timeout", "http_error",
                               "the request did not arrive in time")
            if polling and environ.get("REQUEST_METHOD") == "POST":
                _check_polling_payload(environ["wsgi.input"].getvalue())
        except _Refused as refusal:
            return self._refuse(environ, start_response, refusal, polling)
        if not polling:
            return self.app(environ, start_response)

        def answer(status: str, headers: list, exc_info: Any = None):
            if status.startswith("400"):  # Engine.IO refused it (unknown session, ...)
                _close_connection(environ)
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)
        return self.app(environ, answer)

    def _read_body(self, environ: dict, polling: bool) -> None:
        if environ.get("HTTP_TRANSFER_ENCODING"):
            raise _Refused("411 Length Required", "http_error",
                           "send the request body with a Content-Length")
        text = environ.get("CONTENT_LENGTH") or ""
        if not text:
            if polling and environ.get("REQUEST_METHOD") == "POST":
                raise _Refused("400 Bad Request", P.E_BAD_REQUEST, "empty payload")
            environ["wsgi.input"] = io.BytesIO()
            return
        try:
            length = int(text)
            if length < 0:
                raise ValueError(text)
        except ValueError:
            raise _Refused("400 Bad Request", P.E_BAD_REQUEST, "bad Content-Length") from None
        if length > self.max_body:
            if polling:
                raise _Refused("400 Bad Request", P.E_BAD_REQUEST,
                               "payload exceeded maximum size")
            # The app answers from the Content-Length alone; the body is
            # never read, so the connection cannot carry another request.
            _close_connection(environ)
            environ["wsgi.input"] = io.BytesIO()
            return
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) < length:  # the client stopped, or its deadline cut it
            raise _Refused("400 Bad Request", P.E_BAD_REQUEST, "the request body ended early")
        environ["wsgi.input"] = io.BytesIO(body)

    def _refuse(self, environ: dict, start_response: Callable, refusal: _Refused,
                polling: bool):
        _close_connection(environ)
        if polling:
            sid = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("sid", [None])[0]
            if sid:
                self.close_session(sid)
            body = refusal.message.encode()
            content_type = "text/plain"
        else:
            body = json.dumps({"error": refusal.code, "message": refusal.message}).encode()
            content_type = "application/json"
        start_response(refusal.status, [("Content-Type", content_type),
                                        ("Content-Length", str(len(body)))])
        return [body]


def _close_connection(environ: dict) -> None:
    close = environ.get(CLOSE_CONNECTION)
    if close is not None:
        close()


def _check_polling_payload(body: bytes) -> None:
    """Refuse a polling POST Engine.IO could not decode, or with packets a
    client may not send (Engine.IO would end the session over them)."""
    if not polling_payload_ok(body):
        raise _Refused("400 Bad Request", P.E_BAD_REQUEST, "malformed payload")
