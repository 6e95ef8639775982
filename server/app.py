"""The app factory and the host's life cycle (start, serve, shut down cleanly)."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify
import socketio.packet
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from game.core import protocol as P
from game.core.rules import WorldMap

from .accounts import Accounts
from .config import HostConfig, load_or_create_secret
from .context import HostContext, log
from .events import register_all
from .fanout import Fanout
from .http_server import (RequestBodies, RequestDeadlines, disconnect_without_waiting,
                          eventlet_protocol, open_listener, werkzeug_handler)
from .limits import ConnectionGuard
from .live import LiveWorld
from .runtime import Runtime
from .storage import Storage
from .ticker import Ticker
from . import http_api, startup


# How long the goodbyes of a stopping host may take to go out, and how long
# the whole stop may take before the process exits regardless.
GOODBYE_FLUSH_S = 1.0
SHUTDOWN_LIMIT_S = 15.0


@dataclass
class Host:
    app: Flask
    socketio: SocketIO
    ctx: HostContext
    ticker: Ticker
    listener: socket.socket
    deadlines: RequestDeadlines

    def serve(self) -> None:
        """Serve until Ctrl-C or SIGTERM, then save everyone and close."""
        cfg = self.ctx.config
        handler = _interrupt_handler(cfg.async_mode)
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        sio = self.ctx.sio
        self.ticker.start()
        self.ctx.guard.start()
        sio.start_background_task(self.deadlines.run, sio.sleep)
        port = self.listener.getsockname()[1]
        server = _start_server(self.app, self.listener, cfg.async_mode, self.deadlines)
        log.info("hosting (%s mode, %g Hz, database %s); %s", cfg.async_mode, cfg.tick_rate,
                 cfg.db_path, startup.join_addresses(cfg.host, port))
        try:
            while True:  # the server runs beside; a signal ends this wait
                sio.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):  # one signal stops the host
                signal.signal(sig, signal.SIG_IGN)
            try:
                self.shutdown()
            finally:
                server.close()

    def shutdown(self) -> None:
        """Tell every client the host is stopping, write every connected
        player's position, then close the database.

        Players are saved here in one batch, not one by one as they leave:
        the connections are not ended first (that would also send everyone a
        ``player_left`` for everyone else), the process simply exits after
        the goodbyes went out.
        """
        ctx = self.ctx
        _exit_if_stuck(ctx.runtime, SHUTDOWN_LIMIT_S)
        self.ticker.stop()
        ctx.guard.stop()
        self.deadlines.stop()
        ctx.sio.emit(P.SESSION_ENDED, {"reason": P.END_HOST_SHUTDOWN,
                                       "message": "the host was stopped"})
        positions = ctx.world.all_positions()
        ctx.storage.save_positions(positions)
        # Everyone is saved: connections dropping from here on need no handling.
        ctx.sio.handlers.get("/", {}).pop("disconnect", None)
        self._wait_for_goodbyes(GOODBYE_FLUSH_S)
        ctx.storage.close()
        log.info("saved %d players; host stopped", len(positions))

    def _wait_for_goodbyes(self, limit_s: float) -> None:
        """Give the goodbyes queued for each client a moment to be written."""
        sio = self.ctx.sio
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if not any(s.queue.qsize() for s in list(sio.eio.sockets.values())
                       if not s.closed):
                break
            sio.sleep(0.02)
        sio.sleep(0.05)  # the last ones taken off a queue are still being written


def _start_server(app: Flask, listener: socket.socket, async_mode: str,
                  deadlines: RequestDeadlines) -> Any:
    """Serve ``app`` on ``listener`` beside the caller; returns what closes it."""
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        # An HTTP connection that sends nothing for a while is closed, so idle
        # sockets cannot use up the server's connection pool.
        green = eventlet.spawn(eventlet.wsgi.server, listener, app, log_output=False,
                               socket_timeout=P.HTTP_IDLE_TIMEOUT_S,
                               protocol=eventlet_protocol(deadlines))

        class _Eventlet:
            def close(self) -> None:
                green.kill()
                listener.close()
        return _Eventlet()
    from werkzeug.serving import ThreadedWSGIServer

    host, port = listener.getsockname()[:2]
    server = ThreadedWSGIServer(host, port, app, werkzeug_handler(deadlines),
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


def _exit_if_stuck(runtime: Runtime, limit_s: float) -> None:
    """Make sure a stopping host exits even if something hangs on the way."""
    def give_up() -> None:
        os.write(2, b"the host did not stop in time; exiting without finishing\n")
        os._exit(1)
    timer = runtime.threading.Timer(limit_s, give_up)
    timer.daemon = True
    timer.start()


class TextPacket(socketio.packet.Packet):
    """Socket.IO packets without the search for binary attachments: the host
    never sends bytes, and walking every number of a snapshot to find out
    cost more than encoding it."""

    uses_binary_events = False


class RealtimeSockets:
    """WSGI middleware for WebSocket upgrades: no permessage-deflate (each
    client would compress the same snapshot again) and no Nagle delay on the
    connection, so a snapshot leaves the moment it is written."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
            sock = environ.get("werkzeug.socket")
            if sock is None and "eventlet.input" in environ:
                sock = environ["eventlet.input"].get_socket()
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (AttributeError, OSError):
                pass
        return self.app(environ, start_response)


def _unmask_fast(data, mask, length=None, offset=0):
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


# How many ready sockets the eventlet loop serves before it fires its due
# timers (the tick among them) again.  eventlet serves every socket that is
# ready before looking at a timer; with a crowd moving, one such pass could hold
# the tick back by tens of milliseconds.  The poll is level-triggered, so the
# sockets left over come back first on the next pass.
READY_SOCKETS_PER_PASS = 24


def _bound_event_loop_passes() -> None:
    from eventlet.hubs import epolls

    def do_poll(self, seconds):
        return self.poll.poll(-1 if seconds is None else seconds, READY_SOCKETS_PER_PASS)

    epolls.Hub.do_poll = do_poll


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _interrupt_handler(async_mode: str):
    """What SIGTERM and Ctrl-C do: stop the server loop so serve() can save.

    Under eventlet a signal handler runs in whichever green thread happens to
    be running; raising there only kills that green thread (a tick, a handler)
    and the host keeps serving.  The interrupt is handed to the main green
    thread, where the server loop waits, through the hub instead.
    """
    if async_mode != "eventlet":
        return _raise_keyboard_interrupt
    import greenlet
    from eventlet import hubs

    main = greenlet.getcurrent()

    def interrupt_main(signum, frame):
        hubs.get_hub().schedule_call_global(0, main.throw, KeyboardInterrupt)
    return interrupt_main


def create_host(config: HostConfig) -> Host:
    # The port first: a host that cannot have it stops before touching any file.
    listener = open_listener(config.host, config.port)
    runtime = Runtime(config.async_mode)
    world_map = WorldMap.load_tmx(config.map_path)
    storage = Storage(config.db_path, runtime)
    accounts = Accounts(storage, runtime, load_or_create_secret(config.secret_path),
                        config.token_ttl_s, config.login_failures_per_minute,
                        config.registrations_per_minute)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    socketio = SocketIO(
        app,
        async_mode=config.async_mode,
        ping_interval=config.ping_interval_s,
        ping_timeout=config.ping_timeout_s,
        max_http_buffer_size=P.MAX_FRAME_BYTES,
        # Same origin, or an Origin on the allowlist; clients that send no
        # Origin (not browsers) are not affected.
        cors_allowed_origins=config.origin_allowed,
        logger=False,
        engineio_logger=False,
        # Handlers run on the connection's own reader, in arrival order,
        # instead of one new green thread per event (a move is the hot path).
        async_handlers=False,
        serializer=TextPacket,
    )
    app.wsgi_app = RealtimeSockets(app.wsgi_app)
    app.wsgi_app = http_api.HostNameCheck(app.wsgi_app, config)
    socketio.server.eio.disconnect = disconnect_without_waiting(socketio.server.eio)
    if config.async_mode == "eventlet":
        from eventlet.websocket import RFC6455WebSocket

        RFC6455WebSocket._apply_mask = staticmethod(_unmask_fast)
        _bound_event_loop_passes()
    ctx = HostContext(config=config, sio=socketio.server, runtime=runtime, storage=storage,
                      accounts=accounts, world=LiveWorld(world_map))
    ctx.guard = ConnectionGuard(
        socketio.server, connect_timeout_s=config.connect_timeout_s,
        outbox_max=config.outbox_max_packets,
        on_flood=lambda sid: ctx.end_session(sid, P.END_FLOODING,
                                             "too many messages; disconnected"),
        on_notice=lambda sid, code, message: ctx.send_error(sid, code, message))
    ctx.guard.install()
    app.wsgi_app = RequestBodies(
        app.wsgi_app, close_session=lambda eio_sid: ctx.guard.close_now(
            eio_sid, "bad request", cut_transport=False))
    ctx.fanout = Fanout(socketio.server, direct=config.async_mode == "eventlet")
    ctx.fanout.install()
    register_all(ctx)
    app.register_blueprint(http_api.blueprint(ctx))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.code or 500, "http_error")
        return jsonify({"error": code, "message": exc.description}), exc.code

    return Host(app=app, socketio=socketio, ctx=ctx, ticker=Ticker(ctx), listener=listener,
                deadlines=RequestDeadlines())
