"""HTTP endpoints: register, log in, log out, health and stats; and the
check of every request's Host header."""
from __future__ import annotations

import hmac
import json
import time

from flask import Blueprint, jsonify, request

from game.core import protocol as P

from .accounts import AuthError
from .context import HostContext

MAX_BODY_BYTES = P.HTTP_BODY_MAX_BYTES


def blueprint(ctx: HostContext) -> Blueprint:
    api = Blueprint("api", __name__)

    def error(code: str, message: str, status: int):
        return jsonify({"error": code, "message": message}), status

    @api.before_request
    def same_origin_only():
        """A page from another site cannot log in, register or log out here."""
        if not ctx.config.origin_allowed(request.headers.get("Origin"), request.environ):
            return error(P.E_FORBIDDEN_ORIGIN, "requests from that origin are not allowed", 403)
        return None

    def credentials() -> P.Credentials:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise P.ProtocolError(P.E_BAD_REQUEST, "request body is too large")
        body = request.get_json(silent=True)
        return P.parse_credentials(body)

    def session_answer(identity, token: str, status: int):
        return jsonify({"token": token, "user": {"id": identity.user_id, "name": identity.name},
                        "expires_in": ctx.accounts.token_ttl_s,
                        "protocol": P.PROTOCOL_VERSION}), status

    def open_session(attempt, status: int):
        """Run a register or login attempt and answer with its session or its error."""
        try:
            identity, token = attempt()
        except P.ProtocolError as exc:
            return error(exc.code, exc.message, 400)
        except AuthError as exc:
            return error(exc.code, exc.message, exc.status)
        return session_answer(identity, token, status)

    @api.post(P.HTTP_REGISTER)
    def register():
        address = ctx.config.client_address(request.environ)

        def attempt():
            creds = credentials()
            return ctx.accounts.register(creds, address, P.parse_registration_look(
                request.get_json(silent=True)))
        return open_session(attempt, 201)

    @api.post(P.HTTP_LOGIN)
    def login():
        address = ctx.config.client_address(request.environ)
        return open_session(lambda: ctx.accounts.login(credentials(), address), 200)

    @api.post(P.HTTP_LOGOUT)
    def logout():
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        try:
            identity = ctx.accounts.logout(token)
        except AuthError as exc:
            return error(exc.code, exc.message, exc.status)
        for sid, who in list(ctx.connections.items()):
            if who.session_id == identity.session_id:
                ctx.end_session(sid, P.END_LOGGED_OUT, "logged out")
        return jsonify({"ok": True}), 200

    @api.get(P.HTTP_HEALTH)
    def health():
        full = ctx.storage.full
        return jsonify({"ok": not full, "game": "pixel-commons", "protocol": P.PROTOCOL_VERSION,
                        "players_online": len(ctx.world),
                        "async_mode": ctx.config.async_mode,
                        "storage": "full" if full else "ok"})

    def stats_allowed() -> bool:
        """Detailed statistics are for the hosting player: public only with
        --public-stats, otherwise for requests bearing --stats-token."""
        config = ctx.config
        if config.public_stats:
            return True
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        return bool(config.stats_token) and hmac.compare_digest(
            given.encode(), config.stats_token.encode())

    @api.get(P.HTTP_STATS)
    def stats():
        if not stats_allowed():
            return error(P.E_FORBIDDEN, "statistics are private on this host", 403)
        guard, transport = ctx.guard, ctx.transport
        return jsonify({"players_online": len(ctx.world), "connections": len(ctx.connections),
                        "transports": len(transport.connections()) if transport else 0,
                        "outbox_longest": transport.longest_queue() if transport else 0,
                        "closed_by_guard": dict(guard.closed_counts) if guard else {},
                        "uptime_s": round(time.time() - ctx.started_at, 1),
                        "storage_queue": ctx.storage.queue_length,
                        "positions_written": ctx.storage.positions_written,
                        "tick_rate": ctx.config.tick_rate,
                        "broadcast_packets_written": transport.fanout.written if transport else 0,
                        "broadcast_packets_queued": transport.fanout.queued if transport else 0,
                        "lateness_last_5s_max_ms": ctx.tick_stats.recent_max(
                            int(5 * ctx.config.tick_rate)),
                        **ctx.tick_stats.summary()})

    @api.errorhandler(404)
    def not_found(_exc):
        return error("not_found", "no such endpoint", 404)

    return api


class HostNameCheck:
    """WSGI middleware in front of everything (the API and Socket.IO): a
    request whose Host header does not name this host (see
    ``HostConfig.host_allowed``) is answered ``403 forbidden_host`` unread."""

    def __init__(self, app, config):
        self.app = app
        self.config = config

    def __call__(self, environ, start_response):
        if self.config.host_allowed(environ):
            return self.app(environ, start_response)
        body = json.dumps({"error": P.E_FORBIDDEN_HOST,
                           "message": "this host does not answer to that name"}).encode()
        start_response("403 FORBIDDEN", [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))])
        return [body]
