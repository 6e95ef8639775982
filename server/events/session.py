"""Connecting, joining the world, leaving, and the catch-all for unknown events."""
from __future__ import annotations

import time
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from game.core import protocol as P

from ..accounts import STORAGE_FULL_MESSAGE, AuthError
from ..context import HostContext, log
from ..ratelimit import SlidingWindow
from ..live import WORLD_ROOM, user_room
from ..storage import StorageFull
from ..transport import compact_json
from . import guarded, on

MISSED_MESSAGES_MAX = P.MISSED_MESSAGES_MAX


@on("connect")
def connect(ctx: HostContext, sid: str, environ: Any = None, auth: Any = None) -> Any:
    """Refuse any connection without a valid session token."""
    if environ is not ctx.sio.get_environ(sid):
        # A client sent an event named "connect"; it is not one.
        return unknown_event(ctx, "connect", sid)
    token = auth.get("token") if isinstance(auth, dict) else None
    try:
        identity = ctx.accounts.verify_token(token)
    except AuthError as exc:
        # A banned account's refusal also carries the ban as data:
        # {error: "banned", reason, until}.
        raise ConnectionRefusedError(f"{exc.code}: {exc.message}",
                                     *([{"error": exc.code, **exc.extra}] if exc.extra else []))
    previous = ctx.world.by_uid.get(identity.user_id)
    earlier = [s for s, who in ctx.connections.items() if who.user_id == identity.user_id]
    ctx.connections[sid] = identity
    ctx.connected_at[sid] = time.monotonic()
    # One live connection per account: the newest wins.
    for old_sid in earlier:
        ctx.end_session(old_sid, P.END_REPLACED,
                        "this account logged in from somewhere else")
    if previous is not None and previous.sid in ctx.world.by_sid:
        _leave(ctx, previous.sid)
    if ctx.cluster is not None:  # and on every other process of the world
        ctx.cluster.messages.take_over(identity.user_id)


@on("disconnect")
def disconnect(ctx: HostContext, sid: str, reason: Any = None, *extra: Any) -> Any:
    if ctx.transport.is_connected(sid):
        # A client sent an event named "disconnect"; it is not one.
        return unknown_event(ctx, "disconnect", sid)
    ctx.connections.pop(sid, None)
    ctx.connected_at.pop(sid, None)
    _leave(ctx, sid)


@on(P.JOIN)
@guarded(P.JOIN, needs_player=False)
def join(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    request = P.parse_join(data)
    if sid in ctx.world.by_sid:
        raise P.ProtocolError(P.E_BAD_PAYLOAD, "already in the world")
    if sid in ctx.joining_sids:
        raise P.ProtocolError(P.E_BAD_PAYLOAD, "already joining")
    uid = identity.user_id
    ban = ctx.accounts.ban_of(uid)
    if ban is not None:  # banned since this connection was accepted
        ctx.end_session(sid, P.END_BANNED, ban.reason or "you are banned",
                        until=None if ban.until is None else round(ban.until * 1000.0))
        raise P.ProtocolError(P.E_BANNED, "this account is banned")
    if not _join_allowed(ctx.joins, uid, time.monotonic()):
        raise P.ProtocolError(P.E_RATE_LIMITED, f"more than {P.JOINS_MAX} joins in "
                              f"{P.JOIN_WINDOW_S:g} s for this account; wait a little")
    # While the reads below wait on the disk, and the join waits for its
    # turn at the join desk, DMs to this player are held back and go into
    # the welcome, so none slips between the stored history and the live
    # stream, and none arrives twice.
    held: list[dict] = []
    ctx.joining[uid] = held
    ctx.joining_sids.add(sid)

    def done_joining() -> None:
        ctx.joining_sids.discard(sid)
        if ctx.joining.get(uid) is held:
            del ctx.joining[uid]

    def enter() -> Any:
        try:
            if ctx.connections.get(sid) is not identity:
                return None
            return _enter_world(ctx, sid, identity, request, stored, held)
        finally:
            done_joining()

    try:
        stored = ctx.storage.load_join(uid, request.last_dm_id, MISSED_MESSAGES_MAX)
        if ctx.cluster is not None:  # where the player stood on another process
            stored = ctx.cluster.messages.place_for_join(uid, stored)
        player = ctx.join_desk.run(enter)
    finally:
        done_joining()
    if player is None:
        return {"ok": False, "error": P.E_AUTH_REQUIRED, "message": "connection closed"}
    mute = ctx.moderation.muted(uid)
    if mute is not None:
        ctx.sio.emit(P.MUTED, {"until": round(mute.until * 1000.0), "reason": mute.reason},
                     to=sid)
    log.info("%s joined at (%.0f, %.0f) on %s", identity.name, player.x, player.y, player.map)
    return {"ok": True}


@on(P.PING)
@guarded(P.PING, needs_player=False)
def ping(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    t = P.parse_ping(data)
    return {"ok": True, "t": t, "server_time": time.time() * 1000.0}


@on(P.DIRECTORY)
@guarded(P.DIRECTORY, needs_player=False)
def directory(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    P.parse_empty(data)
    online = ctx.world.everyone  # in a cluster, the players of every process
    me = ctx.world.by_uid.get(identity.user_id)
    blocked = me.blocked if me is not None else set(ctx.storage.blocked_by(identity.user_id))
    players = []
    names = ctx.accounts.names
    if ctx.cluster is not None:  # accounts made on other processes, while online at least
        names = {**{uid: p.name for uid, p in list(online.items())}, **names}
    for uid, name in names.items():
        here = online.get(uid) if uid != identity.user_id else None
        if here is not None:
            players.append({"name": name, "online": True, "map": here.map})
        elif uid != identity.user_id:
            players.append({"name": name, "online": False})
        else:
            continue
        if uid in blocked:
            players[-1]["blocked"] = True
    players.sort(key=lambda p: (not p["online"], p["name"].lower()))
    return {"ok": True, "players": players[:P.DIRECTORY_MAX]}


@on(P.LOGOUT)
@guarded(P.LOGOUT, needs_player=False)
def logout(ctx: HostContext, sid: str, identity, data: Any) -> dict:
    P.parse_empty(data)
    try:
        ctx.storage.revoke_session(identity.session_id)
    except StorageFull as exc:  # nothing changed: the session goes on
        raise P.ProtocolError(P.E_STORAGE_FULL, STORAGE_FULL_MESSAGE) from exc
    ctx.end_session(sid, P.END_LOGGED_OUT, "logged out")
    return {"ok": True}


@on("*")
def unknown_event(ctx: HostContext, event: Any, sid: str, *args: Any) -> dict:
    name = str(event)[:40]
    return ctx.send_error(sid, P.E_UNKNOWN_EVENT, f"unknown event '{name}'", name)


def _enter_world(ctx: HostContext, sid: str, identity, request: Any, stored: Any,
                 held: list[dict]) -> Any:
    """Place a joining player and send its welcome (at the join desk, in
    one go); returns the player."""
    uid = identity.user_id
    missed, unread, blocked = stored.missed, stored.unread, set(stored.blocked)
    after = missed[-1]["id"] if missed else (request.last_dm_id or 0)
    missed.extend(m for m in held if m["id"] > after)
    missed.sort(key=lambda m: m["id"])
    # Nothing from the players this one blocks (see events/blocks.py).
    missed = [m for m in missed if m["sender_id"] not in blocked]
    unread = {peer: n for peer, n in unread.items() if peer not in blocked}
    ctx.replayed[uid] = {m["id"] for m in missed}
    with ctx.presence.lock:  # the welcome and the next players_joined agree
        # Everyone in the world (on every process of a cluster) but this player.
        others = [p.public_json() for p in ctx.world.everyone.values() if p.user_id != uid]
        shadow = ctx.world.everyone.get(uid)
        if shadow is not None and shadow.node is not None:
            ctx.presence.left(shadow)  # here now, no longer on the other process
        player = ctx.world.place(identity.user_id, identity.name, sid, stored.place,
                                 time.monotonic(), P.look_or_default(stored.look, uid))
        player.blocked = blocked
        player.role = ctx.moderation.role(uid)
        here = ctx.world.maps[player.map]
        ctx.sio.enter_room(sid, WORLD_ROOM)
        ctx.sio.enter_room(sid, user_room(identity.user_id))
        names = ctx.accounts.names
        welcome = {
            "protocol": P.PROTOCOL_VERSION,
            "you": player.public(),
            "players": [],  # filled in below, already encoded
            "unread": {names[uid]: n for uid, n in unread.items() if uid in names},
            "missed_messages": [_public_message(ctx, m) for m in missed],
            "last_dm_id": max([stored.newest_dm_id] + [m["id"] for m in missed]),
            "blocked": sorted((names[b] for b in blocked if b in names), key=str.lower),
            "world": {"width": here.width_px, "height": here.height_px,
                      "tile_size": here.tile_size, "speed": player.budget.speed},
            "map": ctx.world.describe(player.map),
            "tick_rate": ctx.overload.tick_rate,
            "overloaded": ctx.overload.overloaded,
            "server_time": time.time() * 1000.0,
            "can": P.can(player.role),
        }
        # Each player's entry is encoded once and kept while it stays the
        # same (see LivePlayer.public_json), and spliced in here: only a key
        # of the welcome itself can read "players":[] (quotes inside strings
        # are escaped), and "you" has no such key.
        text = compact_json(welcome).replace(
            '"players":[]', '"players":[' + ",".join(others) + "]", 1)
        ctx.transport.emit_json(P.WELCOME, text, sid)
        # Everyone else hears of this player in the next tick's players_joined.
        ctx.presence.joined(player)
    return player


def _join_allowed(joins: dict[int, SlidingWindow], uid: int, now: float) -> bool:
    """Count a join of account ``uid``; False when it is over JOINS_MAX."""
    window = joins.get(uid)
    if window is None:
        if len(joins) > 100_000:  # forget accounts with no recent joins
            for key in [k for k, w in joins.items() if not w.count(now)]:
                del joins[key]
        window = joins[uid] = SlidingWindow(P.JOINS_MAX, P.JOIN_WINDOW_S)
    return window.allow(now)


def _leave(ctx: HostContext, sid: str) -> None:
    """Take a player out of the world, save where they stood, tell the others
    (the next tick's ``players_left``)."""
    with ctx.presence.lock:
        player = ctx.world.remove(sid)
        if player is None:
            return
        ctx.presence.left(player)
        if ctx.cluster is not None:
            ctx.cluster.world.local_left(player)
    ctx.replayed.pop(player.user_id, None)
    ctx.storage.save_positions([(player.user_id, player.x, player.y, player.map)])
    for peer_id in player.open_peers:
        peer = ctx.world.by_uid.get(peer_id)
        if peer is None or player.user_id in peer.blocked:
            continue  # offline, or blocks this player: hears nothing of them
        ctx.sio.emit(P.DM_PRESENCE, {"peer": player.name, "state": "left"}, to=user_room(peer_id))
    log.info("%s left at (%.0f, %.0f) on %s", player.name, player.x, player.y, player.map)


def _public_message(ctx: HostContext, m: dict) -> dict:
    names = ctx.accounts.names
    # A deleted account's side of a message points at no account.
    return {"id": m["id"], "from": names.get(m["sender_id"], P.DELETED_PLAYER_NAME),
            "to": names.get(m["recipient_id"], P.DELETED_PLAYER_NAME), "text": m["text"],
            "sent_at": round(m["sent_at"] * 1000.0)}
