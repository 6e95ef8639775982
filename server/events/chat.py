"""Direct messages between two players, through a room only they can enter.

The room name is derived by the host from the two account ids; a client only
ever names the other player.
"""
from __future__ import annotations

from typing import Any

from game.core import protocol as P

from ..cluster.limits import account_window
from ..context import HostContext
from ..live import LivePlayer, conversation_room, user_room
from ..storage import StorageFull
from . import BESIDE, guarded, on, refuse_if_muted, refuse_over_limit
from .blocks import blocks
from .session import _public_message

STORAGE_FULL_MESSAGE = "the host's disk is full; message not sent"
NOT_DELIVERED_MESSAGE = "the message could not be delivered"


def resolve_peer(ctx: HostContext, player: LivePlayer, name: str) -> int:
    """The account id of the player named ``name``; never the sender's own."""
    peer_id = ctx.accounts.user_id(name)
    if peer_id is None:
        raise P.ProtocolError(P.E_NO_SUCH_PLAYER, f"no player named '{name}'")
    if peer_id == player.user_id:
        raise P.ProtocolError(P.E_NO_SUCH_PLAYER, "you cannot message yourself")
    return peer_id


@on(P.DM_OPEN, dispatch=BESIDE)
@guarded(P.DM_OPEN)
def dm_open(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    peer_id = resolve_peer(ctx, player, P.parse_peer(data).peer)
    # A conversation with someone you block shows nothing (and marks nothing
    # read, so unblocking brings it all back as it was).
    hidden = peer_id in player.blocked
    messages, has_more = ([], False) if hidden else ctx.storage.history(
        player.user_id, peer_id, None, P.HISTORY_PAGE_DEFAULT)
    if ctx.world.by_sid.get(sid) is not player:
        return {"ok": False, "error": P.E_NOT_JOINED, "message": "left the world"}
    ctx.sio.enter_room(sid, conversation_room(player.user_id, peer_id))
    newly_open = peer_id not in player.open_peers
    player.open_peers.add(peer_id)
    if not hidden:
        ctx.storage.mark_read(player.user_id, peer_id, messages[-1]["id"] if messages else None)
    peer = ctx.world.by_uid.get(peer_id)
    if peer is None and ctx.cluster is not None:
        # The peer's process decides (and tells them the conversation opened).
        ctx.cluster.messages.watch(player)
        online, present = ctx.cluster.messages.peer_state(player, peer_id, newly_open, hidden)
    else:
        # Either side blocking the other: neither hears the other come or go.
        apart = hidden or (peer is not None and player.user_id in peer.blocked)
        if newly_open and not apart:
            ctx.sio.emit(P.DM_PRESENCE, {"peer": player.name, "state": "entered"},
                         to=user_room(peer_id))
        online = peer is not None
        present = online and not apart and player.user_id in peer.open_peers
    return {"ok": True, "peer": ctx.accounts.names[peer_id],
            "messages": [_public_message(ctx, m) for m in messages], "has_more": has_more,
            "peer_online": online, "peer_present": present}


@on(P.DM_CLOSE)
@guarded(P.DM_CLOSE)
def dm_close(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    peer_id = resolve_peer(ctx, player, P.parse_peer(data).peer)
    if peer_id not in player.open_peers:
        raise P.ProtocolError(P.E_NOT_OPEN, "that conversation is not open")
    player.open_peers.discard(peer_id)
    ctx.sio.leave_room(sid, conversation_room(player.user_id, peer_id))
    peer = ctx.world.by_uid.get(peer_id)
    if peer is not None and player.user_id not in peer.blocked and peer_id not in player.blocked:
        ctx.sio.emit(P.DM_PRESENCE, {"peer": player.name, "state": "left"}, to=user_room(peer_id))
    elif peer is None and ctx.cluster is not None and peer_id not in player.blocked:
        ctx.cluster.messages.dm_presence(player, peer_id, "left")
    return {"ok": True}


@on(P.DM_SEND, dispatch=BESIDE)
@guarded(P.DM_SEND)
def dm_send(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    # Check the payload first: a broken one is answered with an error and
    # does not use up the sender's message allowance.
    request = P.parse_dm_send(data)
    refused = refuse_if_muted(ctx, sid, player, P.DM_SEND)
    if refused is not None:
        return refused
    peer_id = resolve_peer(ctx, player, request.to)
    now = ctx.guard.judged_time(sid)  # see ratelimit.Pace
    if not account_window(ctx, "dm", player.user_id, player.dms).allow(now):
        return refuse_over_limit(ctx, player, now, f"more than {P.DMS_PER_WINDOW} messages in "
                                 f"{P.DM_WINDOW_S:g} s; message not sent", P.DM_SEND)
    if peer_id in player.blocked:
        raise P.ProtocolError(P.E_BLOCKED, f"you block {ctx.accounts.names.get(peer_id, request.to)}"
                              "; unblock them to send a message")
    if blocks(ctx, peer_id, player.user_id):
        # Nothing is stored and nobody else hears of it; the sender learns no more.
        raise P.ProtocolError(P.E_NOT_DELIVERED, NOT_DELIVERED_MESSAGE)
    if ctx.storage.full:
        raise P.ProtocolError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE)
    try:
        stored, unread = ctx.storage.add_message(player.user_id, peer_id, request.text)
    except StorageFull as exc:
        raise P.ProtocolError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE) from exc
    message = _public_message(ctx, stored)
    notice = {"peer": player.name, "unread": unread, "message": message}
    ctx.sio.emit(P.DM_MESSAGE, message, to=conversation_room(player.user_id, peer_id))
    if ctx.cluster is not None:  # the recipient's process, wherever it is, does the same
        ctx.cluster.messages.dm_sent(stored, message, notice)
    peer = ctx.world.by_uid.get(peer_id)
    if peer is not None and player.user_id in peer.open_peers:
        ctx.storage.mark_read(peer_id, player.user_id, stored["id"])
    elif peer is not None or ctx.cluster is None or peer_id in ctx.joining:
        _notify(ctx, peer_id, stored, notice)
    return {"ok": True, "message": message}


@on(P.DM_HISTORY, dispatch=BESIDE)
@guarded(P.DM_HISTORY)
def dm_history(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    request = P.parse_history(data)
    peer_id = resolve_peer(ctx, player, request.peer)
    if peer_id in player.blocked:
        messages, has_more = [], False
    else:
        messages, has_more = ctx.storage.history(player.user_id, peer_id, request.before_id,
                                                 request.limit)
    return {"ok": True, "peer": ctx.accounts.names[peer_id],
            "messages": [_public_message(ctx, m) for m in messages], "has_more": has_more}


def _notify(ctx: HostContext, user_id: int, stored: dict, notice: dict) -> None:
    """Tell a player about a message in a conversation they do not have open.

    A player part-way through joining gets it in the welcome instead; one
    whose welcome already replayed it does not get it twice.
    """
    held = ctx.joining.get(user_id)
    if held is not None:
        held.append(stored)
        return
    if stored["id"] in ctx.replayed.get(user_id, ()):
        return
    ctx.sio.emit(P.DM_UNREAD, notice, to=user_room(user_id))
