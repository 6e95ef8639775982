"""A world served by several real host processes: one Redis, one database
(an SQLite file shared on this machine), one secret; each process with its
own port and log, as if on a machine of its own.

``cluster(tmp_path, redis_url, n)`` starts them; ``Cluster.players[i]()``
makes a player on process ``i`` (a ``PlayerFactory``: registered, connected,
joined, ``.welcome`` kept).
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from game.client.host_process import HostProcess

from .conftest import PlayerFactory, WorldHost


class ClusterWorld:
    def __init__(self, hosts: list[WorldHost]):
        self.hosts = hosts
        self.players = [PlayerFactory(host) for host in hosts]

    def start_host(self, index: int) -> WorldHost:
        """Start process ``index`` again on its port (after a kill or a stop)."""
        self.hosts[index].proc.start()
        return self.hosts[index]


def start_process(db: Path, map_path: Path, redis_url: str, index: int, mode: str,
                  extra_args: tuple[str, ...] = ()) -> WorldHost:
    args = ("--map", str(map_path), "--login-failures", "1000", "--redis", redis_url,
            *extra_args)
    proc = HostProcess(db, async_mode=mode, log_level="INFO", extra_args=args,
                       log_path=db.with_name(f"process{index}.log"))
    return WorldHost(proc.start())


@contextmanager
def cluster(tmp_path: Path, map_path: Path, redis_url: str, n: int = 2,
            mode: str = "eventlet", extra_args: tuple[str, ...] = ()) -> Iterator[ClusterWorld]:
    """``n`` host processes serving one world (``mode``: their async mode)."""
    db = tmp_path / "world.db"
    hosts: list[WorldHost] = []
    world = None
    try:
        for i in range(n):
            hosts.append(start_process(db, map_path, redis_url, i, mode, extra_args))
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
