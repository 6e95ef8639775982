"""Position updates: the hot path, validated with the shared rules; and
walking through an exit to another map of the world."""
from __future__ import annotations

import time
from typing import Any

from game.core import protocol as P

from ..context import HostContext, log
from ..live import WORLD_ROOM
from . import FAST, on, refuse_over_limit
from .emotes import clear_away


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
        if (request.t is not None and request.seq > player.last_seq
                and player.budget.clock_went_back(request.t / 1000.0)):
            raise P.ProtocolError(P.E_BAD_PAYLOAD, "'t' is smaller than in your last move")
    except P.ProtocolError as exc:
        ctx.send_error(sid, exc.code, exc.message, P.MOVE)
        _correct(ctx, player, _seq_of(data), "bad_payload")
        return
    if request.t is not None:
        _note_read_delay(ctx, player, request.t)
    before = (player.x, player.y)
    reason = world.apply_move(player, request, now)
    if reason is None:
        if player.away:  # moving means being back
            clear_away(ctx, player)
        taken = world.exit_taken(player, before)
        if taken is not None:
            go_through(ctx, player, taken, now)
    elif reason != "stale":
        _correct(ctx, player, request.seq, reason)


def go_through(ctx: HostContext, player, exit_, now: float) -> None:
    """Take a player who walked into an exit to where it leads: ``map_changed``
    to them (snapshots are about the new map from the next tick), and
    ``player_map`` to everyone else online."""
    world = ctx.world
    destination = world.destination(exit_)
    if destination is None:  # checked at start-up; never refuse a walk for it
        return
    old = player.map
    world.change_map(player, destination[0], destination[1], now)
    here = world.maps[player.map]
    others = [p.public() for p in world.on_map_anywhere(player.map) if p is not player]
    ctx.sio.emit(P.MAP_CHANGED, {
        "map": world.describe(player.map), "you": player.public(), "players": others,
        "world": {"width": here.width_px, "height": here.height_px,
                  "tile_size": here.tile_size, "speed": player.budget.speed},
    }, to=player.sid)
    change = {"id": player.user_id, "name": player.name, "map": player.map}
    ctx.transport.emit(P.PLAYER_MAP, change, WORLD_ROOM, skip_sid=player.sid)
    if ctx.cluster is not None:
        ctx.cluster.world.relay(P.PLAYER_MAP, change)
    log.info("%s went from %s to %s at (%.0f, %.0f)", player.name, old, player.map,
             player.x, player.y)


def _note_read_delay(ctx: HostContext, player, t_ms: int) -> None:
    """How much later than usual for this connection the host reads this move
    (its network delay and clock offset are the smallest gap seen)."""
    gap = time.monotonic() - t_ms / 1000.0
    if player.clock_gap is None or gap < player.clock_gap:
        player.clock_gap = gap
    ctx.overload.read_delay(gap - player.clock_gap)


def _seq_of(data: Any) -> int | None:
    seq = data.get("seq") if isinstance(data, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= P.MAX_SEQ else None


def _correct(ctx: HostContext, player, seq: int | None, reason: str) -> None:
    ctx.sio.emit(P.CORRECTION, {"seq": seq, "x": round(player.x, 1), "y": round(player.y, 1),
                                "reason": reason}, to=player.sid)
