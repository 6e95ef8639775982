"""Blocking another player: their direct messages to you are refused (they
are told only that the message could not be delivered), and you no longer
hear of them in your conversations.

Blocks are stored (``blocks`` table) and the set of players an online player
blocks is kept on their ``LivePlayer`` (loaded at join), so the checks on
every message read memory; only a message to an offline player asks the
database.  Nothing is deleted by a block: the messages from before it come
back on unblocking, and none can be stored while it lasts.
"""
from __future__ import annotations

import time
from typing import Any

from game.core import protocol as P

from ..context import HostContext
from ..live import LivePlayer, conversation_room
from ..storage import StorageFull
from . import BESIDE, guarded, on

STORAGE_FULL_MESSAGE = "the host's disk is full; nothing changed"


def blocks(ctx: HostContext, user_id: int, other_id: int) -> bool:
    """Whether ``user_id`` blocks ``other_id`` (memory when online, else the database)."""
    player = ctx.world.by_uid.get(user_id)
    if player is not None:
        return other_id in player.blocked
    return other_id in set(ctx.storage.blocked_by(user_id))


def blocked_names(ctx: HostContext, player: LivePlayer) -> list[str]:
    names = ctx.accounts.names
    return sorted((names[uid] for uid in player.blocked if uid in names), key=str.lower)


def _target(ctx: HostContext, player: LivePlayer, data: Any) -> tuple[int, str]:
    name = P.parse_name(data).name
    target = ctx.accounts.user_id(name)
    if target is None:
        raise P.ProtocolError(P.E_UNKNOWN_PLAYER, f"no player named '{name}'")
    if target == player.user_id:
        raise P.ProtocolError(P.E_CANNOT_BLOCK_SELF, "you cannot block yourself")
    return target, ctx.accounts.names.get(target, name)


@on(P.BLOCK, dispatch=BESIDE)
@guarded(P.BLOCK)
def block(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    target, name = _target(ctx, player, data)
    if target not in player.blocked:
        if len(player.blocked) >= P.BLOCKS_MAX:
            raise P.ProtocolError(P.E_TOO_MANY_BLOCKS,
                                  f"you may block at most {P.BLOCKS_MAX} players; unblock one first")
        try:
            ctx.storage.block(player.user_id, target, time.time())
        except StorageFull as exc:
            raise P.ProtocolError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE) from exc
        player.blocked.add(target)
        # The conversation closes for the blocker, silently: the blocked player
        # is not told (no dm_presence), and nothing of theirs arrives any more.
        if target in player.open_peers:
            player.open_peers.discard(target)
            ctx.sio.leave_room(sid, conversation_room(player.user_id, target))
    return {"ok": True, "name": name, "blocked": True}


@on(P.UNBLOCK, dispatch=BESIDE)
@guarded(P.UNBLOCK)
def unblock(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    target, name = _target(ctx, player, data)
    if target in player.blocked:
        try:
            ctx.storage.unblock(player.user_id, target)
        except StorageFull as exc:
            raise P.ProtocolError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE) from exc
        player.blocked.discard(target)
    return {"ok": True, "name": name, "blocked": False}
