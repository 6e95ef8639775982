"""``python host.py --check-map PATH``: load a map the way the host would and
say what the host found in it, without starting a host.

The map goes through the host's own start-up step, ``startup.serve_map``:
``tiled.load_map`` (Tiled TMX or JSON, the game's conventions for collision,
spawn, layers above the players, entries and exits), ``bundle.check_files``
(every file inside the map's folder, none missing, under the size limit) and
the bundle players download.  Nothing is opened but the map's own files: no
database, no port.

The report goes to standard output; a map the host would refuse gets one line
on standard error naming the file and the reason, and status 1.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Iterable, TextIO

from game.core import bundle, tiled
from game.core.bundle import MapBundle

from .startup import StartupError, serve_map

REFUSED = 1


def check_paths(paths: Iterable[str | Path], out: TextIO = sys.stdout,
                err: TextIO = sys.stderr) -> int:
    """Check every map named (a folder: every map in it) and print a report on
    each.  0 when the host would accept them all, else ``REFUSED``."""
    status = 0
    checked: dict[str, tiled.TiledMap] = {}
    maps = [m for p in paths for m in _maps_in(Path(p), err)]
    if not maps:
        return REFUSED
    for index, path in enumerate(maps):
        if index:
            print(file=out)
        try:
            tiled_map, served = load_checked(path)
        except StartupError as exc:
            print(f"host.py: the host would refuse this map: {_first_line(exc)}", file=err)
            status = REFUSED
            continue
        checked[tiled_map.world.name] = tiled_map
        out.write(report(tiled_map, served))
    if len(checked) > 1:
        out.write(links_report(checked))
    return status


def _maps_in(path: Path, err: TextIO) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and _is_map(p))
        if not found:
            print(f"host.py: {path}: no Tiled map (.tmx, .tmj or .json map) in this folder",
                  file=err)
        return found
    return [path]


def _is_map(path: Path) -> bool:
    if path.suffix.lower() in (".tmx", ".tmj"):
        return True
    if path.suffix.lower() != ".json":
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("type") == "map"
    except (OSError, ValueError, AttributeError):
        return False


def load_checked(path: Path) -> tuple[tiled.TiledMap, MapBundle]:
    """The map and its bundle as the host makes them at start-up, or the
    StartupError the host would refuse to start with."""
    if path.exists() and not path.is_file():
        raise StartupError(f"map {path} is not a file: give a Tiled map, or a folder of maps")
    return serve_map(path)


# -- the report ---------------------------------------------------------------------------
def report(m: tiled.TiledMap, served: MapBundle) -> str:
    """What the host found in the map, as text for a person."""
    world, ts = m.world, m.tile_size
    lines = [f"{m.path}: the host accepts this map",
             f"  size        {m.width} x {m.height} tiles, {m.width * ts} x {m.height * ts} px, "
             f"tiles of {ts} px"]
    lines += _layers(m)
    lines += _tilesets(m)
    blocked = sum(world.blocked)
    lines.append(f"  collision   {blocked} of {m.width * m.height} tiles blocked, "
                 f"{_count(len(world.shapes), 'collision shape')}")
    lines.append(f"  spawn       {_point(world.spawn, ts)}, {spawn_rule(m)}")
    lines += _entries(m)
    lines += _listed("exits", _exits(m))
    lines += _served(m, served)
    lines += _listed("warnings", list(m.warnings), none="none")
    return "\n".join(lines) + "\n"


def _layers(m: tiled.TiledMap) -> list[str]:
    if not m.layers:
        return ["  layers      none drawn"]
    width = max(len(layer.name) for layer in m.layers)
    out = [f"  layers      {_count(len(m.layers), 'tile layer')}, bottom first:"]
    for layer in m.layers:
        where = "ABOVE players" if layer.above else "below players"
        extra = f", opacity {layer.opacity:g}" if layer.opacity < 1 else ""
        if layer.offset != (0, 0):
            extra += f", offset {layer.offset[0]:g},{layer.offset[1]:g}"
        out.append(f"                {layer.name:<{width}}  {where}{extra}")
    out.append(f"  above       {m.above_rule}")
    return out


def _tilesets(m: tiled.TiledMap) -> list[str]:
    used: dict[str, int] = {}
    for image in m.tiles.values():
        used[image.source] = used.get(image.source, 0) + 1
    folder = Path(m.folder)
    described = [_relative(f, folder) for f in m.files[1:]
                 if f.suffix.lower() in (".tsx", ".tsj", ".json")]
    lines = _listed("tilesets", described, none="embedded in the map")
    images = [f"{source}: {_count(count, 'tile')} used"
              for source, count in sorted(used.items())]
    lines += _listed("images", images)
    if m.animations:
        lines.append(f"  animations  {_count(len(m.animations), 'animated tile')}")
    return lines


def _entries(m: tiled.TiledMap) -> list[str]:
    """Named objects one by one; tile layers (every one can be an entry) counted."""
    objects = [a.name for a in getattr(m, "areas", ()) if a.kind == "entry"]
    entries = m.world.entries
    shown = [f"{name} {_point(entries[name], m.tile_size)}" for name in objects if name in entries]
    layers = [name for name in entries if name not in objects]
    if layers:
        named = ", ".join(layers[:6]) + (", ..." if len(layers) > 6 else "")
        shown.append(("and " if shown else "") + f"{_count(len(layers), 'tile layer')} "
                     f"by name ({named})")
    return _listed("entries", shown)


def _exits(m: tiled.TiledMap) -> list[str]:
    """One line per exit, areas of the same exit (a tile layer's) counted together."""
    counted: dict[str, int] = {}
    for e in m.world.exits:
        line = (f"{_exit_name(m, e)} -> {e.target_map}"
                + (f"#{e.target_entry}" if e.target_entry else " (its spawn)"))
        counted[line] = counted.get(line, 0) + 1
    return [line + (f" ({n} areas)" if n > 1 else "") for line, n in counted.items()]


def _served(m: tiled.TiledMap, served: MapBundle) -> list[str]:
    folder = Path(m.folder)
    sizes = [(_relative(f, folder), Path(f).stat().st_size) for f in m.files]
    total = sum(size for _, size in sizes)
    out = [f"  served      {_count(len(sizes), 'file')}, {_size(total)} "
           f"(limit {_size(bundle.MAP_BUNDLE_MAX_BYTES)}); players download "
           f"{_size(served.size)} once (bundle {served.hash[:16]})"]
    width = max(len(name) for name, _ in sizes)
    out += [f"                {name:<{width}}  {_size(size)}" for name, size in sizes]
    return out


def links_report(maps: dict[str, tiled.TiledMap]) -> str:
    """How the checked maps link to each other: each exit's target, and the
    exits that lead nowhere among them."""
    lines = ["", "links between these maps"]
    for name, m in maps.items():
        for e in m.world.exits:
            target = maps.get(e.target_map)
            if target is None:
                lines.append(f"  {name}: exit {_exit_name(m, e)} -> {e.target_map}: "
                             f"no such map among those checked")
            elif e.target_entry and e.target_entry not in target.world.entries:
                lines.append(f"  {name}: exit {_exit_name(m, e)} -> {e.target_map}#"
                             f"{e.target_entry}: {e.target_map} has no entry of that name")
            else:
                lines.append(f"  {name}: exit {_exit_name(m, e)} -> {e.target_map}"
                             + (f"#{e.target_entry}" if e.target_entry else "") + ": ok")
    return "\n".join(lines) + "\n"


def spawn_rule(m: tiled.TiledMap) -> str:
    """How the host found the spawn (the rules in order, as the loader applies them)."""
    for warning in m.warnings:
        if warning.startswith("no spawn marked"):
            return "no spawn marked: the walkable tile nearest the centre"
        if warning.startswith("the spawn") and "blocked" in warning:
            return "the spawn marked is blocked: the walkable tile nearest to it"
    spawn = m.world.spawn
    for name, xy in m.world.entries.items():
        if name.strip().lower() == "spawn" and _same(xy, spawn):
            return f"the object named '{name}'"
    for layer in m.layers:
        if layer.name.strip().lower() == "start":
            first = next((i for i, gid in enumerate(layer.data) if gid), None)
            if first is not None and _same(spawn, ((first % m.width + 0.5) * m.tile_size,
                                                   (first // m.width + 0.5) * m.tile_size)):
                return f"the first tile of the tile layer '{layer.name}'"
    return "an object of class (type) spawn or start"


# -- formatting ---------------------------------------------------------------------------
def _listed(title: str, items: list[str], none: str = "none") -> list[str]:
    if not items:
        return [f"  {title:<11} {none}"]
    return [f"  {title:<11} {items[0]}", *(f"  {'':<11} {item}" for item in items[1:])]


def _exit_name(m: tiled.TiledMap, e) -> str:
    for area in getattr(m, "areas", ()):
        if area.kind == "exit" and tuple(area.points) == tuple(e.points):
            return f"'{area.name}'" if area.name else _where(e.points, m.tile_size)
    return _where(e.points, m.tile_size)


def _where(points, ts: int) -> str:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return f"at tile ({int(min(xs) // ts)}, {int(min(ys) // ts)})"


def _point(xy: tuple[float, float], ts: int) -> str:
    return f"({xy[0]:g}, {xy[1]:g}) px, tile ({int(xy[0] // ts)}, {int(xy[1] // ts)})"


def _same(a, b) -> bool:
    return math.isclose(a[0], b[0], abs_tol=1e-6) and math.isclose(a[1], b[1], abs_tol=1e-6)


def _relative(path: Path, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return str(path)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
