"""A check that the wire-level players of ``helpers_wire`` speak the protocol."""
from __future__ import annotations

from game.core import protocol as P

from .helpers_wire import RawClient, Walker, register_many, snapshot_positions


# -- the helpers themselves ---------------------------------------------------------------
def test_raw_client_joins_moves_and_is_seen(tmp_path):
    from game.client.host_process import HostProcess

    with HostProcess(tmp_path / "world.db") as host:
        alice, bob = register_many(host.url, ["wire_alice", "wire_bob"])
        a, b = RawClient(host.url), RawClient(host.url)
        welcome = a.join(alice)
        b.join(bob)
        walker = Walker((welcome["you"]["x"], welcome["you"]["y"]), 0)
        move = walker.step(0.1)
        a.emit(P.MOVE, move)
        moved = (alice["user"]["id"], move["x"], move["y"])
        b.wait_for(P.SNAPSHOT, 5, lambda d: moved in P.unpack_positions(d["p"]))
        assert moved in [(pid, x, y) for pid, entries in snapshot_positions([b]).items()
                         for _, x, y in entries]
        assert a.call(P.PING, {"t": 1})["ok"] is True
        a.close()
        b.close()
