"""Talking aloud: a line said to whoever stands near the speaker.

``say`` reaches the players on the speaker's map within
``protocol.HEARING_RADIUS_PX`` of where the speaker stands at that moment,
the speaker included, as ``said``.  Nothing is stored: a player who was not
there never hears it, and no history of it exists anywhere.

Who hears is found through the live world's cells (``LiveWorld.within``),
so a line costs the cells around the speaker and nothing for players
elsewhere.  A line passes only between two players neither of whom blocks
the other: a listener who blocks the speaker does not get it, and neither
does a listener the speaker blocks (as with direct messages, a block stops
talk both ways).  The speaker is not told who heard it.
"""
from __future__ import annotations

import json
import time
from typing import Any

from game.core import protocol as P

from ..context import HostContext
from ..live import LivePlayer
from . import guarded, on, refuse_if_muted, refuse_over_limit


def listeners(ctx: HostContext, speaker: LivePlayer) -> list[LivePlayer]:
    """Who hears ``speaker`` now: within earshot, on the same map, and neither
    blocking the other; the speaker first."""
    heard = ctx.world.within(speaker, P.HEARING_RADIUS_PX)
    me, blocked = speaker.user_id, speaker.blocked
    return [p for p in heard
            if p is speaker or (p.user_id not in blocked and me not in p.blocked)]


@on(P.SAY)
@guarded(P.SAY)
def say(ctx: HostContext, sid: str, player: LivePlayer, data: Any) -> dict:
    # A broken payload is refused before anything else and costs no allowance.
    request = P.parse_say(data)
    refused = refuse_if_muted(ctx, sid, player, P.SAY)
    if refused is not None:
        return refused
    now = ctx.guard.judged_time(sid) if ctx.guard is not None else time.monotonic()
    if not player.says.allow(now):
        return refuse_over_limit(ctx, player, now, f"more than {P.SAYS_PER_WINDOW} lines in "
                                 f"{P.SAY_WINDOW_S:g} s; not said", P.SAY)
    line = {"from": player.user_id, "name": player.name, "text": request.text,
            "x": round(player.x, 1), "y": round(player.y, 1), "at": round(time.time() * 1000.0)}
    if ctx.cluster is not None:  # the listeners near them on the world's other processes
        ctx.cluster.world.relay_near(P.SAID, line, player)
    send_said(ctx, player, line)
    return {"ok": True}


def send_said(ctx: HostContext, player: LivePlayer, line: dict) -> None:
    """A line ``player`` (this process's or another's) said, to this
    process's listeners within earshot."""
    heard = [p for p in listeners(ctx, player) if p.node is None]
    if ctx.transport is None:
        for listener in heard:
            ctx.sio.emit(P.SAID, line, to=listener.sid)
    else:  # encoded once, written to each listener's socket
        data_json = json.dumps(line, separators=(",", ":"))
        for listener in heard:
            ctx.transport.emit_json(P.SAID, data_json, listener.sid)
