"""The naive design, kept only to measure against: every accepted move is sent
to every player the moment it arrives (one message per move per player), and
the tick sends nothing.

    python bench/naive_host.py --port 5001 --db /tmp/naive.db

Takes the same flags as ``host.py``; accounts, validation and saving are the
real host's, so only the broadcast design differs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_naive(host) -> None:
    """Re-broadcast each accepted move at once; the tick only saves."""
    from game.core import protocol as P
    from server.live import WORLD_ROOM

    ctx = host.ctx
    sio = ctx.sio
    checked_move = sio.handlers["/"][P.MOVE]

    def move(sid, data=None, *extra):
        player = ctx.world.by_sid.get(sid)
        before = (player.x, player.y) if player is not None else None
        checked_move(sid, data, *extra)
        if player is not None and (player.x, player.y) != before:
            sio.emit(P.SNAPSHOT, {"tick": 0, "t": round(time.time() * 1000.0),
                                  "p": [player.user_id, round(player.x, 1), round(player.y, 1)]},
                     to=WORLD_ROOM)

    # The move is a fast event: replace it on the fast path and the usual one.
    sio.on(P.MOVE, move)
    ctx.transport.add_fast_event(P.MOVE, move)
    host.ticker.broadcast = lambda now: None  # no batched snapshots


def main(argv: list[str] | None = None) -> int:
    import host as entry

    host = entry.build_host(argv)
    make_naive(host)
    host.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
