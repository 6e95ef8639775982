"""A world served by several real host processes: one Redis, one database,
one secret; each process with its own port and log, as if on a machine of
its own.

``cluster(tmp_path, map, redis_url, n)`` starts them on an SQLite file they
share (processes of one machine may); with ``database=`` a PostgreSQL URL
they share nothing but Redis, PostgreSQL and the secret file (``--secret-file``),
each in a folder of its own, as on separate machines.
``ClusterWorld.players[i]()`` makes a player on process ``i`` (a
``PlayerFactory``: registered, connected, joined, ``.welcome`` kept).
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from game.client.host_process import HostProcess
from game.core import protocol as P

from .conftest import PlayerFactory, WorldHost


class ClusterWorld:
    def __init__(self, hosts: list[WorldHost]):
        self.hosts = hosts
        self.players = [PlayerFactory(host) for host in hosts]

    def start_host(self, index: int) -> WorldHost:
        """Start process ``index`` again on its port (after a kill or a stop)."""
        self.hosts[index].proc.start()
        return self.hosts[index]


def start_process(db: Path | str, map_path: Path, redis_url: str, index: int, mode: str,
                  extra_args: tuple[str, ...] = (), folder: Path | None = None) -> WorldHost:
    args = ("--map", str(map_path), "--login-failures", "1000", "--redis", redis_url,
            *extra_args)
    log = (folder / "host.log") if folder is not None else Path(db).with_name(
        f"process{index}.log")
    proc = HostProcess(db, async_mode=mode, log_level="INFO", extra_args=args, log_path=log)
    return WorldHost(proc.start())


@contextmanager
def cluster(tmp_path: Path, map_path: Path, redis_url: str, n: int = 2,
            mode: str = "eventlet", extra_args: tuple[str, ...] = (),
            database: str | None = None) -> Iterator[ClusterWorld]:
    """``n`` host processes serving one world (``mode``: their async mode;
    ``database``: a PostgreSQL URL instead of a shared SQLite file)."""
    db: Path | str = database or tmp_path / "world.db"
    hosts: list[WorldHost] = []
    world = None
    try:
        for i in range(n):
            folder = None
            args = extra_args
            if database is not None:  # a machine of its own: its folder, the shared key
                folder = tmp_path / f"machine{i}"
                folder.mkdir(exist_ok=True)
                args = ("--secret-file", str(tmp_path / "shared.key"), *extra_args)
            hosts.append(start_process(db, map_path, redis_url, i, mode, args, folder))
        world = ClusterWorld(hosts)
        yield world
    finally:
        if world is not None:
            for factory in world.players:
                factory.close_all()
        for host in hosts:
            if host.proc.proc is not None and host.proc.proc.poll() is None:
                host.stop()
            else:
                host.pool.shutdown(wait=False)


# -- walking a player of the test map ------------------------------------------------
SPAWN = (176.0, 80.0)
WALK_SPEED_USED = 120.0  # px/s, under the rules' walking speed


def walk(client, path: list[tuple[float, float]]) -> tuple[float, float]:
    """Walk ``client`` through ``path`` at WALK_SPEED_USED, in moves of a
    20th of a second; returns where it stopped."""
    x, y = SPAWN if not hasattr(client, "at") else client.at
    step = WALK_SPEED_USED / 20.0
    for tx, ty in path:
        while (x, y) != (tx, ty):
            d = math.hypot(tx - x, ty - y)
            if d <= step:
                x, y = tx, ty
            else:
                x, y = x + (tx - x) * step / d, y + (ty - y) * step / d
            client.send_move(x, y)
            time.sleep(0.05)
    client.at = (x, y)
    return x, y


def where_am_i(client) -> tuple[float, float]:
    """Ask the host where it has us: an off-map move is corrected to that spot."""
    seq = client.send_move(-100.0, -100.0)
    data = client.wait_for(P.CORRECTION, match=lambda d: d["seq"] == seq).data
    return data["x"], data["y"]
