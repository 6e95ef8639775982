"""One world over several host processes: who is where, and who moves.

Every process of a world's cluster keeps, beside its own players, a
*remote* player (``LivePlayer`` with ``node`` set, in ``LiveWorld.remote``
and ``everyone``) for each player connected to another process.  The tick
sends them to this process's players exactly as it sends its own: the same
cells, areas, snapshots and deltas (``server.ticker``), and the same
``players_joined`` / ``players_left`` batches (``server.presence``).

**Moves.**  Each map is cut into cells (``server.live``) and each cell has a
Redis channel, ``pc:cell:{level}:{cx}:{cy}``.  A process subscribes to the
cells its own players see (the areas of the cells they stand in) and no
others, so it receives only the movers its players can see.  The processes
tick together, on the wall clock's grid of periods.  At its tick a process
takes its movers, publishes its own, one message per cell in one pipelined
round trip (a 4-byte tag of the process and a 14-byte record per mover: id,
map index, x, y), then a mark on ``pc:ticks`` saying its tick is out; it
waits (at most ``WAIT_MAX_S``) for the marks of the others ticking now,
whose movers have then arrived (Redis keeps one publisher's order), and
sends its snapshots with all of them: a remote mover is in the very tick
that shows the move to its own neighbours, a millisecond or two later.  A
mover who changed cell is published on its old cell too, so that those who
saw it there see it go.  When a process starts to see a cell, it asks the
others who stands there (``cells?``): a player standing still publishes
nothing.

**Presence.**  Joins and leaves go to every process in one ``pres``
message a tick, numbered (``v``).  Every ``HEARTBEAT_S`` each process, in
one pipeline, sets ``pc:node:{node}`` (its presence number, expiring after
``NODE_TTL_S``) and ``pc:p:{id}`` (its node, expiring after
``PLAYER_TTL_S``) for each of its players, adds itself to the set
``pc:nodes``, and reads the set and the others' node keys.  A process whose
key expired (killed, frozen, cut off) has its players taken out of the
world by every other, with no help from it.  A process whose number differs
from what was heard from it twice in a row is asked for its whole roster
(``ask`` / ``roster``); after every connection to Redis a process sends its
roster to all (``hello``) and each answers with its own, so a new process,
or one back after an outage, learns who is where, and players who left
meanwhile are taken out.

**What players do.**  ``player_map``, ``look_changed`` and ``player_away``
of this process's players are relayed to the others (``ev``) as they
happen, ``role_changed`` at the next heartbeat; emotes and lines said
nearby (``near``) reach the other processes' players near the player, who
get them as from one of their own process.

**Redis down.**  Each process serves its own players on; remote players
stand still where they were last seen.  They are kept for
``REMOTE_KEPT_DOWN_S`` (a short outage looks like a moment of lag, not like
everyone leaving and coming back) and taken out after that.  Back
connected, the rosters are exchanged again and the cells asked for anew.
"""
from __future__ import annotations

import logging
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from game.core import protocol as P
from game.core import rules

from ..live import WORLD_ROOM, Cell, LivePlayer, area, cell_of, user_room
from ..presence import JOIN
from .bus import PREFIX, Bus

log = logging.getLogger("server.cluster")

# How long a tick waits for the other processes' movers of the same tick
# (they normally take one Redis hop: about a millisecond on one machine),
# and how often it looks.
WAIT_MAX_S = 0.010
MARK_POLL_S = 0.0005
# A process whose mark misses the wait this many times in a row is not
# waited for during SKIP_S (its clock is off, or it is overloaded).
MISSES_TO_SKIP = 3
SKIP_S = 5.0
HEARTBEAT_S = 1.0
# How long a process stays subscribed to a cell its players no longer see.
KEEP_CELL_S = 2.0
# A process whose key has not been refreshed for this long is gone.
NODE_TTL_S = 3
PLAYER_TTL_S = 5
# How long remote players are kept while Redis is unreachable.
REMOTE_KEPT_DOWN_S = 30.0
# Heartbeats in a row with a presence number other than the one heard
# before a process is asked for its roster.
ROSTER_MISMATCHES = 2
NODES_KEY = PREFIX + "nodes"
# Mover record: id, map index, x, y.
RECORD = struct.Struct("<IHff")
TAG = struct.Struct("<I")
# A process's tick is out: its number and the number of its next one, on
# the grid of the normal tick period since the epoch.
MARK = struct.Struct("<qq")
TICKS_CHANNEL = PREFIX + "ticks"
# Player events relayed to the other processes: the fields they change.
RELAYED = {P.PLAYER_MAP: "map", P.LOOK_CHANGED: "look", P.PLAYER_AWAY: "away",
           P.ROLE_CHANGED: "role"}


def cell_channel(cell: Cell) -> str:
    return f"{PREFIX}cell:{cell[0]}:{cell[1]}:{cell[2]}"


def node_key(node: str) -> str:
    return f"{PREFIX}node:{node}"


def player_key(user_id: int) -> str:
    return f"{PREFIX}p:{user_id}"


def node_tag(node: str) -> bytes:
    return TAG.pack(zlib.crc32(node.encode()))


@dataclass
class Roster:
    """What this process knows of another process's players."""
    node: str
    version: int = -1
    players: dict[int, LivePlayer] = field(default_factory=dict)
    mismatches: int = 0


class ClusterWorld:
    def __init__(self, ctx: Any, bus: Bus):
        self.ctx = ctx
        self.bus = bus
        self.node = bus.node
        self.world = ctx.world
        self.presence = ctx.presence
        self.base_period = 1.0 / ctx.config.tick_rate
        # node -> (its last tick out, its next tick or None: not waited for)
        self._marks: dict[str, tuple[int, int | None]] = {}
        self.late_marks = 0
        self._misses: dict[str, int] = {}
        self._roles: dict[int, tuple[str, str]] = {}  # this process's players' roles, told
        self._skip_until: dict[str, float] = {}
        self.last_wait_s = 0.0  # how long the last tick waited for the others
        self.version = 0
        self.tag = node_tag(self.node)
        self.nodes: dict[str, Roster] = {}
        self._tags: dict[bytes, str] = {}
        self._changes: list[tuple[str, LivePlayer]] = []  # this process's joins and leaves
        # Remote players who joined since the last tick (placed after it).
        self._fresh: set[int] = set()
        self._members: set[str] = set()  # the other processes in pc:nodes, last heartbeat
        self.wanted: frozenset[Cell] = frozenset()
        self.subscribed: set[Cell] = set()
        self._unwanted: dict[Cell, float] = {}  # subscribed cells no longer seen, since when
        self._ask: list[Cell] = []
        self.up_since: float | None = None
        self.running = False
        self._heartbeat_task: Any = None
        self._budget = rules.MoveBudget.full(0.0)  # remote players walk nowhere here
        self.received_moves = 0
        bus.subscribe(TICKS_CHANNEL, self._on_mark)
        self.presence.listener = self._local_change
        for kind, handler in (("pres", self._on_presence), ("hello", self._on_hello),
                              ("roster", self._on_roster), ("ask", self._on_ask),
                              ("cells?", self._on_cells_asked), ("cells", self._on_cells),
                              ("ev", self._on_event), ("near", self._on_near),
                              ("bye", self._on_bye)):
            bus.on(kind, handler)
        bus.on_up(self._on_up)

    # -- the tick's side --------------------------------------------------
    @staticmethod
    def align(due: float, period: float) -> float:
        """``due`` (monotonic) moved to the nearest multiple of ``period`` on
        the wall clock, which every process of the world shares."""
        wall = time.time() + (due - time.monotonic())
        return due + (round(wall / period) * period - wall)

    def exchange(self, moved: list[tuple[int, float, float]], due: float,
                 period: float) -> list[tuple[int, float, float]]:
        """This tick's movers (``world.take_moved()``): publish this process's
        own, with its joins and leaves and a mark saying its tick is out;
        wait (at most ``WAIT_MAX_S``) for the marks of the other processes
        ticking now, whose movers have then arrived; return every mover the
        tick sends."""
        world, bus = self.world, self.bus
        with self.presence.lock:
            changes, self._changes = self._changes, []
        if changes:
            self.version += 1
            events = [["j", self._entry(player)] if kind == JOIN
                      else ["l", player.user_id, player.name] for kind, player in changes]
            bus.send("pres", {"v": self.version, "e": events})
        self.last_wait_s = 0.0
        if not bus.up:
            return moved
        by_cell: dict[Cell, list[bytes]] = {}
        by_uid, pack = world.by_uid, RECORD.pack
        for uid, x, y in moved:
            p = by_uid.get(uid)
            if p is None:
                continue  # a remote player, or one who left
            cell = cell_of(x, y, p.level)
            record = pack(uid, p.level, x, y)
            by_cell.setdefault(cell, []).append(record)
            if p.pub_cell is not None and p.pub_cell != cell:
                by_cell.setdefault(p.pub_cell, []).append(record)
            p.pub_cell = cell
        tag, base = self.tag, self.base_period
        wall = time.time() + (due - time.monotonic())
        tick, following = round(wall / base), round((wall + period) / base)
        items = [(cell_channel(c), tag + b"".join(records)) for c, records in by_cell.items()]
        items.append((TICKS_CHANNEL, tag + MARK.pack(tick, following)))
        waited = time.monotonic()
        if bus.publish_many(items):
            self._wait_for_marks(tick)
        self.last_wait_s = time.monotonic() - waited
        arrived = world.take_remote_moved()
        if not arrived:
            return moved
        merged = {uid: (uid, x, y) for uid, x, y in moved}
        merged.update((entry[0], entry) for entry in arrived)
        return list(merged.values())

    def _wait_for_marks(self, tick: int) -> None:
        """Until every process that said it ticks at ``tick`` has said its
        tick is out (or ``WAIT_MAX_S``); one that did not is not waited for
        again until its next mark."""
        deadline = time.monotonic() + WAIT_MAX_S
        sleep = self.ctx.sio.sleep
        marks = self._marks
        while True:
            waiting = [node for node, (last, following) in list(marks.items())
                       if following is not None and following <= tick and last < tick]
            if not waiting:
                self._misses.clear()
                return
            now = time.monotonic()
            if now >= deadline:
                self.late_marks += len(waiting)
                for node in waiting:
                    last, _ = marks.get(node, (-1, None))
                    marks[node] = (last, None)
                    misses = self._misses[node] = self._misses.get(node, 0) + 1
                    if misses >= MISSES_TO_SKIP:  # a clock off, or a host overloaded
                        self._misses[node] = 0
                        self._skip_until[node] = now + SKIP_S
                        log.warning("process %s's ticks come late (its clock is off, or it is "
                                    "overloaded); not waiting for them for %g s", node, SKIP_S)
                return
            sleep(MARK_POLL_S)

    def _on_mark(self, data: bytes) -> None:
        node = self._tags.get(data[:4])
        if node is None or node not in self.nodes:
            return
        tick, following = MARK.unpack_from(data, 4)
        if self._skip_until.get(node, 0.0) > time.monotonic():
            following = None  # its movers go out with the tick after they come
        self._marks[node] = (tick, following)

    def after_tick(self) -> None:
        """Follow this process's players with the cell subscriptions, and
        forget where remote players stand in cells none of them sees."""
        world, bus = self.world, self.bus
        with world.lock:
            local, cells = world.by_uid, world.cells
            wanted: set[Cell] = set()
            for cell, members in cells.items():
                if any(uid in local for uid in members):
                    wanted |= area(cell)
            for cell in [c for c in cells if c not in wanted]:
                for uid in list(cells.get(cell, ())):
                    player = world.everyone.get(uid)
                    if player is not None and player.node is not None:
                        world.unplace(player)
        before, self.wanted = self.wanted, frozenset(wanted)
        if self._fresh:  # joined elsewhere and told here by the tick that just ran
            fresh, self._fresh = self._fresh, set()
            for uid in fresh:
                player = world.everyone.get(uid)
                if player is not None and player.node is not None and \
                        cell_of(player.x, player.y, player.level) in wanted:
                    world.remote_moved(uid)
        if self._ask and bus.up:  # subscribed a tick ago: the listener has them now
            bus.send("cells?", {"c": [list(c) for c in self._ask]})
        self._ask = []
        if wanted == before and not self._unwanted:
            return
        # Cells seen anew: subscribe (if not still subscribed) and ask who
        # stands there; cells no longer seen: unsubscribe after KEEP_CELL_S,
        # so a player pacing along a cell's edge costs no churn.
        now = time.monotonic()
        for cell in wanted - before:
            self._unwanted.pop(cell, None)
            if cell not in self.subscribed:
                bus.subscribe(cell_channel(cell), self._on_cell)
                self.subscribed.add(cell)
            self._ask.append(cell)
        for cell in before - wanted:
            self._unwanted[cell] = now
        for cell, since in list(self._unwanted.items()):
            if cell in wanted:
                del self._unwanted[cell]
            elif now - since >= KEEP_CELL_S:
                del self._unwanted[cell]
                bus.unsubscribe(cell_channel(cell))
                self.subscribed.discard(cell)

    # -- this process's players ------------------------------------------
    def _local_change(self, kind: str, player: LivePlayer) -> None:
        """A join or leave here (``presence.lock`` held): told at the next tick."""
        self._changes.append((kind, player))
        if kind == JOIN:  # the role the others learn with the join (see _tell_roles)
            self._roles[player.user_id] = (player.name, player.role)

    def local_left(self, player: LivePlayer) -> None:
        """This process's ``player`` left (``presence.lock`` held): the same
        account's player on another process, if any, is shown again."""
        other = self.world.unshadow(player.user_id)
        if other is not None:
            self.presence.remote_joined(other)

    def relay(self, event: str, change: dict) -> None:
        """Tell the other processes' players of a change of one of ours
        (``player_map``, ``look_changed``, ``player_away``)."""
        self.bus.send("ev", {"e": event, "d": change})

    def relay_near(self, event: str, change: dict, player: LivePlayer) -> None:
        """Tell the other processes' players near ``player`` what it did
        (``emoted``, ``said``); with whom it blocks, who hear nothing of it."""
        self.bus.send("near", {"e": event, "d": change, "id": player.user_id,
                               "b": sorted(player.blocked)})

    def roster(self) -> list[dict]:
        return [self._entry(p) for p in list(self.world.by_uid.values())]

    def _entry(self, player: LivePlayer) -> dict:
        """A player of this process as the others learn of it: as the welcome
        lists it, since when it is connected, and from which address (for
        the moderators' list)."""
        now_mono = time.monotonic()
        since = time.time() - (now_mono - self.ctx.connected_at.get(player.sid, now_mono))
        moderation = self.ctx.moderation
        return {**player.public(), "since": round(since, 3),
                "address": moderation.address_of(player) if moderation is not None else "?"}

    def in_cells(self, cells: set[Cell]) -> list[list]:
        return [[p.user_id, p.level, p.x, p.y] for p in list(self.world.by_uid.values())
                if cell_of(p.x, p.y, p.level) in cells]

    # -- what the other processes say -------------------------------------
    def _on_up(self) -> None:
        """Connected to Redis (first time or again): say who is here, ask
        who is there, and ask every cell seen anew."""
        self.up_since = time.monotonic()
        self._ask = sorted(self.wanted)
        self.bus.send("hello", {"v": self.version, "players": self.roster()})
        if self._heartbeat_task is None:
            self.running = True
            self._heartbeat_task = self.ctx.sio.start_background_task(self._heartbeats)

    def _on_hello(self, payload: dict, node: str) -> None:
        self._apply_roster(node, payload)
        self.bus.send("roster", {"v": self.version, "players": self.roster()}, to=node)

    def _on_roster(self, payload: dict, node: str) -> None:
        self._apply_roster(node, payload)

    def _on_ask(self, payload: dict, node: str) -> None:
        self.bus.send("roster", {"v": self.version, "players": self.roster()}, to=node)

    def _on_bye(self, payload: dict, node: str) -> None:
        self._drop_node(node, "stopped")

    def _roster_of(self, node: str) -> Roster:
        roster = self.nodes.get(node)
        if roster is None:
            roster = self.nodes[node] = Roster(node)
            self._tags[node_tag(node)] = node
        return roster

    def _apply_roster(self, node: str, payload: dict) -> None:
        players = payload.get("players") or []
        with self.presence.lock:
            roster = self._roster_of(node)
            seen = set()
            for data in players:
                self._remote_join(roster, data)
                seen.add(data["id"])
            for uid in [uid for uid in roster.players if uid not in seen]:
                self._remote_leave(roster, uid)
            roster.version = int(payload.get("v", -1))
            roster.mismatches = 0

    def _on_presence(self, payload: dict, node: str) -> None:
        version = int(payload.get("v", -1))
        with self.presence.lock:
            roster = self._roster_of(node)
            for event in payload.get("e") or []:
                if event[0] == "j":
                    self._remote_join(roster, event[1])
                else:
                    self._remote_leave(roster, int(event[1]))
            in_order = roster.version + 1 == version
            roster.version = version if in_order else roster.version
        if not in_order:  # something was missed: the whole roster
            self.bus.send("ask", {}, to=node)

    def _remote_join(self, roster: Roster, data: dict) -> None:
        """A player of ``roster``'s process (``presence.lock`` held)."""
        world = self.world
        uid = int(data["id"])
        map_name = data.get("map")
        if map_name not in world.levels:
            return  # a map this process does not serve: not one world
        x, y = float(data["x"]), float(data["y"])
        look = P.look_or_default(data.get("look"), uid)
        player = roster.players.get(uid)
        if player is not None:  # known: what changed since
            player.name, player.look = data.get("name", player.name), look
            player.role, player.away = data.get("role", player.role), bool(data.get("away"))
            player.map, player.level = map_name, world.levels[map_name]
            self._moved_to(player, player.level, x, y)
            return
        for other in self.nodes.values():  # the account moved between processes
            if other is not roster and uid in other.players:
                self._remote_leave(other, uid)
        player = LivePlayer(uid, str(data.get("name", "")), f"~{roster.node}", x, y,
                            self._budget, map=map_name, level=world.levels[map_name],
                            look=look, role=str(data.get("role", P.ROLE_PLAYER)),
                            away=bool(data.get("away")), node=roster.node,
                            since=float(data.get("since") or time.time()),
                            address=str(data.get("address") or "?"))
        roster.players[uid] = player
        if world.add_remote(player):
            self.presence.remote_joined(player)
            # Placed after the tick that says it joined (see after_tick),
            # as a player of this process is.
            self._fresh.add(uid)

    def _remote_leave(self, roster: Roster, uid: int) -> None:
        player = roster.players.pop(uid, None)
        if player is not None and self.world.remove_remote(player):
            self.presence.left(player)

    def _drop_node(self, node: str, why: str) -> None:
        with self.presence.lock:
            roster = self.nodes.pop(node, None)
            self._marks.pop(node, None)
            if roster is None:
                return
            gone = dict(roster.players)
            for uid in list(roster.players):
                self._remote_leave(roster, uid)
        self._tell_conversations(gone)
        log.warning("process %s %s: its %d players are gone from the world", node, why, len(gone))

    def _tell_conversations(self, gone: dict[int, LivePlayer]) -> None:
        """Players here with a conversation open with one of ``gone`` (the
        players of a process that stopped without a goodbye) hear that they
        left it, as they would had the player left the world."""
        for player in list(self.world.by_uid.values()):
            for uid in player.open_peers & gone.keys():
                if uid not in player.blocked:
                    self.ctx.sio.emit(P.DM_PRESENCE, {"peer": gone[uid].name, "state": "left"},
                                      to=user_room(player.user_id))

    def _moved_to(self, player: LivePlayer, level: int, x: float, y: float) -> None:
        """A remote player's new place: shown at the next tick where any of
        this process's players sees it."""
        world = self.world
        if level != player.level:
            names = list(world.levels)
            if level >= len(names):
                return
            player.level, player.map = level, names[level]
        player.x, player.y = x, y
        if world.everyone.get(player.user_id) is not player or player.user_id in self._fresh:
            return  # the same account is connected here, or not told of yet
        if player.cell is not None or cell_of(x, y, level) in self.wanted:
            world.remote_moved(player.user_id)

    def _on_cell(self, data: bytes) -> None:
        node = self._tags.get(data[:4])
        roster = self.nodes.get(node) if node is not None else None
        if roster is None:
            return  # a process not heard of yet: its roster comes first
        players, unpack, size = roster.players, RECORD.unpack_from, RECORD.size
        for offset in range(4, len(data) - size + 1, size):
            uid, level, x, y = unpack(data, offset)
            player = players.get(uid)
            if player is not None:
                self._moved_to(player, level, x, y)
                self.received_moves += 1

    def _on_cells_asked(self, payload: dict, node: str) -> None:
        cells = {tuple(c) for c in payload.get("c") or [] if len(c) == 3}
        found = self.in_cells(cells)
        if found:
            self.bus.send("cells", {"p": found}, to=node)

    def _on_cells(self, payload: dict, node: str) -> None:
        roster = self.nodes.get(node)
        if roster is None:
            return
        for uid, level, x, y in payload.get("p") or []:
            player = roster.players.get(uid)
            if player is not None:
                self._moved_to(player, int(level), float(x), float(y))

    def _on_event(self, payload: dict, node: str) -> None:
        event, change = payload.get("e"), payload.get("d") or {}
        what = RELAYED.get(event)
        roster = self.nodes.get(node)
        player = roster.players.get(change.get("id")) if roster is not None else None
        if what is None or player is None:
            return
        world = self.world
        if what == "map":
            if change.get("map") not in world.levels:
                return
            player.map, player.level = change["map"], world.levels[change["map"]]
        elif what == "look":
            player.look = P.look_or_default(change.get("look"), player.user_id)
        elif what == "role":
            if change.get("role") not in (P.ROLE_OWNER, P.ROLE_MODERATOR, P.ROLE_PLAYER) \
                    or player.role == change["role"]:
                return  # news already heard from the moderator's process
            player.role = change["role"]
        else:
            player.away = bool(change.get("away"))
        if world.everyone.get(player.user_id) is player:
            self.ctx.transport.emit(event, change, WORLD_ROOM)

    def _on_near(self, payload: dict, node: str) -> None:
        """An emote or a line said by another process's player: to this
        process's players near them (see events/emotes.py, events/talk.py)."""
        from ..events import emotes, talk
        from ..transport import compact_json

        roster = self.nodes.get(node)
        player = roster.players.get(payload.get("id")) if roster is not None else None
        if player is None or self.world.everyone.get(player.user_id) is not player:
            return
        player.blocked = {int(uid) for uid in payload.get("b") or []}
        if payload.get("e") == P.EMOTED:
            emotes.send_emote(self.ctx, player, compact_json(payload.get("d") or {}))
        elif payload.get("e") == P.SAID:
            talk.send_said(self.ctx, player, payload.get("d") or {})

    # -- heartbeats ---------------------------------------------------------
    def _heartbeats(self) -> None:
        sleep = self.ctx.sio.sleep
        while self.running:
            try:
                self.heartbeat()
            except Exception:
                log.exception("cluster heartbeat")
            sleep(HEARTBEAT_S)

    def heartbeat(self) -> None:
        """Say this process and its players are alive; find the processes
        that are not (see the module's docstring)."""
        bus = self.bus
        if not bus.up:
            down = bus.down_since
            if down is not None and time.time() - down > REMOTE_KEPT_DOWN_S and self.nodes:
                for node in list(self.nodes):
                    self._drop_node(node, "is out of reach (redis is down)")
            return
        self._tell_roles()
        me, known = self.node, sorted(self._members | set(self.nodes))
        uids = list(self.world.by_uid)

        def run(r: Any) -> list:
            pipe = r.pipeline(transaction=False)
            pipe.set(node_key(me), self.version, ex=NODE_TTL_S)
            pipe.sadd(NODES_KEY, me)
            for uid in uids:
                pipe.set(player_key(uid), me, ex=PLAYER_TTL_S)
            pipe.smembers(NODES_KEY)
            if known:
                pipe.mget([node_key(n) for n in known])
            return pipe.execute()
        answer = bus.command(run)
        if answer is None:
            return
        members = answer[2 + len(uids)]
        self._members = {m.decode() if isinstance(m, bytes) else m for m in members} - {me}
        if not known:
            return
        settled = (self.up_since is not None
                   and time.monotonic() - self.up_since >= NODE_TTL_S + HEARTBEAT_S)
        for node, value in zip(known, answer[-1]):
            if value is None:
                if settled:  # everyone had the time to say it is alive since we (re)joined
                    self._drop_node(node, "stopped answering")
                    bus.command(lambda r, n=node: r.srem(NODES_KEY, n))
                continue
            roster = self.nodes.get(node)
            if roster is not None and roster.version == int(value):
                roster.mismatches = 0
                continue
            if roster is not None:
                roster.mismatches += 1
            if roster is None or roster.mismatches >= ROSTER_MISMATCHES:
                if roster is not None:
                    roster.mismatches = 0
                bus.send("ask", {}, to=node)

    def _tell_roles(self) -> None:
        """Tell the other processes of this process's players whose role
        changed (promoted or demoted here) since the last heartbeat."""
        roles = {p.user_id: (p.name, p.role) for p in list(self.world.by_uid.values())}
        for uid, (name, role) in roles.items():
            told = self._roles.get(uid)
            if told is not None and told[1] != role:
                self.relay(P.ROLE_CHANGED, {"id": uid, "name": name, "role": role})
        self._roles = roles

    def stop(self) -> None:
        """A clean stop: the others forget this process's players at once."""
        self.running = False
        self.bus.send("bye", {})
        self.bus.command(lambda r: r.pipeline(transaction=False).delete(node_key(self.node))
                         .srem(NODES_KEY, self.node).execute())

    def health(self) -> dict:
        return {"nodes": len(self.nodes) + 1, "players_here": len(self.world.by_uid),
                "players_elsewhere": len(self.world.everyone) - len(self.world.by_uid),
                "cells_seen": len(self.subscribed), "moves_received": self.received_moves,
                "late_marks": self.late_marks,
                "bus": self.bus.stats()}

