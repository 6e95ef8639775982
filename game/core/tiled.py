"""Tiled maps (TMX and JSON) read into what the game draws and walks with.

Pure Python on top of pytiled-parser: no pygame, Flask, socket or sqlite
import, so the host, the client and ``host.py --check-map`` read a map the
same way.  ``load_map(path)`` returns a ``TiledMap``: the tile layers to draw
(raw gids with Tiled's flip flags), the picture of every gid, animations, the
collision world (``rules.WorldMap``), and every file the map references.

The game's conventions, in one place:

* **Supported**: orthogonal maps with square tiles, not infinite; embedded
  and external tilesets (.tsx/.tsj), image-collection tilesets, templates,
  group layers (flattened: opacity multiplied, visibility and offsets
  combined), CSV/base64/zlib/gzip layer data (zstd when its module is there).
* **Above the players**: a tile layer (or a group around it) with the bool
  property ``above`` (true draws it above, false below, whatever else says),
  or whose name is or starts with ``above``, ``over``, ``overhead``, ``roof``
  or ``top`` (any case), or that comes after an object layer named
  ``floorLayer`` (WorkAdventure's convention).
* **Collision**: a tile whose tileset tile has a true property ``blocked`` or
  ``collides`` blocks its cell (in every tile layer, hidden ones included);
  shapes drawn in Tiled's tile collision editor block where they are drawn
  (flips applied; an ellipse is a 12-gon); rectangles, polygons and ellipses
  in an object layer whose name or class is ``collision``, ``collisions`` or
  ``walls``, and any object of class ``collision``, block.
* **Spawn**: the object named ``spawn``, else an object of class ``spawn`` or
  ``start`` (or named ``start``, WorkAdventure's start area), else the centre
  of the first tile of a tile layer named ``start``, else the walkable tile
  nearest the map's centre (with a warning).  A spawn inside a wall moves to
  the walkable tile nearest it (with a warning).
* **Entries** (where exits from other maps arrive): every named object (its
  centre, or the point of a point object), and every tile layer with the bool
  property ``startLayer`` or named ``start`` (WorkAdventure's entry layers:
  the centre of its first walkable tile).
* **Exits**: an object with a string property ``exit`` (``"cave"`` or
  ``"cave#door"``), or WorkAdventure's ``exitUrl`` on an object or on a tile
  layer (each non-empty tile of the layer is part of the exit).  A URL
  (``://``) cannot lead to a map of this world: it is ignored with a warning.
"""
from __future__ import annotations

import copy
import json
import math
import os
import xml.etree.ElementTree as ET
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pytiled_parser import tiled_object as pt_object
from pytiled_parser.layer import ImageLayer as PtImageLayer
from pytiled_parser.layer import LayerGroup as PtGroup
from pytiled_parser.layer import ObjectLayer as PtObjectLayer
from pytiled_parser.layer import TileLayer as PtTileLayer
from pytiled_parser.parsers.json.layer import parse as parse_json_layer
from pytiled_parser.parsers.json.properties import parse as parse_json_properties
from pytiled_parser.parsers.json.tileset import parse as parse_json_tileset
from pytiled_parser.parsers.tmx import layer as tmx_layer_module
from pytiled_parser.parsers.tmx.layer import parse as parse_tmx_layer
from pytiled_parser.parsers.tmx.properties import parse as parse_tmx_properties
from pytiled_parser.parsers.tmx.tileset import parse as parse_tmx_tileset

from game.core import rules
from game.core.rules import Exit, MapError, WorldMap

FLIP_H, FLIP_V, FLIP_D = 0x80000000, 0x40000000, 0x20000000  # Tiled's gid flag bits
FLIP_HEX = 0x10000000  # hexagonal 120-degree rotation (never on orthogonal maps)
GID_MASK = 0x0FFFFFFF

ABOVE_PREFIXES = ("above", "over", "overhead", "roof", "top")
FLOOR_LAYER = "floorlayer"
COLLISION_LAYER_NAMES = ("collision", "collisions", "walls")
COLLISION_CLASS = "collision"
SPAWN_NAME = "spawn"
SPAWN_CLASSES = ("spawn", "start")
START_LAYER = "start"
ELLIPSE_SIDES = 12
MAP_SUFFIXES = (".tmx", ".tmj", ".json")
_ENCODING = "utf-8"


@dataclass(frozen=True)
class TileImage:
    """The picture of one gid.  Tiles bigger than the grid are drawn with
    their bottom-left corner on the cell's bottom-left corner (Tiled's rule)."""

    source: str  # image path relative to the map's folder, '/' separators
    rect: tuple[int, int, int, int] | None  # x, y, w, h in the image; None = whole image


@dataclass(frozen=True)
class Frame:
    gid: int  # gid (no flags) shown during this frame
    duration_ms: int


@dataclass(frozen=True)
class TileLayer:
    name: str
    data: tuple[int, ...]  # width*height raw gids, row-major, WITH flip flags (0 = empty)
    opacity: float  # 0..1, group opacity multiplied in
    above: bool  # drawn above the players
    offset: tuple[float, float]  # pixel offset (groups added in)


@dataclass(frozen=True)
class Area:
    """A named or special place on the map, in pixels."""

    name: str
    kind: str  # "exit" | "entry" | "spawn"
    points: tuple[tuple[float, float], ...]  # polygon; a rect is its 4 corners; a point object is 1 point
    props: dict


@dataclass(frozen=True)
class TiledMap:
    path: Path  # the map file (absolute)
    folder: Path  # its folder (absolute): every served file must be inside it
    width: int  # tiles
    height: int
    tile_size: int  # px
    layers: tuple[TileLayer, ...]  # visible tile layers in drawing order, groups flattened
    tiles: dict[int, TileImage]  # gid (no flags) -> picture
    animations: dict[int, tuple[Frame, ...]]  # gid (no flags) -> frames
    world: WorldMap  # collision, spawn, exits and entries
    files: tuple[Path, ...]  # map, tilesets, templates, images; absolute, symlinks not resolved
    warnings: tuple[str, ...]
    above_rule: str  # how above layers were recognised, for --check-map
    areas: tuple[Area, ...] = ()  # spawn, entries and exits, for --check-map and drawing aids


def load_map(path: str | Path) -> TiledMap:
    """Read the Tiled map at ``path``; MapError("<file>: <what is wrong>") when
    it cannot be read or is not a map this game supports."""
    path = Path(os.path.abspath(path))
    loader = _Loader(path)
    try:
        return loader.load()
    except MapError:
        raise
    except FileNotFoundError as exc:
        missing = exc.filename or loader.current
        raise MapError(f"{missing}: file not found (the map {path.name} refers to it)") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RuntimeError, NotImplementedError, ET.ParseError) as exc:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError):
            detail = f"missing {exc}"
        raise MapError(f"{loader.current}: cannot read it as a Tiled file ({detail})") from exc


# -- reading the files --------------------------------------------------------------
def _norm(path: Path) -> Path:
    """Absolute and without '..', but never through symlinks."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _is_xml(path: Path) -> bool:
    with open(path, encoding=_ENCODING) as handle:
        head = handle.read(256).lstrip("\ufeff \t\r\n")
    return head.startswith("<")


def _xml(path: Path) -> ET.Element:
    """Parse an XML file, with properties pytiled-parser would choke on
    made plain (an unset colour)."""
    root = ET.parse(path).getroot()
    for prop in root.iter("property"):
        if prop.attrib.get("type") == "color" and not prop.attrib.get("value"):
            del prop.attrib["type"]
    return root


def _json(path: Path) -> Any:
    """Load a JSON file, with its properties made readable by pytiled-parser
    (a missing type is a string; an unset colour is a string)."""
    raw = json.loads(path.read_text(encoding=_ENCODING))
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            props = item.get("properties")
            if isinstance(props, list):
                for prop in props:
                    if isinstance(prop, dict):
                        prop.setdefault("type", "string")
                        prop.setdefault("value", "")
                        if prop["type"] == "color" and not prop["value"]:
                            prop["type"] = "string"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return raw


def _image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG or GIF header (None when unknown)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


@dataclass
class _Tileset:
    firstgid: int
    tileset: Any  # pytiled_parser.Tileset
    folder: Path  # where its image paths are relative to
    source: Path  # the file it came from (the map for an embedded tileset)


class _Loader:
    def __init__(self, path: Path):
        self.path = path
        self.folder = path.parent
        self.current = path
        self.tilesets: list[_Tileset] = []
        self.tileset_files: list[Path] = []
        self.template_files: list[Path] = []
        self.image_files: list[Path] = []
        self.warnings: list[str] = []

    # .. top level .....................................................
    def load(self) -> TiledMap:
        if not self.path.is_file():
            raise MapError(f"{self.path}: file not found")
        if _is_xml(self.path):
            header, layers = self._read_tmx()
        else:
            header, layers = self._read_json()
        self.current = self.path
        return _Builder(self, header, layers).build()

    def _check_header(self, orientation: str, infinite: bool, tw: int, th: int) -> None:
        where = self.path
        if orientation != "orthogonal":
            raise MapError(f"{where}: {orientation} maps are not supported (only orthogonal maps are)")
        if infinite:
            raise MapError(f"{where}: infinite maps are not supported "
                           "(in Tiled: Map > Map Properties, untick Infinite)")
        if tw != th or tw <= 0:
            raise MapError(f"{where}: tiles of {tw}x{th} px are not supported (only square tiles are)")

    # .. TMX ...........................................................
    def _read_tmx(self):
        root = _xml(self.path)
        if root.tag != "map":
            raise MapError(f"{self.path}: not a Tiled map (the root element is <{root.tag}>)")
        attrs = root.attrib
        tw, th = int(attrs["tilewidth"]), int(attrs["tileheight"])
        self._check_header(attrs.get("orientation", "orthogonal"), attrs.get("infinite", "0") == "1",
                           tw, th)
        for element in root.findall("tileset"):
            self._tmx_tileset(element, self.path)
        header = {"width": int(attrs["width"]), "height": int(attrs["height"]), "tile_size": tw,
                  "properties": _tmx_properties(root)}
        layers = []
        for element in root:
            if element.tag in ("layer", "objectgroup", "imagelayer", "group"):
                self._prepare_tmx_layer(element, self.folder)
                self.current = self.path
                layers.append(parse_tmx_layer(element, _ENCODING, self.folder))
        return header, layers

    def _tmx_tileset(self, element: ET.Element, owner: Path) -> None:
        firstgid = int(element.attrib.get("firstgid", "1"))
        folder, source = owner.parent, owner
        if element.attrib.get("source"):
            source = _norm(owner.parent / element.attrib["source"])
            self._add(self.tileset_files, source)
            self.current = source
            folder = source.parent
            if _is_xml(source):
                element = _xml(source)
            else:
                raw = _json(source)
                self._prepare_json_tileset(raw)
                tileset = parse_json_tileset(raw, firstgid, _ENCODING)
                self._keep_tileset(firstgid, tileset, folder, source)
                return
        self._prepare_tmx_tileset(element, folder)
        tileset = parse_tmx_tileset(element, firstgid, _ENCODING)
        self._keep_tileset(firstgid, tileset, folder, source)

    def _prepare_tmx_tileset(self, element: ET.Element, folder: Path) -> None:
        """Fill in what maps saved by old versions of Tiled leave out: the
        image's size (read from the image), columns and tile count."""
        image = element.find("image")
        if image is not None and not image.attrib.get("width") and image.attrib.get("source"):
            size = _image_size(folder / image.attrib["source"])
            if size:
                image.set("width", str(size[0]))
                image.set("height", str(size[1]))
        if element.attrib.get("columns") is None or element.attrib.get("tilecount") is None:
            columns = rows = 0
            if image is not None and image.attrib.get("width"):
                spacing = int(element.attrib.get("spacing", 0))
                margin = int(element.attrib.get("margin", 0))
                tw, th = int(element.attrib["tilewidth"]), int(element.attrib["tileheight"])
                columns = max(1, (int(image.attrib["width"]) - 2 * margin + spacing) // (tw + spacing))
                rows = max(1, (int(image.attrib["height"]) - 2 * margin + spacing) // (th + spacing))
            element.attrib.setdefault("columns", str(columns))
            # 0 = unknown: any tile id of the image is taken
            count = columns * rows if image is not None else len(element.findall("tile"))
            element.attrib.setdefault("tilecount", str(count))
        for picture in element.iter("image"):  # old maps may leave the sizes out
            picture.attrib.setdefault("width", "0")
            picture.attrib.setdefault("height", "0")
        for tile in element.findall("tile"):
            group = tile.find("objectgroup")
            if group is not None:
                self._prepare_tmx_layer(group, folder)

    def _prepare_tmx_layer(self, element: ET.Element, folder: Path) -> None:
        """Fill what pytiled-parser needs but Tiled may leave out, refuse what
        cannot be read, and note the templates the layer uses."""
        if "offsetx" in element.attrib or "offsety" in element.attrib:
            element.set("offsetx", element.attrib.get("offsetx", "0"))
            element.set("offsety", element.attrib.get("offsety", "0"))
        name = element.attrib.get("name", "")
        if element.tag == "layer":
            data = element.find("data")
            if data is not None:
                self._check_compression(data.attrib.get("compression", ""), name)
                if data.find("chunk") is not None:
                    raise MapError(f"{self.path}: infinite maps are not supported "
                                   "(in Tiled: Map > Map Properties, untick Infinite)")
                cells = data.findall("tile")
                if not data.attrib.get("encoding") and cells:
                    data.text = ",".join(c.attrib.get("gid", "0") for c in cells)
                    for cell in cells:
                        data.remove(cell)
                    data.set("encoding", "csv")
                elif not (data.text or "").strip():
                    raise MapError(f"{self.path}: layer '{name}' has no tile data")
        elif element.tag == "objectgroup":
            for obj in element.findall("object"):
                if obj.attrib.get("template"):
                    self._tmx_template(obj, folder)
                obj.attrib.setdefault("x", "0")
                obj.attrib.setdefault("y", "0")
                obj.attrib.setdefault("id", "0")
                if "width" in obj.attrib or "height" in obj.attrib:
                    obj.set("width", obj.attrib.get("width", "0"))
                    obj.set("height", obj.attrib.get("height", "0"))
        elif element.tag == "imagelayer":
            image = element.find("image")
            if image is None:  # Tiled allows an image layer with no image yet
                image = ET.SubElement(element, "image", {"source": ""})
            if image.attrib.get("source"):
                self._add(self.image_files, _norm(folder / image.attrib["source"]))
        elif element.tag == "group":
            for child in element:
                if child.tag in ("layer", "objectgroup", "imagelayer", "group"):
                    self._prepare_tmx_layer(child, folder)

    def _tmx_template(self, obj: ET.Element, folder: Path) -> None:
        template = _norm(folder / obj.attrib["template"])
        self._add(self.template_files, template)
        self.current = template
        if not _is_xml(template):
            raise MapError(f"{template}: a JSON template in a TMX map cannot be read "
                           "(save the template as .tx)")
        root = _xml(template)
        tileset = root.find("tileset")
        if tileset is not None and tileset.attrib.get("source"):
            self._template_tileset(_norm(template.parent / tileset.attrib["source"]))
        inner = root.find("object")
        if inner is not None:
            for key in ("x", "y", "id"):
                if key not in obj.attrib and key not in inner.attrib:
                    obj.set(key, "0")

    def _template_tileset(self, source: Path) -> None:
        """A tileset a template (a tile object) uses: served, not drawn."""
        self._add(self.tileset_files, source)
        self.current = source
        if _is_xml(source):
            root = _xml(source)
            image = root.find("image")
            if image is not None and image.attrib.get("source"):
                self._add(self.image_files, _norm(source.parent / image.attrib["source"]))
            for tile in root.findall("tile"):
                image = tile.find("image")
                if image is not None and image.attrib.get("source"):
                    self._add(self.image_files, _norm(source.parent / image.attrib["source"]))
        else:
            raw = _json(source)
            if raw.get("image"):
                self._add(self.image_files, _norm(source.parent / raw["image"]))
            for tile in _json_tiles(raw):
                if tile.get("image"):
                    self._add(self.image_files, _norm(source.parent / tile["image"]))

    def _check_compression(self, compression: str, layer_name: str) -> None:
        if compression == "zstd":

            if tmx_layer_module.zstd is None:
                raise MapError(f"{self.current}: layer '{layer_name}' is compressed with zstd, which "
                               "is not supported here (in Tiled, save it as CSV, or base64 with "
                               "zlib or gzip)")
        elif compression not in ("", "zlib", "gzip"):
            raise MapError(f"{self.current}: layer '{layer_name}' uses the unknown compression "
                           f"'{compression}'")

    # .. JSON ..........................................................
    def _read_json(self):
        raw = _json(self.path)
        if not isinstance(raw, dict) or raw.get("type", "map") != "map" or "layers" not in raw:
            raise MapError(f"{self.path}: not a Tiled map")
        tw, th = int(raw["tilewidth"]), int(raw["tileheight"])
        self._check_header(raw.get("orientation", "orthogonal"), bool(raw.get("infinite", False)), tw, th)
        for entry in raw.get("tilesets", []):
            self._json_tileset(entry)

        header = {"width": int(raw["width"]), "height": int(raw["height"]), "tile_size": tw,
                  "properties": parse_json_properties(raw.get("properties", []))}
        layers = []
        for layer in raw["layers"]:
            self._prepare_json_layer(layer, self.folder)
            self.current = self.path
            layers.append(parse_json_layer(layer, _ENCODING, self.folder))
        return header, layers

    def _json_tileset(self, entry: dict) -> None:
        firstgid = int(entry.get("firstgid", 1))
        if not entry.get("source"):
            self._prepare_json_tileset(entry)
            self._keep_tileset(firstgid, parse_json_tileset(entry, firstgid, _ENCODING),
                               self.folder, self.path)
            return
        source = _norm(self.folder / entry["source"])
        self._add(self.tileset_files, source)
        self.current = source
        if _is_xml(source):
            element = _xml(source)
            self._prepare_tmx_tileset(element, source.parent)
            tileset = parse_tmx_tileset(element, firstgid, _ENCODING)
        else:
            raw = _json(source)
            self._prepare_json_tileset(raw)
            tileset = parse_json_tileset(raw, firstgid, _ENCODING)
        self._keep_tileset(firstgid, tileset, source.parent, source)

    def _prepare_json_tileset(self, raw: dict) -> None:
        raw.setdefault("spacing", 0)
        raw.setdefault("margin", 0)
        raw.setdefault("name", "")
        if not raw.get("columns") and raw.get("image") and raw.get("imagewidth"):
            spacing, margin, tw = raw["spacing"], raw["margin"], raw["tilewidth"]
            raw["columns"] = max(1, (raw["imagewidth"] - 2 * margin + spacing) // (tw + spacing))
        if "tilecount" not in raw:
            if raw.get("image") and raw.get("imageheight") and raw.get("columns"):
                spacing, margin, th = raw["spacing"], raw["margin"], raw["tileheight"]
                rows = max(1, (raw["imageheight"] - 2 * margin + spacing) // (th + spacing))
                raw["tilecount"] = raw["columns"] * rows
            else:
                raw["tilecount"] = 0 if raw.get("image") else len(_json_tiles(raw))
        for tile in _json_tiles(raw):
            if tile.get("objectgroup"):
                tile["objectgroup"].setdefault("type", "objectgroup")
                self._prepare_json_layer(tile["objectgroup"], self.folder)

    def _prepare_json_layer(self, layer: dict, folder: Path) -> None:
        layer.setdefault("name", "")
        layer.setdefault("opacity", 1)
        layer.setdefault("visible", True)
        if "offsetx" in layer or "offsety" in layer:
            layer.setdefault("offsetx", 0)
            layer.setdefault("offsety", 0)
        kind = layer.get("type")
        if kind == "tilelayer":
            if layer.get("chunks") is not None:
                raise MapError(f"{self.path}: infinite maps are not supported "
                               "(in Tiled: Map > Map Properties, untick Infinite)")
            if layer.get("encoding") == "base64":
                layer.setdefault("compression", "")
                self._check_compression(layer["compression"], layer["name"])
            elif layer.get("encoding") == "csv":
                layer.pop("encoding")
            if layer.get("data") is None:
                raise MapError(f"{self.path}: layer '{layer['name']}' has no tile data")
        elif kind == "objectgroup":
            layer.setdefault("draworder", "topdown")
            layer.setdefault("objects", [])
            for obj in layer["objects"]:
                if obj.get("template"):
                    self._json_template(obj, folder)
                for key, value in (("id", 0), ("x", 0), ("y", 0), ("width", 0), ("height", 0),
                                   ("rotation", 0), ("visible", True), ("name", "")):
                    obj.setdefault(key, value)
        elif kind == "imagelayer":
            if layer.get("image"):
                self._add(self.image_files, _norm(folder / layer["image"]))
            else:
                layer["image"] = ""
        elif kind == "group":
            for child in layer.get("layers", []):
                self._prepare_json_layer(child, folder)
            layer.setdefault("layers", [])

    def _json_template(self, obj: dict, folder: Path) -> None:
        """Merge the template under the object (the object's own values win)."""
        template = _norm(folder / obj.pop("template"))
        self._add(self.template_files, template)
        self.current = template
        if _is_xml(template):
            raise MapError(f"{template}: an XML template in a JSON map cannot be read "
                           "(save the template as .tj)")
        raw = _json(template)
        if raw.get("tileset", {}).get("source"):
            self._template_tileset(_norm(template.parent / raw["tileset"]["source"]))
        base = copy.deepcopy(raw.get("object", {}))
        base.pop("id", None)
        base.pop("gid", None)  # a tile object's gid is the template tileset's: not drawn here
        own_props = {p.get("name") for p in obj.get("properties", [])}
        props = obj.get("properties", []) + [p for p in base.pop("properties", [])
                                             if p.get("name") not in own_props]
        merged = {**base, **obj}
        if props:
            merged["properties"] = props
        obj.clear()
        obj.update(merged)

    # .. shared ........................................................
    def _keep_tileset(self, firstgid: int, tileset: Any, folder: Path, source: Path) -> None:
        if tileset.image:
            self._add(self.image_files, _norm(folder / tileset.image))
        for tile in (tileset.tiles or {}).values():
            if tile.image:
                self._add(self.image_files, _norm(folder / tile.image))
        self.tilesets.append(_Tileset(firstgid, tileset, folder, source))
        self.tilesets.sort(key=lambda t: t.firstgid)

    @staticmethod
    def _add(bucket: list[Path], path: Path) -> None:
        if path not in bucket:
            bucket.append(path)


def _json_tiles(raw: dict) -> list[dict]:
    tiles = raw.get("tiles") or []
    if isinstance(tiles, dict):
        return list(tiles.values())
    return tiles


def _tmx_properties(element: ET.Element) -> dict:
    props = element.find("properties")
    return parse_tmx_properties(props) if props is not None else {}


# -- turning the parsed map into the game's model ---------------------------------
@dataclass
class _FlatLayer:
    layer: Any  # a pytiled_parser TileLayer or ObjectLayer
    visible: bool
    opacity: float
    offset: tuple[float, float]
    above_prop: bool | None  # the nearest explicit 'above' property (layer, then groups)
    above_name: str | None  # the layer or group name that matched an above prefix


class _Builder:
    def __init__(self, loader: _Loader, header: dict, layers: list):
        self.loader = loader
        self.path = loader.path
        self.width = header["width"]
        self.height = header["height"]
        self.ts = header["tile_size"]
        self.raw_layers = layers
        self.tilesets = loader.tilesets
        self.firstgids = [t.firstgid for t in self.tilesets]
        self.warnings = loader.warnings

    # .. layers ........................................................
    def flatten(self) -> list[_FlatLayer]:
        flat: list[_FlatLayer] = []

        def walk(layers, visible, opacity, offset, above_prop, above_name):
            for layer in layers:
                vis = visible and bool(layer.visible)
                op = opacity * float(layer.opacity if layer.opacity is not None else 1.0)
                off = (offset[0] + float(layer.offset[0]), offset[1] + float(layer.offset[1]))
                props = layer.properties or {}
                prop = above_prop
                if "above" in props:
                    prop = _truthy(props["above"])
                name = above_name
                if name is None and _above_name(layer.name):
                    name = layer.name
                if isinstance(layer, PtGroup):
                    walk(layer.layers or [], vis, op, off, prop, name)
                elif isinstance(layer, (PtTileLayer, PtObjectLayer)):
                    flat.append(_FlatLayer(layer, vis, op, off, prop, name))
                elif isinstance(layer, PtImageLayer) and vis:
                    self.warnings.append(f"image layer '{layer.name}' is not drawn "
                                         "(only tile layers are)")

        walk(self.raw_layers, True, 1.0, (0.0, 0.0), None, None)
        return flat

    def layer_data(self, layer) -> tuple[int, ...]:
        rows = layer.data or []
        data = tuple(int(g) & 0xFFFFFFFF for row in rows for g in row)
        if len(data) != self.width * self.height:
            raise MapError(f"{self.path}: layer '{layer.name}' has {len(data)} tiles, "
                           f"the map {self.width}x{self.height} needs {self.width * self.height}")
        return data

    # .. tilesets ......................................................
    def tileset_of(self, gid: int) -> tuple[_Tileset, int] | None:
        i = bisect_right(self.firstgids, gid) - 1
        if i < 0:
            return None
        entry = self.tilesets[i]
        local = gid - entry.firstgid
        ts = entry.tileset
        if ts.image is not None and ts.tile_count and local >= ts.tile_count:
            return None
        if ts.image is None and local not in (ts.tiles or {}):
            return None
        return entry, local

    def tile_image(self, gid: int) -> TileImage:
        found = self.tileset_of(gid)
        if found is None:
            raise MapError(f"{self.path}: tile gid {gid} belongs to no tileset")
        entry, local = found
        ts = entry.tileset
        tile = (ts.tiles or {}).get(local)
        if ts.image is not None:
            columns = ts.columns or 1
            x = ts.margin + (local % columns) * (ts.tile_width + ts.spacing)
            y = ts.margin + (local // columns) * (ts.tile_height + ts.spacing)
            return TileImage(self.relative(entry.folder / ts.image),
                             (x, y, ts.tile_width, ts.tile_height))
        rect = None
        if tile.image_width and tile.image_height and (
                tile.x or tile.y or (tile.width, tile.height) != (tile.image_width, tile.image_height)):
            rect = (int(tile.x), int(tile.y), int(tile.width), int(tile.height))
        return TileImage(self.relative(entry.folder / tile.image), rect)

    def tile_props(self, gid: int) -> tuple[dict, Any, _Tileset | None]:
        found = self.tileset_of(gid)
        if found is None:
            return {}, None, None
        entry, local = found
        tile = (entry.tileset.tiles or {}).get(local)
        if tile is None:
            return {}, None, entry
        return tile.properties or {}, tile, entry

    def relative(self, path: Path) -> str:
        return Path(os.path.relpath(_norm(path), self.loader.folder)).as_posix()

    # .. the whole map .................................................
    def build(self) -> TiledMap:
        flat = self.flatten()
        ts = self.ts
        n = self.width * self.height
        blocked = bytearray(n)
        shapes: list[tuple[tuple[float, float], ...]] = []
        layers: list[TileLayer] = []
        above_by: dict[str, list[str]] = {"property": [], "name": [], "floorLayer": []}
        after_floor = False
        used: set[int] = set()
        tile_layers: list[tuple[str, dict, tuple[int, ...]]] = []
        objects: list[tuple[Any, tuple[float, float], Any]] = []  # (object, offset, layer)
        tile_cache: dict[int, tuple[bool, tuple]] = {}

        for fl in flat:
            layer = fl.layer
            if isinstance(layer, PtObjectLayer):
                if (layer.name or "").strip().lower() == FLOOR_LAYER:
                    after_floor = True
                for obj in layer.tiled_objects:
                    objects.append((obj, fl.offset, layer))
                pictures = sum(isinstance(o, pt_object.Tile) for o in layer.tiled_objects)
                if pictures and fl.visible:
                    self.warnings.append(f"object layer '{layer.name}' has {pictures} tile "
                                         "object(s), which are not drawn (draw them in a tile "
                                         "layer)")
                continue
            data = self.layer_data(layer)
            tile_layers.append((layer.name, layer.properties or {}, data))
            for i, raw in enumerate(data):
                if not raw:
                    continue
                gid = raw & GID_MASK
                key = tile_cache.get(raw)
                if key is None:
                    key = self.tile_collision(raw)
                    tile_cache[raw] = key
                cell_blocked, tile_shapes = key
                if cell_blocked:
                    blocked[i] = 1
                elif tile_shapes:
                    tx, ty = i % self.width, i // self.width
                    for shape in tile_shapes:
                        shapes.append(tuple((tx * ts + px, (ty + 1) * ts + py) for px, py in shape))
                if fl.visible:
                    used.add(gid)
            if not fl.visible:
                continue
            if fl.above_prop is not None:
                above, why = fl.above_prop, "property"
            elif fl.above_name is not None:
                above, why = True, "name"
            elif after_floor:
                above, why = True, "floorLayer"
            else:
                above, why = False, None
            if above:
                above_by[why].append(layer.name)
            layers.append(TileLayer(layer.name, data, max(0.0, min(1.0, fl.opacity)), above,
                                    fl.offset))

        tiles: dict[int, TileImage] = {}
        animations: dict[int, tuple[Frame, ...]] = {}
        pending = sorted(used)
        while pending:
            gid = pending.pop()
            if gid in tiles:
                continue
            tiles[gid] = self.tile_image(gid)
            props, tile, entry = self.tile_props(gid)
            if tile is not None and tile.animation:
                frames = tuple(Frame(entry.firstgid + f.tile_id, int(f.duration)) for f in tile.animation)
                animations[gid] = frames
                pending.extend(f.gid for f in frames if f.gid not in tiles)

        for obj, offset, layer in objects:
            if _is_collision(obj, layer):
                shape = _object_polygon(obj, offset)
                if shape is not None and len(shape) >= 3:
                    shapes.append(shape)

        kept_shapes = self.absorb_shapes(shapes, blocked)
        probe = WorldMap(self.width, self.height, ts, bytes(blocked), (0.0, 0.0),
                         shapes=tuple(kept_shapes))
        areas, exits, entries, spawn = self.places(objects, tile_layers, probe)
        world = WorldMap(self.width, self.height, ts, bytes(blocked), spawn,
                         shapes=tuple(kept_shapes), exits=tuple(exits),
                         entries=rules.Entries(entries), name=self.path.stem)
        files = (self.path, *self.loader.tileset_files, *self.loader.template_files,
                 *self.loader.image_files)
        return TiledMap(
            path=self.path, folder=self.loader.folder, width=self.width, height=self.height,
            tile_size=ts, layers=tuple(layers), tiles=tiles, animations=animations, world=world,
            files=tuple(dict.fromkeys(files)), warnings=tuple(self.warnings),
            above_rule=_describe_above(above_by), areas=tuple(areas))

    def tile_collision(self, raw: int) -> tuple[bool, tuple]:
        """(blocks the whole cell, shapes relative to the cell's bottom-left)."""
        gid = raw & GID_MASK
        props, tile, entry = self.tile_props(gid)
        if _truthy(props.get("blocked")) or _truthy(props.get("collides")):
            return True, ()
        if tile is None or tile.objects is None:
            return False, ()
        tw, th = entry.tileset.tile_width, entry.tileset.tile_height
        if tile.width and tile.height and entry.tileset.image is None:
            tw, th = tile.width, tile.height
        shapes = []
        for obj in getattr(tile.objects, "tiled_objects", []):
            poly = _object_polygon(obj, (0.0, 0.0))
            if poly is None or len(poly) < 3:
                continue
            moved = []
            for x, y in poly:
                if raw & FLIP_D:
                    x, y = y * tw / th, x * th / tw
                if raw & FLIP_H:
                    x = tw - x
                if raw & FLIP_V:
                    y = th - y
                moved.append((x, y - th))  # relative to the bottom-left of the cell
            shapes.append(tuple(moved))
        ts = self.ts
        if any(_covers(shape, 0.0, -ts, ts, 0.0) for shape in shapes):
            return True, ()
        return False, tuple(shapes)

    def absorb_shapes(self, shapes, blocked: bytearray) -> list:
        """Mark cells a shape covers whole as blocked; drop shapes that are
        nothing more than whole cells (a wall drawn cell by cell)."""
        ts, kept = self.ts, []
        for shape in shapes:
            xs = [p[0] for p in shape]
            ys = [p[1] for p in shape]
            left = max(0, int(min(xs) // ts))
            right = min(self.width - 1, max(left, math.ceil(max(xs) / ts) - 1))
            top = max(0, int(min(ys) // ts))
            bottom = min(self.height - 1, max(top, math.ceil(max(ys) / ts) - 1))
            if right < left or bottom < top:
                continue
            whole = True
            for ty in range(top, bottom + 1):
                for tx in range(left, right + 1):
                    if _covers(shape, tx * ts, ty * ts, (tx + 1) * ts, (ty + 1) * ts):
                        blocked[ty * self.width + tx] = 1
                    else:
                        whole = False
            is_grid_rect = (len(shape) == 4 and whole
                            and all(x % ts == 0 for x in xs) and all(y % ts == 0 for y in ys))
            if not is_grid_rect:
                kept.append(shape)
        return kept

    # .. spawn, entries, exits .........................................
    def places(self, objects, tile_layers, probe: WorldMap):
        ts = self.ts
        areas: list[Area] = []
        exits: list[Exit] = []
        entries: dict[str, tuple[float, float]] = {}
        spawn_named = spawn_class = None

        for obj, offset, layer in objects:
            points = _object_points(obj, offset)
            if not points:
                continue
            props = dict(obj.properties or {})
            name = (obj.name or "").strip()
            cls = (obj.class_ or "").strip().lower()
            centre = _centre(points)
            if name.lower() == SPAWN_NAME and spawn_named is None:
                spawn_named = centre
            elif (cls in SPAWN_CLASSES or name.lower() == START_LAYER) and spawn_class is None:
                spawn_class = centre
            if name and name not in entries:
                entries[name] = centre
                areas.append(Area(name, "entry", points, props))
            target = self.exit_target(props, f"object '{name or obj.id}'")
            if target is not None:
                if len(points) < 3:
                    self.warnings.append(f"object '{name or obj.id}' has an exit but no area "
                                         "(draw it as a rectangle or polygon): ignored")
                else:
                    exits.append(Exit(points, *target))
                    areas.append(Area(name, "exit", points, props))

        start_layer = None
        for name, props, data in tile_layers:
            first = _first_tile(data)
            if name.strip().lower() == START_LAYER and start_layer is None and first is not None:
                start_layer = ((first % self.width + 0.5) * ts, (first // self.width + 0.5) * ts)
            target = self.exit_target(props, f"layer '{name}'")
            if target is not None:
                for points in _runs(data, self.width, ts):
                    exits.append(Exit(points, *target))
                    areas.append(Area(name, "exit", points, dict(props)))
        for name, props, data in tile_layers:
            is_entry = _truthy(props.get("startLayer")) or name.strip().lower() == START_LAYER
            if is_entry and name not in entries:
                point = self.layer_entry(data, probe)
                if point is not None:
                    entries[name] = point

        spawn = spawn_named or spawn_class or start_layer
        if spawn is not None and not probe.box_free(*spawn):
            self.warnings.append(f"the spawn ({spawn[0]:g}, {spawn[1]:g}) is blocked: "
                                 "using the walkable tile nearest to it")
            spawn = self.nearest_walkable(probe, spawn)
        if spawn is None:
            centre = (self.width * ts / 2.0, self.height * ts / 2.0)
            spawn = self.nearest_walkable(probe, centre)
            self.warnings.append(f"no spawn marked: using the walkable tile nearest the centre "
                                 f"({spawn[0]:g}, {spawn[1]:g})")
        areas.insert(0, Area("spawn", "spawn", (spawn,), {}))
        return areas, exits, entries, spawn

    def layer_entry(self, data, probe: WorldMap) -> tuple[float, float] | None:
        ts, first = self.ts, None
        for i, raw in enumerate(data):
            if not raw:
                continue
            point = ((i % self.width + 0.5) * ts, (i // self.width + 0.5) * ts)
            if first is None:
                first = point
            if probe.box_free(*point):
                return point
        return first

    def nearest_walkable(self, probe: WorldMap, target: tuple[float, float]) -> tuple[float, float]:
        ts = self.ts
        best, best_d = None, math.inf
        for ty in range(self.height):
            for tx in range(self.width):
                if probe.blocked[ty * self.width + tx]:
                    continue
                x, y = (tx + 0.5) * ts, (ty + 0.5) * ts
                d = (x - target[0]) ** 2 + (y - target[1]) ** 2
                if d < best_d and probe.box_free(x, y):
                    best, best_d = (x, y), d
        if best is None:
            raise MapError(f"{self.path}: no tile a player can stand on (every tile is blocked)")
        return best

    def exit_target(self, props: dict, what: str) -> tuple[str, str | None] | None:
        value = props.get("exit")
        if value is None:
            value = props.get("exitUrl", props.get("exitSceneUrl"))
            if value is not None and "://" in str(value):
                self.warnings.append(f"{what}: exitUrl {value} leads to another server: ignored")
                return None
        if value is None or not str(value).strip():
            return None
        return parse_exit(str(value))


def parse_exit(value: str) -> tuple[str, str | None]:
    """``"maps/cave.tmj#door"`` -> ``("cave", "door")``: the target map's file
    stem and the entry there (None: the map's spawn)."""
    target, _, entry = value.strip().partition("#")
    name = target.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in MAP_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name, (entry or None)


# -- geometry helpers ---------------------------------------------------------------
def _above_name(name: str | None) -> bool:
    lowered = (name or "").strip().lower()
    return any(lowered.startswith(prefix) for prefix in ABOVE_PREFIXES)


def _describe_above(above_by: dict[str, list[str]]) -> str:
    parts = []
    if above_by["property"]:
        parts.append("property above=true: " + ", ".join(above_by["property"]))
    if above_by["name"]:
        parts.append("name (above/over/overhead/roof/top): " + ", ".join(above_by["name"]))
    if above_by["floorLayer"]:
        parts.append("after the object layer floorLayer: " + ", ".join(above_by["floorLayer"]))
    return "; ".join(parts) if parts else "none: every layer is drawn below the players"


def _is_collision(obj, layer) -> bool:
    layer_name = (layer.name or "").strip().lower()
    layer_class = (layer.class_ or "").strip().lower()
    return (layer_name in COLLISION_LAYER_NAMES or layer_class in COLLISION_LAYER_NAMES
            or (obj.class_ or "").strip().lower() == COLLISION_CLASS)


def _rotate(points, origin, degrees: float):
    if not degrees:
        return points
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    ox, oy = origin
    return [(ox + (x - ox) * c - (y - oy) * s, oy + (x - ox) * s + (y - oy) * c) for x, y in points]


def _object_polygon(obj, offset) -> tuple[tuple[float, float], ...] | None:
    """The area an object covers, as a polygon in map pixels (None for
    points, polylines and text)."""

    x, y = float(obj.coordinates[0]) + offset[0], float(obj.coordinates[1]) + offset[1]
    w, h = float(obj.size[0]), float(obj.size[1])
    if isinstance(obj, pt_object.Polygon):
        points = [(x + float(p[0]), y + float(p[1])) for p in obj.points]
    elif isinstance(obj, pt_object.Ellipse):
        if w <= 0 or h <= 0:
            return None
        points = [(x + w / 2 + w / 2 * math.cos(2 * math.pi * k / ELLIPSE_SIDES),
                   y + h / 2 + h / 2 * math.sin(2 * math.pi * k / ELLIPSE_SIDES))
                  for k in range(ELLIPSE_SIDES)]
    elif isinstance(obj, pt_object.Tile):
        if w <= 0 or h <= 0:
            return None
        points = [(x, y - h), (x + w, y - h), (x + w, y), (x, y)]  # tile objects hang from bottom-left
    elif isinstance(obj, pt_object.Rectangle):
        if w <= 0 or h <= 0:
            return None
        points = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    else:
        return None
    return tuple(_rotate(points, (x, y), float(obj.rotation or 0)))


def _object_points(obj, offset) -> tuple[tuple[float, float], ...]:
    """An object's area (a point object: its one point)."""

    poly = _object_polygon(obj, offset)
    if poly:
        return poly
    x, y = float(obj.coordinates[0]) + offset[0], float(obj.coordinates[1]) + offset[1]
    if isinstance(obj, pt_object.Polyline) and obj.points:
        return tuple((x + float(p[0]), y + float(p[1])) for p in obj.points)
    return ((x, y),)


def _centre(points) -> tuple[float, float]:
    if len(points) == 1:
        return (float(points[0][0]), float(points[0][1]))
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return ((min(xs) + max(xs)) / 2.0, (min(ys) + max(ys)) / 2.0)


def _first_tile(data) -> int | None:
    for i, raw in enumerate(data):
        if raw:
            return i
    return None


def _runs(data, width: int, ts: int) -> Iterable[tuple[tuple[float, float], ...]]:
    """Rectangles (as 4 corners) covering the non-empty cells, one per run of
    cells in a row."""
    height = len(data) // width
    for ty in range(height):
        tx = 0
        while tx < width:
            if not data[ty * width + tx]:
                tx += 1
                continue
            start = tx
            while tx < width and data[ty * width + tx]:
                tx += 1
            x0, x1, y0, y1 = start * ts, tx * ts, ty * ts, (ty + 1) * ts
            yield ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _covers(shape, x0: float, y0: float, x1: float, y1: float) -> bool:
    """True when the polygon covers the whole rectangle."""
    corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    if not all(rules.point_in_polygon(cx, cy, shape, edge=True) for cx, cy in corners):
        return False
    # Corners inside are enough for a convex shape; a concave one may still
    # bite into the rectangle: none of its vertices may be strictly inside.
    eps = 1e-9
    return not any(x0 + eps < px < x1 - eps and y0 + eps < py < y1 - eps for px, py in shape) \
        and not rules.polygon_crosses_box(shape, x0 + eps, y0 + eps, x1 - eps, y1 - eps,
                                          edges_only=True)
