"""Keeping order from inside the game: the owner's and moderators' ``mod_*``
events.  Each is acknowledged; the work (permission, audit row, applying it
to the live world) is ``server.moderation.Moderation``'s.

A player whose role may not use an action gets ``forbidden`` before its
payload is even looked at, so the events reveal nothing to them.

They run in arrival order (not beside the reader, as the DM events do):
a ban and the unban sent after it must be applied in that order, and a
moderator's actions are too rare for the disk wait to matter.
"""
from __future__ import annotations

from typing import Any

from game.core import protocol as P

from ..context import HostContext
from ..moderation import forbidden
from . import guarded, on

# Event -> the action's name in welcome.can.
ACTIONS = {P.MOD_KICK: "kick", P.MOD_MUTE: "mute", P.MOD_UNMUTE: "unmute", P.MOD_BAN: "ban",
           P.MOD_UNBAN: "unban", P.MOD_ANNOUNCE: "announce", P.MOD_LIST: "list",
           P.MOD_PROMOTE: "promote", P.MOD_DEMOTE: "demote", P.MOD_AUDIT: "audit",
           P.MOD_SETTINGS: "settings"}


def _actor(ctx: HostContext, identity: Any, event: str):
    actor = ctx.moderation.actor(identity)
    if ACTIONS[event] not in P.can(actor.role):
        raise forbidden(ACTIONS[event])
    return actor


@on(P.MOD_KICK)
@guarded(P.MOD_KICK, needs_player=False)
def mod_kick(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_KICK)
    r = P.parse_mod(P.MOD_KICK, data)
    return ctx.moderation.kick(actor, r.name, r.reason)


@on(P.MOD_MUTE)
@guarded(P.MOD_MUTE, needs_player=False)
def mod_mute(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_MUTE)
    r = P.parse_mod(P.MOD_MUTE, data)
    return ctx.moderation.mute(actor, r.name, r.minutes, r.reason)


@on(P.MOD_UNMUTE)
@guarded(P.MOD_UNMUTE, needs_player=False)
def mod_unmute(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_UNMUTE)
    return ctx.moderation.unmute(actor, P.parse_mod(P.MOD_UNMUTE, data).name)


@on(P.MOD_BAN)
@guarded(P.MOD_BAN, needs_player=False)
def mod_ban(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_BAN)
    r = P.parse_mod(P.MOD_BAN, data)
    return ctx.moderation.ban(actor, r.name, r.minutes, r.reason)


@on(P.MOD_UNBAN)
@guarded(P.MOD_UNBAN, needs_player=False)
def mod_unban(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_UNBAN)
    return ctx.moderation.unban(actor, P.parse_mod(P.MOD_UNBAN, data).name)


@on(P.MOD_ANNOUNCE)
@guarded(P.MOD_ANNOUNCE, needs_player=False)
def mod_announce(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_ANNOUNCE)
    return ctx.moderation.announce(actor, P.parse_mod(P.MOD_ANNOUNCE, data).text)


@on(P.MOD_LIST)
@guarded(P.MOD_LIST, needs_player=False)
def mod_list(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_LIST)
    P.parse_mod(P.MOD_LIST, data)
    return {"ok": True, "players": ctx.moderation.list(actor)}


@on(P.MOD_PROMOTE)
@guarded(P.MOD_PROMOTE, needs_player=False)
def mod_promote(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_PROMOTE)
    return ctx.moderation.promote(actor, P.parse_mod(P.MOD_PROMOTE, data).name)


@on(P.MOD_DEMOTE)
@guarded(P.MOD_DEMOTE, needs_player=False)
def mod_demote(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_DEMOTE)
    return ctx.moderation.demote(actor, P.parse_mod(P.MOD_DEMOTE, data).name)


@on(P.MOD_AUDIT)
@guarded(P.MOD_AUDIT, needs_player=False)
def mod_audit(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_AUDIT)
    before_id, limit = P.parse_audit(data)
    entries, more = ctx.moderation.audit(actor, before_id, limit)
    return {"ok": True, "entries": entries, "more": more}


@on(P.MOD_SETTINGS)
@guarded(P.MOD_SETTINGS, needs_player=False)
def mod_settings(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    actor = _actor(ctx, identity, P.MOD_SETTINGS)
    return {"ok": True, "settings": ctx.moderation.settings(actor, P.parse_settings(data))}
