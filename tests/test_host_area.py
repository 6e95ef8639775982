"""Interest areas: a player hears about the players near it, not the whole world.

A long open test map (60 x 4 tiles): one player stands at the west end, the
other starts three area cells east of it, out of range, and walks in and out.
"""
from __future__ import annotations

import time

import pytest

from game.core import protocol as P
from game.client.net import HostClient

from .conftest import (PASSWORD, seen_events, snapshot_positions, stored_at, unique_name,
                       wait_for_position, write_tmx)
from .support import HostProcess

ROWS = ("S" + "." * 59, "." * 60, "." * 60, "." * 60)
Y = 16.0
CELL = P.AREA_CELL_PX
OUT_OF_RANGE_X = (P.AREA_RADIUS_CELLS + 1) * CELL + 100.0   # cell 3: beyond the watcher's area
IN_RANGE_X = P.AREA_RADIUS_CELLS * CELL + 200.0             # cell 2: inside it


@pytest.fixture(scope="module")
def area_host(tmp_path_factory):
    folder = tmp_path_factory.mktemp("area")
    with HostProcess(folder / "world.db", extra_args=("--map", str(write_tmx(folder / "long.tmx", ROWS)))) as proc:
        yield proc


def player(url: str, name: str) -> HostClient:
    client = HostClient(url, reconnect=False)
    client.login_or_register(name, PASSWORD)
    client.connect()
    client.welcome = client.wait_for(P.WELCOME).data
    return client


def walk(client: HostClient, start_x: float, end_x: float) -> float:
    """Walk along the row at walking speed, one report every 50 ms."""
    step = 8.0 if end_x > start_x else -8.0
    x = start_x
    while (end_x - x) * step > 0:
        x = x + step if abs(end_x - x) > abs(step) else end_x
        client.send_move(x, Y)
        time.sleep(0.05)
    return x


def test_players_hear_only_about_players_in_their_area(area_host):
    walker_name = unique_name("walker")
    # The walker starts far east.
    walker_id = stored_at(area_host.url, area_host.db_path, walker_name, OUT_OF_RANGE_X, Y)

    watcher = player(area_host.url, unique_name("watcher"))
    walker = player(area_host.url, walker_name)
    try:
        assert walker.welcome["you"]["x"] == OUT_OF_RANGE_X
        # Moving about out of range: the watcher hears nothing of it.
        x = walk(walker, OUT_OF_RANGE_X, OUT_OF_RANGE_X + 48)
        # The host took the last move and sent that tick's snapshots; a round
        # trip on the watcher's connection then brings whatever it was sent.
        wait_for_position(walker, walker_id, (x, Y))
        watcher.call(P.PING, {})
        seen = [snapshot_positions(s) for s in seen_events(watcher, P.SNAPSHOT)]
        assert not any(walker_id in s for s in seen)

        # Walking into range: the watcher gets the walker's positions, and the
        # walker's own area now includes the watcher.
        x = walk(walker, x, IN_RANGE_X)
        watcher.wait_for(P.SNAPSHOT, match=lambda d: snapshot_positions(d).get(walker_id) == (IN_RANGE_X, Y))
        area = walker.wait_for(P.AREA, match=lambda d: watcher.session.user_id in d.get("enter", [])[0::3])
        assert area.data.get("leave", []) == []

        # Walking back out: the watcher is told the walker is gone from view,
        # and the walker's area drops the watcher.
        walk(walker, x, OUT_OF_RANGE_X)
        watcher.wait_for(P.SNAPSHOT, match=lambda d: walker_id in d.get("gone", []))
        walker.wait_for(P.AREA, match=lambda d: watcher.session.user_id in d.get("leave", []))
        # The roster stays global: the walker is still online for the watcher.
        assert not any(walker_id in e["ids"] for e in seen_events(watcher, P.PLAYERS_LEFT))
    finally:
        watcher.close()
        walker.close()
