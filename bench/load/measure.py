"""Players that measure: move-to-delivery latency and delivery, one process's worth.

Move-to-delivery latency is the time from a player sending a position until
another player in the same process receives a snapshot that contains that
position (or a newer one of the same mover); all players of a process share
one monotonic clock.  A (move, observer) pair is *expected* when both stand
within the host's guaranteed view of each other (``AREA_GUARANTEED_PX`` less
``VIEW_MARGIN_PX``) at the moment of the send; it is *delivered* when the
observer sees it within the deadline.  Only a sample of players (the
observers) check what they receive; the others count their snapshots without
parsing them (``transport.tap``), since their walk does not depend on anyone
else.
"""
from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from typing import Any

from game.core import protocol as P
from game.bots import Bot, Swarm

from . import transport

# Pairs closer than this to the edge of the guaranteed view are not counted
# (the host places an observer by its last accepted position).
VIEW_MARGIN_PX = 48


@dataclass(eq=False)
class MeasuredBot(Bot):
    observer: int | None = None  # slot among the sampled observers
    watching: bool = False  # reads its snapshots (see MeasuringSwarm.choose_watchers)
    # Every position sent: seq -> (t_send, expected observer bitmask); and the
    # newest seq sent from each position.
    sent_t: list[float] = field(default_factory=list)
    sent_mask: list[int] = field(default_factory=list)
    seq_at: dict[tuple[float, float], int] = field(default_factory=dict)
    bytes_in: int = 0
    snapshots_in: int = 0
    entries_in: int = 0  # movers listed in the snapshots an observer read


class MeasuringSwarm(Swarm):
    bot_class = MeasuredBot

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.observers: list[MeasuredBot] = []
        # deliveries[o][mover_pid] = ([seq...], [t_recv...]) newest seq seen so far
        self.deliveries: list[dict[int, tuple[list[int], list[float]]]] = []
        self.window = (math.inf, math.inf)  # measurement window, monotonic seconds
        self.view = P.AREA_GUARANTEED_PX - VIEW_MARGIN_PX
        self.send_lag: list[float] = []  # how late each send was against its schedule

    def make_bot(self, i: int) -> MeasuredBot:
        bot = super().make_bot(i)
        transport.skip_utf8_check(bot.client)
        transport.tap(bot)
        return bot  # type: ignore[return-value]

    def choose_watchers(self, count: int) -> None:
        """Before anyone joins: the bots that may become observers (twice as
        many as needed, in case some fail to join).  They read every snapshot
        from the start, so their tables of positions hold every player whose
        deltas they will measure; a bot that skipped the snapshot where
        another appeared whole could not read that player's deltas until the
        host sent them whole again."""
        rng = random.Random(len(self.bots))  # apart from the walks' generator
        for bot in rng.sample(self.bots, min(2 * count, len(self.bots))):
            bot.watching = True  # type: ignore[attr-defined]

    def choose_observers(self, count: int) -> None:
        joined = [b for b in self.bots if b.joined and getattr(b, "watching", False)]
        for slot, bot in enumerate(self.rng.sample(joined, min(count, len(joined)))):
            bot.observer = slot  # type: ignore[attr-defined]
            self.observers.append(bot)  # type: ignore[arg-type]
            self.deliveries.append({})

    # -- receiving -----------------------------------------------------------------
    def on_snapshot(self, bot: MeasuredBot, data: Any, at: float) -> None:  # type: ignore[override]
        bot.snapshots_in += 1
        if bot.observer is not None and isinstance(data, dict):
            bot.entries_in += len(data.get("p") or ()) // 3
            self._observe(bot, data.get("p"), at)

    def on_area(self, bot: MeasuredBot, data: Any, at: float) -> None:  # type: ignore[override]
        if bot.observer is not None and isinstance(data, dict):
            self._observe(bot, data.get("enter"), at)

    def _observe(self, observer: MeasuredBot, flat: Any, at: float) -> None:
        if not isinstance(flat, list):
            return
        seen = self.deliveries[observer.observer]  # type: ignore[index]
        by_pid = self.by_pid
        for i in range(0, len(flat) - 2, 3):
            mover = by_pid.get(flat[i])
            if mover is None or mover is observer:
                continue
            seq = mover.seq_at.get((flat[i + 1], flat[i + 2]))  # type: ignore[attr-defined]
            if seq is None or mover.sent_t[seq - 1] > at:  # type: ignore[attr-defined]
                continue  # not ours, or a spot the mover came back to since
            log_ = seen.get(flat[i])
            if log_ is None:
                seen[flat[i]] = ([seq], [at])
            elif seq > log_[0][-1]:
                log_[0].append(seq)
                log_[1].append(at)

    # -- sending -------------------------------------------------------------------
    def on_due(self, now: float, when: float) -> None:
        if self.window[0] <= now <= self.window[1]:
            self.send_lag.append(now - when)

    def expected_mask(self, bot: Bot, now: float) -> int:
        mask = 0
        if self.window[0] <= now <= self.window[1]:
            x, y, view = bot.x, bot.y, self.view
            for o in self.observers:
                if o is not bot and abs(o.x - x) <= view and abs(o.y - y) <= view:
                    mask |= 1 << o.observer  # type: ignore[operator]
        return mask

    def on_sent(self, bot: MeasuredBot, seq: int, t: float, mask: int) -> None:  # type: ignore[override]
        # HostClient numbers moves 1, 2, 3...; keep the list aligned with seq.
        while len(bot.sent_t) < seq:
            bot.sent_t.append(math.nan)
            bot.sent_mask.append(0)
        bot.sent_t[seq - 1] = t
        bot.sent_mask[seq - 1] = mask
        # Keyed as a snapshot gives it back: in whole wire units (and as sent,
        # rounded to 0.1 px, as a host of JSON snapshots echoes it).
        bot.seq_at[(bot.x, bot.y)] = seq
        bot.seq_at[(P.dequantise(P.quantise(bot.x)), P.dequantise(P.quantise(bot.y)))] = seq

    # -- results -------------------------------------------------------------------
    def counters(self) -> tuple[int, int, int, int]:
        """Snapshots and bytes received so far by all players; then bytes and
        snapshot entries (movers) received by the observers, who read theirs."""
        return (sum(b.snapshots_in for b in self.bots),  # type: ignore[attr-defined]
                sum(b.bytes_in for b in self.bots),  # type: ignore[attr-defined]
                sum(b.bytes_in for b in self.observers),
                sum(b.entries_in for b in self.observers))

    def unreadable(self) -> int:
        """Deltas the observers could not read: movers missing from their
        tables of positions (see ``choose_watchers``)."""
        return sum(b.client.positions.unknown for b in self.observers)

    def tally(self, deadline_s: float) -> dict:
        """Latencies (ms) of delivered pairs and the delivery counts."""
        start, end = self.window
        last_send = end - deadline_s
        latencies: list[float] = []
        expected = delivered = 0
        for mover in self.bots:
            if mover.player_id is None:
                continue
            for slot, observer in enumerate(self.observers):
                bit = 1 << slot
                seqs, times = self.deliveries[slot].get(mover.player_id, ([], []))
                for seq0, (t_send, mask) in enumerate(zip(mover.sent_t,  # type: ignore[attr-defined]
                                                          mover.sent_mask)):  # type: ignore[attr-defined]
                    if not mask & bit or not start <= t_send <= last_send:
                        continue
                    expected += 1
                    j = bisect.bisect_left(seqs, seq0 + 1)
                    if j == len(seqs):
                        continue
                    latency = times[j] - t_send
                    latencies.append(latency * 1000.0)
                    if latency <= deadline_s:
                        delivered += 1
        return {"latencies": latencies, "expected": expected, "delivered": delivered,
                "joined": sum(b.player_id is not None for b in self.bots),
                "send_lag": sorted(self.send_lag)[-max(1, len(self.send_lag) // 100):],
                "sends": len(self.send_lag),
                "corrections": self.corrections, "errors": self.errors,
                "disconnects": self.disconnects}
