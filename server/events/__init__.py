"""Socket.IO handlers, one module per area, registered on the python-socketio
server directly (no Flask request context on the hot path)."""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from game.core import protocol as P

from ..context import HostContext

log = logging.getLogger("server.events")


def guarded(ctx: HostContext, event: str, *, needs_player: bool = True) -> Callable:
    """Wrap a handler so bad input becomes an ``error`` event and never a crash.

    The wrapped function gets ``(sid, player_or_identity, data)``; a second
    positional argument from the client is refused, and a handler that raises
    ``ProtocolError`` answers with that code.
    """
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def handler(sid: str, data: Any = None, *extra: Any) -> Any:
            if extra:
                return ctx.send_error(sid, P.E_BAD_PAYLOAD, "send one payload object", event)
            if needs_player:
                who = ctx.world.by_sid.get(sid)
                if who is None:
                    return ctx.send_error(sid, P.E_NOT_JOINED, "join the world first", event)
            else:
                who = ctx.connections.get(sid)
                if who is None:
                    return ctx.send_error(sid, P.E_AUTH_REQUIRED, "not logged in", event)
            try:
                return fn(sid, who, data)
            except P.ProtocolError as exc:
                return ctx.send_error(sid, exc.code, exc.message, event)
            except Exception:
                log.exception("handler for %s failed", event)
                return ctx.send_error(sid, P.E_INTERNAL, "the host could not handle that", event)
        return handler
    return decorate


# Errors about rate limits go out at most this often per player.
LIMIT_NOTICE_INTERVAL_S = 1.0


def refuse_over_limit(ctx: HostContext, player: Any, now: float, message: str,
                      event: str) -> dict:
    """Drop an event over a player's rate limit; returns the answer for its ack.

    The player is told at most once a second, and one who keeps on after
    that many refusals is disconnected.
    """
    if player.strikes.add(now):
        ctx.end_session(player.sid, P.END_FLOODING, "too many messages; disconnected")
        return {"ok": False, "error": P.E_RATE_LIMITED, "message": "disconnected"}
    if now - player.last_limit_notice >= LIMIT_NOTICE_INTERVAL_S:
        player.last_limit_notice = now
        return ctx.send_error(player.sid, P.E_RATE_LIMITED, message, event)
    return {"ok": False, "error": P.E_RATE_LIMITED, "message": message}


def register_all(ctx: HostContext) -> None:
    from . import chat, looks, session, world

    session.register(ctx)
    world.register(ctx)
    chat.register(ctx)
    looks.register(ctx)
