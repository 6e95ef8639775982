"""Position updates: the hot path, validated with the shared rules."""
from __future__ import annotations

from typing import Any

from game.core import protocol as P

from ..context import HostContext
from . import FAST, on, refuse_over_limit


# A move arrives 20 times a second from every player: it takes the fast path
# (see server.events and server.transport.Transport.deliver_fast).
@on(P.MOVE, dispatch=FAST)
def move(ctx: HostContext, sid: str, data: Any = None, *extra: Any) -> None:
    world = ctx.world
    player = world.by_sid.get(sid)
    if player is None:
        ctx.send_error(sid, P.E_NOT_JOINED, "join the world first", P.MOVE)
        return
    now = ctx.guard.judged_time(sid)  # see ratelimit.Pace
    if not player.moves.allow(now):
        refuse_over_limit(ctx, player, now, f"more than {P.MOVES_PER_SECOND} moves a second; "
                          "extra moves are dropped", P.MOVE)
        return
    try:
        if extra:
            raise P.ProtocolError(P.E_BAD_PAYLOAD, "send one payload object")
        request = P.parse_move(data)
    except P.ProtocolError as exc:
        ctx.send_error(sid, exc.code, exc.message, P.MOVE)
        _correct(ctx, player, _seq_of(data), "bad_payload")
        return
    reason = world.apply_move(player, request, now)
    if reason is not None and reason != "stale":
        _correct(ctx, player, request.seq, reason)


def _seq_of(data: Any) -> int | None:
    seq = data.get("seq") if isinstance(data, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= P.MAX_SEQ else None


def _correct(ctx: HostContext, player, seq: int | None, reason: str) -> None:
    ctx.sio.emit(P.CORRECTION, {"seq": seq, "x": round(player.x, 1), "y": round(player.y, 1),
                                "reason": reason}, to=player.sid)
