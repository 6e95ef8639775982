"""HTTP endpoints: register, log in, log out, health, stats and the map
bundles; and the check of every request's Host header."""
from __future__ import annotations

import hmac
import json
import os
import time
from typing import Callable, Iterator

from flask import Blueprint, Response, jsonify, request

from game.core import protocol as P

from .accounts import AuthError
from .context import HostContext
from . import host_admin

MAX_BODY_BYTES = P.HTTP_BODY_MAX_BYTES
# A bundle is written in pieces this large, letting the rest of the host run
# between them (a 32 MB map must not hold up the tick while it downloads).
MAP_CHUNK_BYTES = 64 * 1024
MAP_CACHE_CONTROL = "public, max-age=31536000, immutable"  # a hash never changes content


def blueprint(ctx: HostContext) -> Blueprint:
    api = Blueprint("api", __name__)

    def error(code: str, message: str, status: int, **extra):
        return jsonify({"error": code, "message": message, **extra}), status

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
            return error(exc.code, exc.message, exc.status, **exc.extra)
        return session_answer(identity, token, status)

    @api.post(P.HTTP_REGISTER)
    def register():
        address = ctx.config.client_address(request.environ)

        def attempt():
            if ctx.config.registration == P.REGISTRATION_CLOSED:
                raise AuthError(P.E_REGISTRATION_CLOSED,
                                "this host takes no new accounts; ask its owner", 403)
            creds = credentials()
            return ctx.accounts.register(creds, address, P.parse_registration_look(
                request.get_json(silent=True)), admit=lambda name: host_admin.admit(ctx, name))
        return open_session(attempt, 201)

    @api.post(P.HTTP_ACCOUNT_DELETE)
    def delete_account():
        """Delete one's own account, with its password (checked and throttled
        like a login)."""
        address = ctx.config.client_address(request.environ)
        try:
            user = ctx.accounts.check_password(credentials(), address)
            host_admin.delete_account(ctx, user.id, user.name)
        except P.ProtocolError as exc:
            return error(exc.code, exc.message, 400)
        except AuthError as exc:
            return error(exc.code, exc.message, exc.status)
        return jsonify({"ok": True}), 200

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
        state = "full" if full else "unreachable" if ctx.storage.unreachable else "ok"
        return jsonify({"ok": state == "ok", "game": "pixel-commons", "protocol": P.PROTOCOL_VERSION,
                        "players_online": len(ctx.world),
                        "async_mode": ctx.config.async_mode,
                        "registration": ctx.config.registration,
                        "storage": state,
                        "cluster": ctx.cluster.health() if ctx.cluster is not None else None,
                        "map": ctx.start_map.describe() if ctx.start_map else None,
                        "maps": [served.describe() for served in ctx.maps.values()],
                        # Which process answered (host.py --workers): index or null, and pid.
                        "worker": ctx.config.worker, "pid": os.getpid()})

    @api.get(f"{P.HTTP_MAPS}/<string:file_name>")
    def map_bundle(file_name: str):
        """A map's bundle, by hash: only bundles the host built at start-up,
        looked up by name, never a path from the request."""
        bundle_hash = file_name[:-4] if file_name.endswith(".zip") else ""
        served = ctx.maps.get(bundle_hash) if P.MAP_HASH_RE.fullmatch(bundle_hash) else None
        if served is None:
            return jsonify({"ok": False, "error": P.E_NOT_FOUND,
                            "message": "this host serves no map with that hash"}), 404
        headers = {"ETag": f'"{served.hash}"', "Cache-Control": MAP_CACHE_CONTROL}
        if request.if_none_match.contains_weak(served.hash):
            return Response(status=304, headers=headers)
        headers["Content-Length"] = str(served.size)
        return Response(in_pieces(served.data, ctx.sio.sleep), status=200,
                        mimetype="application/zip", headers=headers, direct_passthrough=True)

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
                        "tick_rate": ctx.overload.tick_rate,
                        "tick_rate_normal": ctx.config.tick_rate,
                        "overloaded": ctx.overload.overloaded,
                        "times_overloaded": ctx.overload.times_overloaded,
                        "broadcast_packets_written": transport.fanout.written if transport else 0,
                        "broadcast_packets_queued": transport.fanout.queued if transport else 0,
                        "lateness_last_5s_max_ms": ctx.tick_stats.recent_max(
                            int(5 * ctx.overload.tick_rate)),
                        **ctx.tick_stats.summary()})

    @api.errorhandler(404)
    def not_found(_exc):
        return error("not_found", "no such endpoint", 404)

    return api


def in_pieces(data: bytes, pause: Callable[[float], None],
              size: int = MAP_CHUNK_BYTES) -> Iterator[bytes]:
    """``data`` in pieces of ``size`` bytes, giving the other green threads
    (or threads) a turn after each: under eventlet a fast reader would
    otherwise take the whole body in one go while every tick waits."""
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start:start + size])
        pause(0)


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
