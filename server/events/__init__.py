"""Socket.IO handlers, one module per area, registered on the python-socketio
server directly (no Flask request context on the hot path)."""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from game import protocol as P

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


def register_all(ctx: HostContext) -> None:
    from . import chat, session, world

    session.register(ctx)
    world.register(ctx)
    chat.register(ctx)
