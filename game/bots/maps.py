"""The maps scripted players walk: the host's own, fetched like the game does.

A bot walks and predicts with exactly the map the host checks its moves
against: the host's start map (named in ``/api/health``) and, after walking
through an exit, the map named in ``map_changed``.  Bundles come through the
game's own cache (``game.client.maps.MapCache``), so each map is downloaded
once per machine.
"""
from __future__ import annotations

import threading

import requests

from game.core import protocol as P
from game.core import rules


class HostMaps:
    """The host's maps as ``rules.WorldMap``s, by map name."""

    def __init__(self, server: str):
        from game.client.maps import MapCache

        self.server = server
        self.cache = MapCache()
        self.worlds: dict[str, rules.WorldMap] = {}
        self._lock = threading.Lock()

    def start_map(self) -> rules.WorldMap:
        """The map new players start on; the bundled world for a host that
        does not describe its map."""
        reply = requests.get(self.server.rstrip("/") + P.HTTP_HEALTH, timeout=10.0)
        desc = reply.json().get("map") if reply.ok else None
        return self.world(desc) if isinstance(desc, dict) else rules.load_world()

    def world(self, desc: dict) -> rules.WorldMap:
        """The map a wire description names, downloaded the first time."""
        name = str(desc.get("name", ""))
        with self._lock:
            world = self.worlds.get(name)
            if world is None:
                path = self.cache.local(desc) or self.cache.fetch(self.server, desc)
                world = self.worlds[name] = rules.load_world(path)
            return world
