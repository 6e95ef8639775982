"""Emotes, typing and away: small signals about a player that are not text.

* ``emote``: an icon over the player's avatar, for the players who see them
  (the occupied cells of their area, ``LiveWorld.near_cells``), each cell's
  room sent one frame encoded once.  Muted players may emote (an emote is not
  text); a player who blocks the emoter does not get it.
* ``typing``: "X is typing..." in a conversation, relayed to the other
  player's sockets that have the conversation open, and only while neither
  blocks the other and the sender is not muted (a muted player cannot send
  the message that "typing" promises).
* ``away``: the client says its player has been idle for ``AWAY_AFTER_S``
  (or is back); everyone online gets ``player_away``.  The next accepted
  move clears it too (``clear_away``, from ``events.world.move``).

None of these is stored.
"""
from __future__ import annotations

from typing import Any

from game.core import protocol as P

from ..cluster.limits import account_window
from ..context import HostContext
from ..live import WORLD_ROOM, LivePlayer, cell_room, conversation_room
from ..transport import compact_json
from . import guarded, on, refuse_over_limit


@on(P.EMOTE)
@guarded(P.EMOTE)
def emote(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    request = P.parse_emote(data)  # a bad or unknown emote costs nothing
    now = ctx.guard.judged_time(sid)  # see ratelimit.Pace
    if not account_window(ctx, "emote", player.user_id, player.emotes).allow(now):
        return refuse_over_limit(ctx, player, now, f"at most {P.EMOTES_PER_WINDOW} emotes in "
                                 f"{P.EMOTE_WINDOW_S:g} s", P.EMOTE)
    change = {"from": player.user_id, "name": player.name, "emote": request.emote}
    send_emote(ctx, player, compact_json(change))
    if ctx.cluster is not None:  # the players near them on the world's other processes
        ctx.cluster.world.relay_near(P.EMOTED, change, player)
    return {"ok": True}


def send_emote(ctx: HostContext, player: LivePlayer, payload: str) -> None:
    """An emote of ``player`` (this process's or another's) to this
    process's players who see them, but those who block them."""
    me, by_uid, transport = player.user_id, ctx.world.by_uid, ctx.transport
    for cell, members in ctx.world.near_cells(player):
        hiding = [uid for uid in members if (p := by_uid.get(uid)) is not None
                  and me in p.blocked]
        if not hiding:
            transport.emit_json(P.EMOTED, payload, cell_room(cell))
            continue
        for uid in members:  # someone here blocks the emoter: one by one, without them
            p = by_uid.get(uid)
            if p is not None and me not in p.blocked:
                transport.emit_json(P.EMOTED, payload, p.sid)


@on(P.TYPING)
@guarded(P.TYPING)
def typing(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> None:
    request = P.parse_typing(data)
    if request.to == player.user_id:
        raise P.ProtocolError(P.E_NO_SUCH_PLAYER, "you cannot message yourself")
    now = ctx.guard.judged_time(sid)
    if not account_window(ctx, "typing", player.user_id, player.typings).allow(now):
        refuse_over_limit(ctx, player, now, f"at most {P.TYPING_PER_WINDOW} typing events in "
                          f"{P.TYPING_WINDOW_S:g} s", P.TYPING)
        return None
    peer = ctx.world.by_uid.get(request.to)
    if peer is None and ctx.cluster is not None and request.to not in player.blocked \
            and ctx.moderation.muted(player.user_id) is None:
        ctx.cluster.messages.typing(player, request.to, request.typing)  # its process decides
        return None
    if (peer is None or request.to in player.blocked or player.user_id in peer.blocked
            or ctx.moderation.muted(player.user_id) is not None):
        return None  # offline, blocked either way, or muted: nobody hears of it
    ctx.transport.emit(P.TYPING, {"from": player.user_id, "name": player.name,
                                  "typing": request.typing},
                       conversation_room(player.user_id, request.to), skip_sid=sid)
    return None


@on(P.AWAY)
@guarded(P.AWAY)
def away(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    wanted = P.parse_away(data)
    if wanted != player.away:
        now = ctx.guard.judged_time(sid)
        if not account_window(ctx, "away", player.user_id, player.aways).allow(now):
            return refuse_over_limit(ctx, player, now, f"at most {P.AWAY_PER_WINDOW} away "
                                     f"changes in {P.AWAY_WINDOW_S:g} s", P.AWAY)
        set_away(ctx, player, wanted)
    return {"ok": True, "away": player.away}


def set_away(ctx: HostContext, player: LivePlayer, away_now: bool) -> None:
    """Mark a player away (or back) and tell everyone online, the player too."""
    player.away = away_now
    change = {"id": player.user_id, "name": player.name, "away": away_now}
    ctx.transport.emit(P.PLAYER_AWAY, change, WORLD_ROOM)
    if ctx.cluster is not None:  # the world's other processes tell their players
        ctx.cluster.world.relay(P.PLAYER_AWAY, change)


def clear_away(ctx: HostContext, player: LivePlayer) -> None:
    """A move means the player is back (called on the move path: one test)."""
    if player.away:
        set_away(ctx, player, False)
