"""The maps of a world and the exits that link them.

A host serves one map or several (``--map`` repeated, or a world folder).
Each map is known by its name, the file's stem (``cave.tmx`` is ``cave``);
new players start on the *start map*.  An exit on one map (see
``game.core.rules.WorldMap.exits``) names another map of the same world and,
optionally, an entry there (``cave`` or ``cave#door``); a player whose
accepted move ends inside the exit's area is moved to that entry, or to the
target map's spawn when the exit names none.

Every exit is checked when the host starts: a world whose exit leads to a map
it does not have, or to an entry that map does not have, is refused with one
line naming the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from game.core import rules

# What a map file may be called; a .json file counts only when it is a Tiled map.
MAP_SUFFIXES = (".tmx", ".tmj", ".json")


def map_name(path: str | Path) -> str:
    """A map's name in its world: its file name without the extension."""
    return Path(path).stem


@dataclass
class World:
    """Every map of the world, by name, the start map first."""

    maps: dict[str, rules.WorldMap]
    paths: dict[str, Path]
    start: str
    # What a map looks like on the wire (name, file, and, once the host has
    # built the map's bundle, its hash, size and url).
    descriptions: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def single(cls, world_map: rules.WorldMap, path: str | Path | None = None) -> "World":
        """A world of one map (tests and tools that build a map in memory)."""
        name = map_name(path) if path else world_map.name
        file = Path(path).name if path else f"{name}.tmx"
        return cls({name: world_map}, {name: Path(path or file)}, name)

    @property
    def names(self) -> list[str]:
        return list(self.maps)

    def describe(self, name: str) -> dict[str, Any]:
        """The map as the wire describes it (see docs/protocol.md)."""
        found = self.descriptions.get(name)
        if found is not None:
            return dict(found)
        return {"name": name, "file": self.paths[name].name}

    def resolve(self, target: str) -> str | None:
        """The name of the map an exit's ``target_map`` means (``cave`` or
        ``cave.tmj``), or None when the world has no such map."""
        target = target.strip()
        if target in self.maps:
            return target
        stem = Path(target).stem if Path(target).suffix.lower() in MAP_SUFFIXES else None
        return stem if stem in self.maps else None

    def destination(self, exit_: Any) -> tuple[str, tuple[float, float]] | None:
        """Where an exit takes a player: the map and the point (the entry, or
        the target map's spawn); None when the exit leads nowhere known."""
        name = self.resolve(str(exit_.target_map))
        if name is None:
            return None
        target = self.maps[name]
        entry = exit_.target_entry
        point = target.entries.get(entry) if entry else None
        return name, tuple(point) if point is not None else target.spawn


def load_world(paths: Sequence[str | Path], loader=None) -> World:
    """Load every map of the world (the first is the start map) and check
    that their names are distinct and every exit leads somewhere.  Raises
    ``StartupError`` with one line naming the file."""
    from .startup import StartupError, first_line

    load = loader or rules.WorldMap.load_tmx
    if not paths:
        raise StartupError("no map given: point --map at a Tiled map or a world folder")
    maps: dict[str, rules.WorldMap] = {}
    files: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        name = map_name(path)
        if name in files:
            raise StartupError(
                f"map {path} and map {files[name]} are both named '{name}': a world's maps "
                f"need different file names (exits name maps by file name)")
        if not path.is_file():
            raise StartupError(f"map {path} is missing: put it back, or leave it out of --map")
        try:
            maps[name] = load(path)
        except StartupError:
            raise
        except Exception as exc:
            raise StartupError(f"map {path} cannot be read ({first_line(exc)}): fix it in "
                               f"Tiled, or leave it out of --map") from exc
        files[name] = path
    world = World(maps, files, map_name(paths[0]))
    check_exits(world)
    return world


def check_exits(world: World) -> None:
    """Every exit must lead to a map of the world, and to an entry that map has."""
    from .startup import StartupError

    for name, world_map in world.maps.items():
        path = world.paths[name]
        for exit_ in world_map.exits:
            target = str(exit_.target_map)
            entry = exit_.target_entry
            label = f"{target}#{entry}" if entry else target
            found = world.resolve(target)
            if found is None:
                raise StartupError(
                    f"map {path}: an exit leads to map '{target}', which is not in this world "
                    f"(maps: {', '.join(world.names)}): add that map with --map, or fix the exit")
            if entry and entry not in world.maps[found].entries:
                raise StartupError(
                    f"map {path}: an exit leads to '{label}', but {world.paths[found]} has no "
                    f"entry named '{entry}': name an object there '{entry}', or fix the exit")
