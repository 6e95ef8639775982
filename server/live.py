"""Who is in the world right now and where they stand.

Pure in-memory state, updated by the handlers and read by the tick loop.
Positions are checked with the shared rules in ``game.core.rules``.

A world may have several maps (``server.worlds``); every player stands on
one of them.  For interest management each map is cut into square cells of
``protocol.AREA_CELL_PX``; a cell is ``(map index, column, row)``, so cells of
different maps never touch.  A player's *area* is the block of cells within
``protocol.AREA_RADIUS_CELLS`` of the cell they stand in, on their own map.
The tick loop keeps ``LiveWorld.cells`` (who stands in which cell, as of the
last tick) and sends each cell's players one snapshot of the movers in their
area: nobody hears about players on another map.
"""
from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field

from game.core import protocol as P
from game.core import rules

from .ratelimit import SlidingWindow, Strikes
from .worlds import World

WORLD_ROOM = "world"
# The correction reason for a move sent before its client knew it had changed
# map (see LiveWorld.change_map).
OTHER_MAP = "other_map"
# How far a player can have walked since the tick last placed them in a cell
# (a full speed budget plus a tick's refill, with room to spare): nearby
# lookups widen the cells they search by this much.
CELL_LAG_PX = 128.0
# Speed budgets kept for players who left before full ones are forgotten.
BUDGETS_KEPT_MAX = 10_000


def user_room(user_id: int) -> str:
    """Every socket of a player is in this room; only the host names it."""
    return f"u:{user_id}"


Cell = tuple[int, int, int]  # (map index, column, row)


def cell_room(cell: Cell) -> str:
    """The players standing in one cell; they share one snapshot per tick."""
    return f"cell:{cell[0]}:{cell[1]}:{cell[2]}"


def cell_of(x: float, y: float, level: int = 0) -> Cell:
    """The cell of a point on the map whose index is ``level``."""
    return level, int(x // P.AREA_CELL_PX), int(y // P.AREA_CELL_PX)


_R = P.AREA_RADIUS_CELLS
AREA_OFFSETS = tuple((dx, dy) for dy in range(-_R, _R + 1) for dx in range(-_R, _R + 1))


@functools.lru_cache(maxsize=8192)
def area(cell: Cell) -> frozenset[Cell]:
    """The cells a player standing in ``cell`` hears about (including it),
    all on the same map."""
    level, cx, cy = cell
    return frozenset((level, cx + dx, cy + dy) for dx, dy in AREA_OFFSETS)


def conversation_room(a: int, b: int) -> str:
    """The Socket.IO room of the players who have the a-b conversation open."""
    return f"dm:{P.conversation_key(a, b)}"


@dataclass(eq=False)
class LivePlayer:
    user_id: int
    name: str
    sid: str
    x: float
    y: float
    budget: rules.MoveBudget
    # The map the player stands on (its name) and that map's index in the
    # world (the first number of a cell).
    map: str = "world"
    level: int = 0
    # Where the host put the player on arriving through an exit, until a move
    # from the client lands near it (see LiveWorld.apply_move).
    arrival: tuple[float, float] | None = None
    last_seq: int = -1
    # The smallest gap seen on this connection between the host's clock and
    # a move's t (seconds; see server.overload).
    clock_gap: float | None = None
    open_peers: set[int] = field(default_factory=set)
    # The accounts this player blocks (loaded at join; see events/blocks.py).
    blocked: set[int] = field(default_factory=set)
    moves: SlidingWindow = field(default_factory=lambda: SlidingWindow(P.MOVES_PER_SECOND, 1.0))
    dms: SlidingWindow = field(default_factory=lambda: SlidingWindow(P.DMS_PER_WINDOW, P.DM_WINDOW_S))
    says: SlidingWindow = field(default_factory=lambda: SlidingWindow(P.SAYS_PER_WINDOW, P.SAY_WINDOW_S))
    strikes: Strikes = field(default_factory=lambda: Strikes(300, 10.0))
    # When the last "you are rate limited" error went out, so floods are not
    # answered with a flood of errors.
    last_limit_notice: float = -1e9
    # The cell the tick loop last placed this player in (None until the
    # first tick after joining); only the tick loop changes it.
    cell: Cell | None = None
    # The position the last snapshot gave of this player, in wire units
    # (protocol.quantise): the next delta applies to it.  None until the
    # first tick; only the tick loop changes it.
    sent: tuple[int, int] | None = None
    # The last delta sent of this player (0, 0 after an absolute position):
    # the next delta is sent as its change.
    step: tuple[int, int] = (0, 0)
    # What the player looks like (None: the look derived from the id).
    look: P.Look | None = None
    looks: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(P.LOOK_CHANGES_PER_WINDOW, P.LOOK_WINDOW_S))
    # "owner", "moderator" or "player" (see server.moderation).
    role: str = "player"
    # Said so by the client after AWAY_AFTER_S without input; cleared by its
    # next move or its "away": false (see events/emotes.py).
    away: bool = False
    emotes: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(P.EMOTES_PER_WINDOW, P.EMOTE_WINDOW_S))
    typings: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(P.TYPING_PER_WINDOW, P.TYPING_WINDOW_S))
    aways: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(P.AWAY_PER_WINDOW, P.AWAY_WINDOW_S))
    # ``public()`` as compact JSON and what it was made from (see public_json).
    _public_wire: tuple | None = None
    # The process this player is connected to when it is another one of the
    # world's cluster (a *remote* player: no connection here, no speed budget
    # or limits, moved by what that process publishes; see
    # server.cluster.world); None for this process's own players.
    node: str | None = None
    # The cell this player's position was last published on (this process's
    # own players, in a cluster).
    pub_cell: Cell | None = None
    # When a remote player connected (time.time(), as its process says),
    # and from which address.
    since: float | None = None
    address: str | None = None

    def public(self) -> dict:
        look = self.look or P.default_look(self.user_id)
        return {"id": self.user_id, "name": self.name, "x": round(self.x, 1),
                "y": round(self.y, 1), "look": look.as_dict(), "map": self.map,
                "role": self.role, "away": self.away}

    def public_json(self) -> str:
        """``public()`` as compact JSON, encoded again only when something in
        it changed: every welcome lists everyone online, and during a join
        storm most of them stand still between one welcome and the next."""
        key = (self.name, self.x, self.y, self.look, self.map, self.role, self.away)
        wire = self._public_wire
        if wire is not None and wire[0] == key:
            return wire[1]
        text = json.dumps(self.public(), separators=(",", ":"))
        self._public_wire = (key, text)
        return text


class LiveWorld:
    def __init__(self, world: World | rules.WorldMap):
        if isinstance(world, rules.WorldMap):
            world = World.single(world)
        self.world = world
        self.maps = world.maps  # name -> rules.WorldMap
        self.levels = {name: i for i, name in enumerate(world.maps)}
        self.start = world.start
        self.map = world.maps[world.start]  # the start map
        self.by_sid: dict[str, LivePlayer] = {}
        self.by_uid: dict[int, LivePlayer] = {}
        # Everyone in the world by id: ``by_uid`` and, in a cluster, the
        # players connected to the world's other processes (``remote``, unless
        # the same account is also here).  The tick, presence, the welcome
        # and the directory look here; whatever needs a connection looks at
        # ``by_uid``.  Without a cluster it holds what ``by_uid`` holds.
        self.everyone: dict[int, LivePlayer] = {}
        self.remote: dict[int, LivePlayer] = {}
        # Remote players who moved since the tick last took them (see
        # server.cluster.world).
        self._moved_remote: set[int] = set()
        self._moved: set[int] = set()
        # Players who joined or changed map since the last tick: not in
        # ``cells`` yet (or in a cell of their old map); nearby lookups
        # (``within``) look at them too.
        self._unplaced: set[int] = set()
        self._unsaved: set[int] = set()
        # uid sets per cell, as of the last tick; guarded by ``lock`` because
        # under --async-mode threading the tick runs beside the handlers.
        self.cells: dict[Cell, set[int]] = {}
        self.lock = threading.Lock()
        # Speed budgets belong to the player, not to the connection: one that
        # leaves and joins again (or takes the account over from another
        # connection) gets back the budget it had, still refilling at walking
        # speed, so reconnecting is no way to walk faster.
        self.budgets: dict[int, rules.MoveBudget] = {}
        self._placing = threading.Lock()

    def __len__(self) -> int:
        """How many players are in the world (in a cluster: on every process)."""
        return len(self.everyone)

    def add(self, user_id: int, name: str, sid: str, x: float, y: float, now: float,
            look: P.Look | None = None, map_name: str | None = None) -> LivePlayer:
        budget = self.budgets.get(user_id)
        if budget is None:
            if len(self.budgets) >= BUDGETS_KEPT_MAX:
                self._forget_full_budgets(now)
            budget = self.budgets[user_id] = rules.MoveBudget.full(now)
        budget.new_client_clock()  # a new connection, maybe a new client
        map_name = map_name or self.start
        player = LivePlayer(user_id, name, sid, x, y, budget, map=map_name,
                            level=self.levels[map_name], look=look)
        with self.lock:
            shadowed = self.everyone.get(user_id)
            if shadowed is not None and shadowed.node is not None:
                self.unplace(shadowed)  # the same account, until now on another process
            self.by_sid[sid] = player
            self.by_uid[user_id] = player
            self.everyone[user_id] = player
        self._moved.add(user_id)
        self._unplaced.add(user_id)
        return player

    def _forget_full_budgets(self, now: float) -> None:
        """Drop budgets of players not in the world that have refilled (a
        fresh one is the same), so the table stays as small as the crowd."""
        for uid, budget in list(self.budgets.items()):
            if uid not in self.by_uid:
                budget.refill(now)
                if budget.available >= budget.capacity:
                    del self.budgets[uid]

    def place(self, user_id: int, name: str, sid: str, stored: tuple | None,
              now: float, look: P.Look | None = None) -> LivePlayer:
        """Add a joining player where the map's rule puts them: their stored
        spot or the spawn, moved aside when someone already stands there.

        ``stored`` is ``(map, x, y)`` (map None: the start map) or ``(x, y)``
        on the start map.  A player whose map is no longer in the world
        starts at the start map's spawn."""
        map_name, spot = self.start, None
        if stored is not None and len(stored) == 3:
            if stored[0] is None or stored[0] in self.maps:
                map_name, spot = stored[0] or self.start, (stored[1], stored[2])
        elif stored is not None:
            spot = (stored[0], stored[1])
        world_map = self.maps[map_name]
        with self._placing:  # two joins at once must not pick the same free spot
            occupied = [(p.x, p.y) for p in list(self.everyone.values())
                        if p.user_id != user_id and p.map == map_name]
            x, y = world_map.start_position(spot, occupied)
            return self.add(user_id, name, sid, x, y, now, look, map_name)

    def describe(self, map_name: str) -> dict:
        """A map as the wire describes it (see ``server.worlds.World.describe``)."""
        return self.world.describe(map_name)

    def destination(self, exit_) -> tuple[str, tuple[float, float]] | None:
        return self.world.destination(exit_)

    def near_cells(self, player: LivePlayer) -> list[tuple[Cell, frozenset[int]]]:
        """The occupied cells of ``player``'s area (on their own map) and who
        stands in each, as of the last tick: the players who see them move."""
        cell = player.cell or cell_of(player.x, player.y, player.level)
        with self.lock:
            return [(c, frozenset(members)) for c in area(cell)
                    if (members := self.cells.get(c))]

    def on_map(self, map_name: str) -> list[LivePlayer]:
        """Everyone standing on one map."""
        return [p for p in list(self.by_uid.values()) if p.map == map_name]

    def exit_taken(self, player: LivePlayer, before: tuple[float, float]):
        """The exit the player's last accepted move walked into (from
        ``before``), or None.  Standing on in an exit one arrived in does not
        count: an exit is taken by walking into it."""
        world_map = self.maps[player.map]
        if not world_map.exits:
            return None
        found = world_map.exit_at(player.x, player.y)
        if found is None or found == world_map.exit_at(*before):
            return None
        return found

    def change_map(self, player: LivePlayer, map_name: str, point: tuple[float, float],
                   now: float) -> None:
        """Move a player to ``point`` on another map (or elsewhere on their
        own), beside anyone already standing there.  Their speed budget
        starts full: the jump is the host's, not a move to be paid for; the
        client's moves count again once one lands near the arrival point
        (those sent before it heard of the change are refused).  The next
        tick takes them out of their old area and into the new one."""
        target = self.maps[map_name]
        with self._placing, self.lock:
            occupied = [(p.x, p.y) for p in list(self.everyone.values())
                        if p is not player and p.map == map_name]
            player.x, player.y = target.free_spot_near(point, occupied)
            player.map, player.level = map_name, self.levels[map_name]
            player.arrival = (player.x, player.y)
            budget = player.budget
            budget.available, budget.updated_at = budget.capacity, now
            self._moved.add(player.user_id)
            self._unplaced.add(player.user_id)
            self._unsaved.add(player.user_id)

    def on_map_anywhere(self, map_name: str) -> list[LivePlayer]:
        """Everyone standing on one map, on every process of the world."""
        return [p for p in list(self.everyone.values()) if p.map == map_name]

    def remove(self, sid: str) -> LivePlayer | None:
        with self.lock:
            player = self.by_sid.pop(sid, None)
            if player is None:
                return None
            current = self.by_uid.get(player.user_id)
            if current is player:
                del self.by_uid[player.user_id]
                if self.everyone.get(player.user_id) is player:
                    del self.everyone[player.user_id]
                self._moved.discard(player.user_id)
                self._unplaced.discard(player.user_id)
                self._unsaved.discard(player.user_id)
            members = self.cells.get(player.cell) if player.cell else None
            if members is not None and (current is player or current is None
                                        or current.cell != player.cell):
                members.discard(player.user_id)
                if not members:
                    del self.cells[player.cell]
        return player

    def apply_move(self, player: LivePlayer, move: P.Move, now: float) -> str | None:
        """Accept the move or return why not; the player's position only
        changes when the move is accepted."""
        if move.seq <= player.last_seq:
            return "stale"
        if player.arrival is not None:
            # Moves the client sent before it heard of the new map are about
            # the old one: they must not be taken as steps on this one.
            ax, ay = player.arrival
            if (move.x - ax) ** 2 + (move.y - ay) ** 2 > P.ARRIVAL_REACH_PX ** 2:
                return OTHER_MAP
            player.arrival = None
        client_t = None if move.t is None else move.t / 1000.0
        reason = rules.check_move(self.maps[player.map], player.budget, (player.x, player.y),
                                  (move.x, move.y), now, client_t)
        if reason is not None:
            return reason
        player.x, player.y, player.last_seq = move.x, move.y, move.seq
        self._moved.add(player.user_id)
        self._unsaved.add(player.user_id)
        return None

    def take_moved(self) -> list[tuple[int, float, float]]:
        """Positions of players who moved since the last call (one tick)."""
        moved, self._moved = self._moved, set()
        self._unplaced = set()  # the tick places them all now
        if self._moved_remote:
            moved |= self._moved_remote
            self._moved_remote = set()
        everyone = self.everyone
        return [(uid, everyone[uid].x, everyone[uid].y) for uid in moved if uid in everyone]

    def take_remote_moved(self) -> list[tuple[int, float, float]]:
        """Positions of remote players who moved since the last take."""
        moved, self._moved_remote = self._moved_remote, set()
        everyone = self.everyone
        return [(uid, p.x, p.y) for uid in moved
                if (p := everyone.get(uid)) is not None and p.node is not None]

    def take_unsaved(self) -> list[tuple[int, float, float, str]]:
        """``(id, x, y, map)`` of players who moved since the last call."""
        unsaved, self._unsaved = self._unsaved, set()
        by_uid = self.by_uid
        return [(uid, p.x, p.y, p.map) for uid in unsaved if (p := by_uid.get(uid)) is not None]

    def within(self, player: LivePlayer, radius: float) -> list[LivePlayer]:
        """The players on ``player``'s map standing within ``radius`` pixels of
        them right now, ``player`` included.

        Only the cells around the player are looked at (the cells of the last
        tick, each widened by ``CELL_LAG_PX`` for those who walked into
        another since, and those who arrived since), and each player found
        there is measured where they stand now: a crowd elsewhere costs
        nothing."""
        reach = radius + CELL_LAG_PX
        x, y, level = player.x, player.y, player.level
        size = P.AREA_CELL_PX
        columns = range(int((x - reach) // size), int((x + reach) // size) + 1)
        rows = range(int((y - reach) // size), int((y + reach) // size) + 1)
        with self.lock:
            found = [uid for cx in columns for cy in rows
                     for uid in self.cells.get((level, cx, cy), ())]
            found.extend(self._unplaced)
        by_uid, limit = self.by_uid, radius * radius
        near = [player]
        for uid in set(found):
            other = by_uid.get(uid)
            if (other is not None and other is not player and other.level == level
                    and (other.x - x) ** 2 + (other.y - y) ** 2 <= limit):
                near.append(other)
        return near

    # -- players connected to the world's other processes (server.cluster) ----
    def add_remote(self, player: LivePlayer) -> bool:
        """Note a player of another process; True when the world now shows it
        (False while the same account is connected here too)."""
        with self.lock:
            old = self.remote.get(player.user_id)
            if old is not None:
                self.unplace(old)
            self.remote[player.user_id] = player
            if player.user_id in self.by_uid:
                return False
            self.everyone[player.user_id] = player
        return True

    def remove_remote(self, player: LivePlayer) -> bool:
        """Forget a player of another process; True when the world showed it."""
        with self.lock:
            if self.remote.get(player.user_id) is not player:
                return False
            del self.remote[player.user_id]
            self.unplace(player)
            if self.everyone.get(player.user_id) is not player:
                return False
            del self.everyone[player.user_id]
            self._moved_remote.discard(player.user_id)
        return True

    def unshadow(self, user_id: int) -> LivePlayer | None:
        """After this process's player ``user_id`` left: the same account's
        player on another process, now shown (None if there is none)."""
        with self.lock:
            other = self.remote.get(user_id)
            if other is None or user_id in self.by_uid or user_id in self.everyone:
                return None
            self.everyone[user_id] = other
            self._moved_remote.add(user_id)
        return other

    def remote_moved(self, user_id: int) -> None:
        """A remote player has a new position: the next tick sends it."""
        self._moved_remote.add(user_id)

    def unplace(self, player: LivePlayer) -> None:
        """Take a player out of the cells (call with ``lock`` held); the next
        position it gets places it again, whole."""
        members = self.cells.get(player.cell) if player.cell else None
        if members is not None and self.everyone.get(player.user_id) is player:
            members.discard(player.user_id)
            if not members:
                del self.cells[player.cell]
        player.cell, player.sent, player.step = None, None, (0, 0)

    def all_positions(self) -> list[tuple[int, float, float]]:
        return [(p.user_id, p.x, p.y) for p in self.by_uid.values()]

    def all_places(self) -> list[tuple[int, float, float, str]]:
        """``(id, x, y, map)`` of everyone in the world."""
        return [(p.user_id, p.x, p.y, p.map) for p in self.by_uid.values()]
