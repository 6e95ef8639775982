"""Changing what a player looks like; everyone else in the world is told."""
from __future__ import annotations

import time
from typing import Any

from game.core import protocol as P

from ..context import HostContext
from ..live import WORLD_ROOM
from . import guarded, on, refuse_over_limit


@on(P.SET_LOOK)
@guarded(P.SET_LOOK)
def set_look(ctx: HostContext, sid: str, player, data: Any) -> dict:
    look = P.parse_look(data)  # a bad look changes nothing and costs nothing
    now = time.monotonic()
    if not player.looks.allow(now):
        return refuse_over_limit(
            ctx, player, now, f"at most {P.LOOK_CHANGES_PER_WINDOW} look changes in "
            f"{P.LOOK_WINDOW_S:g} s; try again in a minute", P.SET_LOOK)
    ctx.storage.save_look(player.user_id, look.as_dict())
    player.look = look
    if ctx.world.by_sid.get(sid) is player:  # still here after the write
        change = {"id": player.user_id, "name": player.name, "look": look.as_dict()}
        ctx.transport.emit(P.LOOK_CHANGED, change, WORLD_ROOM, skip_sid=sid)
        if ctx.cluster is not None:  # the world's other processes tell their players
            ctx.cluster.world.relay(P.LOOK_CHANGED, change)
    return {"ok": True, "look": look.as_dict()}
