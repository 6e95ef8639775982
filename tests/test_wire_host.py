"""Binary snapshots on a real host: after many ticks of deltas, crossing
cells, leaving and re-entering areas and a late joiner's area event, every
client holds exactly the positions the host sent (no drift), in both async
modes.

A long open map (60 x 4 tiles): the watcher stands at the west end; the
walker starts out of its area and walks in and out again with steps that
are no whole number of quarter pixels."""
from __future__ import annotations

import math
import time

import pytest

from game.core import protocol as P
from game.client.net import HostClient

from .conftest import (ASYNC_MODES, PASSWORD, seen_events, snapshot_positions, stored_at,
                       unique_name, write_tmx)
from .support import HostProcess
from .test_host_area import player

ROWS = ("S" + "." * 59, "." * 60, "." * 60, "." * 60)
FAR_X = (P.AREA_RADIUS_CELLS + 1) * P.AREA_CELL_PX + 50.0  # beyond the watcher's area
NEAR_X = P.AREA_CELL_PX + 180.0                             # two cell borders nearer


@pytest.fixture(scope="module", params=ASYNC_MODES)
def long_host(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"wire-{request.param}")
    tmx = write_tmx(folder / "long.tmx", ROWS)
    with HostProcess(folder / "world.db", async_mode=request.param,
                     extra_args=("--map", str(tmx))) as proc:
        yield proc


def walk(client: HostClient, start: tuple[float, float], end_x: float, k0: int,
         sent: list) -> tuple[float, float]:
    """Walk along the map in steps of 7.3 px (and a wave on y), one move every
    50 ms; every position sent goes into ``sent``."""
    x, y = start
    step = 7.3 if end_x > x else -7.3
    k = k0
    while (end_x - x) * step > 0:
        k += 1
        x = round(x + step if abs(end_x - x) > abs(step) else end_x, 2)
        y = round(60.0 + 11.0 * math.sin(k / 4.0), 2)
        client.send_move(x, y)
        sent.append((x, y))
        time.sleep(0.05)
    return x, y


def units(xy: tuple[float, float]) -> tuple[int, int]:
    return P.quantise(xy[0]), P.quantise(xy[1])


def test_clients_hold_exactly_what_the_host_sent(long_host):
    walker_name = unique_name("walker")
    walker_id = stored_at(long_host.url, long_host.db_path, walker_name, FAR_X, 60.0)
    watcher = player(long_host.url, unique_name("watcher"))
    walker = player(long_host.url, walker_name)
    late = None
    try:
        assert walker.welcome["you"]["x"] == FAR_X
        sent: list[tuple[float, float]] = []
        # In: across two cell borders into the watcher's area, then a late
        # joiner arrives (its area event gives the walker's last sent
        # position, which the walker's next deltas apply to), then out again.
        xy = walk(walker, (FAR_X, 60.0), (FAR_X + NEAR_X) / 2, 0, sent)
        late = HostClient(long_host.url, reconnect=False)
        late.login_or_register(unique_name("late"), PASSWORD)
        late.connect()
        xy = walk(walker, xy, NEAR_X, len(sent), sent)
        xy = walk(walker, xy, FAR_X - 20.0, len(sent), sent)
        xy = walk(walker, xy, NEAR_X + 40.0, len(sent), sent)
        final = (P.dequantise(P.quantise(xy[0])), P.dequantise(P.quantise(xy[1])))
        for client in (watcher, late, walker):
            client.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(walker_id)
                            == final)
        possible = {units(p) for p in sent} | {units((FAR_X, 60.0))}
        for client in (watcher, late):
            seen = [snapshot_positions(d).get(walker_id) for d in seen_events(client, P.SNAPSHOT)]
            seen = [units(p) for p in seen if p is not None]
            assert len(seen) > 40, "the walker was in the snapshots many ticks"
            assert set(seen) <= possible, "every position shown was one the walker stood on"
            assert client.positions.unknown == 0
            assert client.positions.known[walker_id][:2] == units(xy)
            assert client.undecoded == 0
        # The watcher saw the walker leave its area (gone) and come back whole.
        gone = [d for d in seen_events(watcher, P.SNAPSHOT) if walker_id in (d.get("gone") or [])]
        assert gone
        areas = [d for d in seen_events(late, P.AREA) if d["reset"]]
        assert areas and walker_id in areas[0]["enter"][0::3]
    finally:
        for client in (watcher, walker, late):
            if client is not None:
                client.close()



def test_no_send_comes_between_a_pair():
    """Under threading another thread's packet must not be queued between a
    binary event's text packet and its attachment (the client would take it
    for the attachment): every Engine.IO send waits while a pair is queued."""
    import threading

    import engineio
    from engineio import packet
    from engineio.socket import Socket

    from server.transport import patches

    patches.send_pairs_whole()
    server = engineio.Server(async_mode="threading")
    socket = Socket(server, "sid")
    other = threading.Thread(target=socket.send, args=(packet.Packet(packet.MESSAGE, "other"),))
    with patches.PAIRS:
        socket.send(packet.Packet(packet.MESSAGE, "51-[...]"))
        other.start()
        other.join(0.2)
        assert other.is_alive(), "another thread's send went through mid-pair"
        socket.send(packet.Packet(packet.MESSAGE, b"\x01\x00"))
    other.join(5)
    queued = [socket.queue.get_nowait().data for _ in range(3)]
    assert queued == ["51-[...]", b"\x01\x00", "other"]
