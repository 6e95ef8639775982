"""Socket.IO handlers, one module per area, registered on the python-socketio
server directly (no Flask request context on the hot path).

Each handler is a module-level function ``handler(ctx, sid, data)`` declared
with ``@on(EVENT)``; ``register_all`` binds them to a host's context.  A test
can import one and call it with a context of its own.

How an event is dispatched is declared on its handler, with ``dispatch=``:

* ``IN_ORDER`` (the default): python-socketio decodes the packet and runs the
  handler on the connection's own reader, in arrival order.
* ``FAST``: the hot path.  The transport decodes a plain packet once and
  calls the handler straight from the reader, without python-socketio's
  packet objects and dispatch (``server.transport.Transport.deliver_fast``);
  anything unusual about the packet still goes the ``IN_ORDER`` way.  For
  events that arrive many times a second from every player and never wait.
* ``BESIDE``: the handler waits on the database, so it runs in a task of its
  own beside the connection's reader: a slow disk holds up that answer
  only, never the player's moves that follow it.  (Events whose order
  matters, such as join and logout, stay ``IN_ORDER``: nothing a client
  sends after them makes sense before they are done.)
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from game.core import protocol as P

from ..context import HostContext

log = logging.getLogger("server.events")

IN_ORDER = "in order"
FAST = "fast"
BESIDE = "beside"

# Every handler of the host: event -> (handler(ctx, sid, *args), dispatch).
HANDLERS: dict[str, tuple[Callable[..., Any], str]] = {}


def on(event: str, *, dispatch: str = IN_ORDER) -> Callable:
    """Declare ``fn(ctx, sid, ...)`` the handler of ``event`` (see the module
    docstring for ``dispatch``)."""
    if dispatch not in (IN_ORDER, FAST, BESIDE):
        raise ValueError(f"unknown dispatch {dispatch!r}")

    def declare(fn: Callable) -> Callable:
        if event in HANDLERS and HANDLERS[event][0] is not fn:
            raise ValueError(f"two handlers for {event!r}")
        HANDLERS[event] = (fn, dispatch)
        return fn
    return declare


def events_dispatched(dispatch: str) -> frozenset[str]:
    _import_handlers()
    return frozenset(e for e, (_, d) in HANDLERS.items() if d == dispatch)


def guarded(event: str, *, needs_player: bool = True) -> Callable:
    """Wrap a handler so bad input becomes an ``error`` event and never a crash.

    The wrapped function ``fn(ctx, sid, player_or_identity, data)`` becomes
    ``handler(ctx, sid, data)``: a second positional argument from the client
    is refused, a client that has not joined (or, with ``needs_player=False``,
    not logged in) is told so, and a handler that raises ``ProtocolError``
    answers with that code.
    """
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def handler(ctx: HostContext, sid: str, data: Any = None, *extra: Any) -> Any:
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
                return fn(ctx, sid, who, data)
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


def refuse_if_muted(ctx: HostContext, sid: str, player: Any, event: str) -> dict | None:
    """The answer to a muted player's message or line (None: they may speak).

    The player gets an ``error`` with the mute's end (``until``, Unix ms) and
    the same in the ack; nothing is sent or stored."""
    mute = ctx.moderation.muted(player.user_id) if ctx.moderation is not None else None
    if mute is None:
        return None
    until = round(mute.until * 1000.0)
    ctx.sio.emit(P.ERROR, {**P.error_payload(P.E_MUTED, "you are muted", event),
                           "until": until}, to=sid)
    return {"ok": False, "error": P.E_MUTED, "message": "you are muted", "until": until}


def _import_handlers() -> None:
    # Each module declares its handlers.
    from . import blocks, chat, emotes, looks, moderation, session, talk, world  # noqa: F401


def register_all(ctx: HostContext) -> None:
    """Bind every handler to ``ctx`` and register it by its dispatch."""
    _import_handlers()
    for event, (fn, dispatch) in HANDLERS.items():
        bound = functools.partial(fn, ctx)
        ctx.sio.on(event, bound)
        if dispatch == FAST and ctx.transport is not None:
            ctx.transport.add_fast_event(event, bound)
    if ctx.guard is not None:
        ctx.guard.beside_events = events_dispatched(BESIDE)
        ctx.guard.fast_events = events_dispatched(FAST)
