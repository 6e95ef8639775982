"""The app factory and the host's life cycle (start, serve, shut down cleanly)."""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, jsonify
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from game.core import protocol as P

from .accounts import Accounts
from .cluster import Cluster
from .cluster.bus import Bus
from .config import HostConfig, load_or_create_secret
from .context import HostContext, log
from .events import register_all
from .host_admin import AdminQueue
from .http_server import RequestBodies, RequestDeadlines, open_listener
from .limits import ConnectionGuard
from .live import LiveWorld
from .moderation import Moderation
from .presence import JoinDesk, Presence
from .runtime import Runtime
from .storage import Storage
from .ticker import Ticker
from .worlds import load_world
from .transport import RealtimeSockets, Transport, interrupt_handler, start_server
from . import http_api, startup


# How long the goodbyes of a stopping host may take to go out, and how long
# the whole stop may take before the process exits regardless.
GOODBYE_FLUSH_S = 1.0
SHUTDOWN_LIMIT_S = 15.0
# How often the main thread wakes while it waits for Ctrl-C or SIGTERM.  The
# kernel may deliver a signal to any thread of the process; Python then runs
# its handler only when the main thread next wakes, and a long sleep of the
# main thread is not cut short by a signal another thread received.
SIGNAL_CHECK_S = 0.25


@dataclass
class Host:
    app: Flask
    socketio: SocketIO
    ctx: HostContext
    ticker: Ticker
    listener: socket.socket
    deadlines: RequestDeadlines
    admin_queue: AdminQueue

    def serve(self) -> None:
        """Serve until Ctrl-C or SIGTERM, then save everyone and close."""
        cfg = self.ctx.config
        handler = interrupt_handler(cfg.async_mode)
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        sio = self.ctx.sio
        self.ticker.start()
        self.ctx.guard.start()
        sio.start_background_task(self.ctx.moderation.run, sio.sleep)
        sio.start_background_task(self.deadlines.run, sio.sleep)
        self.admin_queue.start()  # host.py admin's commands, applied within a second
        if self.ctx.cluster is not None:
            self.ctx.cluster.start()
        port = self.listener.getsockname()[1]
        server = start_server(self.app, self.listener, cfg.async_mode, self.deadlines,
                              P.HTTP_IDLE_TIMEOUT_S)
        for served in self.ctx.maps.values():
            log.info("map %s (%s): hash %s, bundle %s, %d files", served.name, served.file,
                     served.hash[:12], _size(served.size), served.files)
        log.info("hosting (%s mode, %g Hz, database %s); %s", cfg.async_mode, cfg.tick_rate,
                 cfg.database_label, startup.join_addresses(cfg.host, port))
        try:
            while True:  # the server runs beside; a signal ends this wait
                sio.sleep(SIGNAL_CHECK_S)
        except KeyboardInterrupt:
            pass
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):  # one signal stops the host
                signal.signal(sig, signal.SIG_IGN)
            # The process exits after this, even if something hangs on the way.
            _exit_if_stuck(self.ctx.runtime, SHUTDOWN_LIMIT_S)
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
        self.ticker.stop()
        ctx.guard.stop()
        ctx.moderation.stop()
        self.deadlines.stop()
        self.admin_queue.stop()
        ctx.accounts.hash_pool.stop()  # no worker process outlives the host
        ctx.sio.emit(P.SESSION_ENDED, {"reason": P.END_HOST_SHUTDOWN,
                                       "message": "the host was stopped"})
        positions = ctx.world.all_places()
        ctx.storage.save_positions(positions)
        # Everyone is saved: connections dropping from here on need no handling.
        ctx.transport.forget_handler("disconnect")
        self._wait_for_goodbyes(GOODBYE_FLUSH_S)
        if ctx.cluster is not None:
            ctx.cluster.stop()
        ctx.storage.close()
        log.info("saved %d players; host stopped", len(positions))

    def _wait_for_goodbyes(self, limit_s: float) -> None:
        """Give the goodbyes queued for each client a moment to be written."""
        sio, transport = self.ctx.sio, self.ctx.transport
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and transport.outbound_waiting():
            sio.sleep(0.02)
        sio.sleep(0.05)  # the last ones taken off a queue are still being written


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"


def _exit_if_stuck(runtime: Runtime, limit_s: float) -> None:
    """Make sure a stopping host exits even if something hangs on the way."""
    def give_up() -> None:
        os.write(2, b"the host did not stop in time; exiting without finishing\n")
        os._exit(1)
    timer = runtime.threading.Timer(limit_s, give_up)
    timer.daemon = True
    timer.start()


def create_host(config: HostConfig) -> Host:
    # The port first: a host that cannot have it stops before touching any file.
    listener = open_listener(config.host, config.port, reuse_port=config.worker is not None)
    runtime = Runtime(config.async_mode)
    # Every map is checked and bundled once; the bundles stay in memory.
    served = {Path(path): startup.serve_map(Path(path)) for path in config.map_paths}
    world = load_world(config.map_paths, loader=lambda path: served[Path(path)][0].world)
    bundles = [bundle for _, bundle in served.values()]
    world.descriptions = {bundle.name: bundle.describe() for bundle in bundles}
    storage = Storage(config.database, runtime)
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
        **Transport.SERVER_OPTIONS,
    )
    app.wsgi_app = RealtimeSockets(app.wsgi_app)
    app.wsgi_app = http_api.HostNameCheck(app.wsgi_app, config)
    transport = Transport(socketio.server, config.async_mode)
    ctx = HostContext(config=config, sio=socketio.server, runtime=runtime, storage=storage,
                      accounts=accounts, world=LiveWorld(world), transport=transport,
                      maps={bundle.hash: bundle for bundle in bundles},
                      start_map=served[Path(config.map_path)][1])
    ctx.guard = ConnectionGuard(
        socketio.server, transport, connect_timeout_s=config.connect_timeout_s,
        outbox_max=config.outbox_max_packets,
        on_flood=lambda sid: ctx.end_session(sid, P.END_FLOODING,
                                             "too many messages; disconnected"),
        on_notice=lambda sid, code, message: ctx.send_error(sid, code, message))
    ctx.moderation = Moderation(ctx)
    ctx.presence = Presence(ctx.world, transport)
    ctx.join_desk = JoinDesk(runtime.async_mode)
    if config.redis_url:
        ctx.cluster = Cluster(ctx, Bus(config.redis_url, config.async_mode))
    transport.install(ctx.guard.stalls)
    ctx.guard.install()
    app.wsgi_app = RequestBodies(
        app.wsgi_app, close_session=lambda eio_sid: ctx.guard.close_now(
            eio_sid, "bad request", cut_transport=False))
    register_all(ctx)
    app.register_blueprint(http_api.blueprint(ctx))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.code or 500, "http_error")
        return jsonify({"error": code, "message": exc.description}), exc.code

    return Host(app=app, socketio=socketio, ctx=ctx, ticker=Ticker(ctx), listener=listener,
                deadlines=RequestDeadlines(), admin_queue=AdminQueue(ctx))
