"""Generate the feature maps in tests/maps/features/: small Tiled maps, in both
of Tiled's formats, that between them use every Tiled feature the game
supports, and the refused maps in tests/maps/features/refused/.

    python tests/maps/make_features.py

Each map is built as a Tiled JSON document and written as .tmj, or turned into
TMX (XML) the way Tiled writes it.  Tileset pictures are drawn here with
pygame: one colour and mark per kind of tile, an arrow on the tile used
flipped and rotated, so a wrong flip or a wrong tile shows.

| map | what it uses |
|---|---|
| town16.tmx | 16 px, external .tsx, CSV data, `blocked` tiles, flips and rotations, a half-transparent layer, layer `Roof` above by name, object named `spawn` |
| town24.tmj | 24 px, external .tsj with margin 2 and spacing 1, group with opacity and offset, layer with property `above`, layer `Collisions` of rects and polygons, animated tiles, object of type `start` |
| town32.tmx | 32 px, embedded tileset, base64+zlib data, tile collision shapes (rect, ellipse, polygon) also flipped, object of class `collision`, object layer of class `walls`, spawn object of class `spawn`, entries and an `exit` to town48 |
| town48.tmj | 48 px, WorkAdventure's conventions: tile layer `start`, `collides` tiles, layers after `floorLayer` above, an `exitUrl` tile layer back to town32, a start layer used as entry, an `exitUrl` that is a web address |
| collection.tmx | image-collection tileset (one picture per tile, some taller than the grid), no spawn marked |
"""
from __future__ import annotations

import base64
import json
import os
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
import pygame  # noqa: E402

OUT = Path(__file__).resolve().parent / "features"
FLIP_H, FLIP_V, FLIP_D = 0x80000000, 0x40000000, 0x20000000

# The tiles of every generated tileset (local ids): what each one is.
FLOOR, WALL, ROCK, HALF, PILLAR, SLOPE, WATER, WATER2, ROOF, ARROW, PATH, FLOWERS = range(12)
TILE_COUNT, COLUMNS = 16, 4
COLOURS = {FLOOR: (96, 160, 80), WALL: (90, 80, 70), ROCK: (120, 120, 130), HALF: (150, 110, 70),
           PILLAR: (200, 200, 190), SLOPE: (170, 140, 90), WATER: (50, 90, 200),
           WATER2: (70, 120, 230), ROOF: (170, 50, 40), ARROW: (230, 210, 60), PATH: (190, 170, 120),
           FLOWERS: (110, 170, 90)}


# -- pictures ---------------------------------------------------------------------------
def draw_tile(surface: pygame.Surface, rect: pygame.Rect, tile: int) -> None:
    colour = COLOURS.get(tile, (60 + 10 * tile, 60, 120))
    surface.fill(colour, rect)
    t = rect.width
    if tile == HALF:          # only the left half is solid: drawn darker
        surface.fill((100, 70, 40), (rect.x, rect.y, t // 2, t))
    elif tile == PILLAR:
        pygame.draw.ellipse(surface, (90, 90, 90), rect.inflate(-t // 4, -t // 4))
    elif tile == SLOPE:
        pygame.draw.polygon(surface, (100, 80, 50),
                            [(rect.left, rect.bottom - 1), (rect.right - 1, rect.bottom - 1),
                             (rect.right - 1, rect.top)])
    elif tile == ARROW:       # points right and up: any flip or turn shows
        mid = rect.centery
        pygame.draw.polygon(surface, (40, 40, 40),
                            [(rect.left + 2, mid), (rect.right - 3, mid), (rect.right - 3, rect.top + 2)])
        surface.fill((220, 40, 40), (rect.left, rect.top, max(2, t // 6), max(2, t // 6)))
    elif tile in (WALL, ROCK, ROOF):
        pygame.draw.rect(surface, tuple(c // 2 for c in colour), rect, max(1, t // 12))


def tileset_image(path: Path, tile: int, margin: int = 0, spacing: int = 0) -> tuple[int, int]:
    rows = TILE_COUNT // COLUMNS
    width = 2 * margin + COLUMNS * tile + (COLUMNS - 1) * spacing
    height = 2 * margin + rows * tile + (rows - 1) * spacing
    surface = pygame.Surface((width, height))
    surface.fill((255, 0, 255))   # margins and spacing: never drawn
    for index in range(TILE_COUNT):
        x = margin + (index % COLUMNS) * (tile + spacing)
        y = margin + (index // COLUMNS) * (tile + spacing)
        draw_tile(surface, pygame.Rect(x, y, tile, tile), index)
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(path))
    return width, height


def single_image(path: Path, width: int, height: int, tile: int) -> None:
    surface = pygame.Surface((width, height), pygame.SRCALPHA)
    draw_tile(surface, pygame.Rect(0, 0, width, height), tile)
    path.parent.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(path))


# -- Tiled JSON pieces ------------------------------------------------------------------
def props(**values) -> list[dict]:
    kinds = {bool: "bool", int: "int", float: "float", str: "string"}
    return [{"name": k, "type": kinds[type(v)], "value": v} for k, v in values.items()]


def rect(oid: int, x: float, y: float, w: float, h: float, name: str = "", kind: str = "",
         **extra) -> dict:
    obj = {"id": oid, "name": name, "type": kind, "x": x, "y": y, "width": w, "height": h,
           "rotation": 0, "visible": True}
    obj.update(extra)
    return obj


def point(oid: int, x: float, y: float, name: str = "", kind: str = "", **extra) -> dict:
    return rect(oid, x, y, 0, 0, name, kind, point=True, **extra)


def polygon(oid: int, x: float, y: float, points: list[tuple[float, float]], name: str = "",
            kind: str = "", **extra) -> dict:
    return rect(oid, x, y, 0, 0, name, kind, polygon=[{"x": px, "y": py} for px, py in points],
                **extra)


def ellipse(oid: int, x: float, y: float, w: float, h: float, **extra) -> dict:
    return rect(oid, x, y, w, h, ellipse=True, **extra)


def tile_layer(lid: int, name: str, cells: list[int], w: int, h: int, **extra) -> dict:
    layer = {"type": "tilelayer", "id": lid, "name": name, "width": w, "height": h, "x": 0, "y": 0,
             "opacity": 1, "visible": True, "data": cells}
    layer.update(extra)
    return layer


def object_layer(lid: int, name: str, objects: list[dict], **extra) -> dict:
    layer = {"type": "objectgroup", "id": lid, "name": name, "draworder": "topdown",
             "objects": objects, "opacity": 1, "visible": True, "x": 0, "y": 0}
    layer.update(extra)
    return layer


def group(lid: int, name: str, layers: list[dict], **extra) -> dict:
    layer = {"type": "group", "id": lid, "name": name, "layers": layers, "opacity": 1,
             "visible": True, "x": 0, "y": 0}
    layer.update(extra)
    return layer


def tileset(name: str, tile: int, image: str, image_size: tuple[int, int], margin: int = 0,
            spacing: int = 0, tiles: list[dict] | None = None) -> dict:
    return {"name": name, "tilewidth": tile, "tileheight": tile, "tilecount": TILE_COUNT,
            "columns": COLUMNS, "image": image, "imagewidth": image_size[0],
            "imageheight": image_size[1], "margin": margin, "spacing": spacing,
            "tiles": tiles or []}


def tiled_map(w: int, h: int, tile: int, layers: list[dict], tilesets: list[dict],
              **extra) -> dict:
    doc = {"type": "map", "version": "1.10", "tiledversion": "1.10.2", "orientation": "orthogonal",
           "renderorder": "right-down", "width": w, "height": h, "tilewidth": tile,
           "tileheight": tile, "infinite": False, "compressionlevel": -1,
           "nextlayerid": 100, "nextobjectid": 100, "layers": layers, "tilesets": tilesets}
    doc.update(extra)
    return doc


def standard_tiles(tile: int, *, shapes: bool = False, key: str = "blocked") -> list[dict]:
    """The per-tile data of the generated tilesets: what blocks, what animates."""
    tiles = [{"id": WALL, "properties": props(**{key: True})},
             {"id": ROCK, "properties": props(collides=True)},
             {"id": WATER, "animation": [{"tileid": WATER, "duration": 300},
                                         {"tileid": WATER2, "duration": 300}]}]
    if shapes:
        t = tile
        tiles += [
            {"id": HALF, "objectgroup": object_layer(0, "", [rect(1, 0, 0, t / 2, t)],
                                                     draworder="index")},
            {"id": PILLAR, "objectgroup": object_layer(0, "", [ellipse(1, t / 8, t / 8, 3 * t / 4,
                                                                       3 * t / 4)],
                                                       draworder="index")},
            {"id": SLOPE, "objectgroup": object_layer(
                0, "", [polygon(1, 0, t, [(0, 0), (t, 0), (t, -t)])], draworder="index")},
        ]
    return sorted(tiles, key=lambda d: d["id"])


# -- grids ------------------------------------------------------------------------------
class Grid:
    def __init__(self, w: int, h: int, fill: int = 0):
        self.w, self.h = w, h
        self.cells = [fill] * (w * h)

    def set(self, x: int, y: int, gid: int) -> None:
        self.cells[y * self.w + x] = gid

    def box(self, x0: int, y0: int, x1: int, y1: int, gid: int) -> None:
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.set(x, y, gid)

    def border(self, gid: int) -> None:
        for x in range(self.w):
            self.set(x, 0, gid)
            self.set(x, self.h - 1, gid)
        for y in range(self.h):
            self.set(0, y, gid)
            self.set(self.w - 1, y, gid)


def ground(w: int, h: int, first: int) -> list[int]:
    g = Grid(w, h, first + FLOOR)
    for y in range(h):
        for x in range(w):
            if (x * 7 + y * 3) % 11 == 0:
                g.set(x, y, first + FLOWERS)
        g.set(w // 2, y, first + PATH)
    return g.cells


# -- TMX (XML) output -------------------------------------------------------------------
def _attrs(pairs: dict) -> str:
    out = []
    for key, value in pairs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out.append(f"{key}={quoteattr(str(value))}")
    return " ".join(out)


def _props_xml(items: list[dict] | None, pad: str) -> list[str]:
    if not items:
        return []
    lines = [f"{pad}<properties>"]
    for p in items:
        value = str(p["value"]).lower() if p["type"] == "bool" else p["value"]
        kind = None if p["type"] == "string" else p["type"]
        lines.append(f"{pad} <property {_attrs({'name': p['name'], 'type': kind, 'value': value})}/>")
    lines.append(f"{pad}</properties>")
    return lines


def _object_xml(obj: dict, pad: str) -> list[str]:
    head = {"id": obj["id"], "name": obj["name"] or None, "type": obj.get("type") or None,
            "x": obj["x"], "y": obj["y"]}
    if obj.get("class"):
        head["type"] = obj["class"]
    if obj.get("width") or obj.get("height"):
        head.update(width=obj["width"], height=obj["height"])
    if obj.get("gid"):
        head["gid"] = obj["gid"]
    inner = _props_xml(obj.get("properties"), pad + " ")
    if obj.get("point"):
        inner.append(f"{pad} <point/>")
    if obj.get("ellipse"):
        inner.append(f"{pad} <ellipse/>")
    if obj.get("polygon"):
        pts = " ".join(f"{_num(p['x'])},{_num(p['y'])}" for p in obj["polygon"])
        inner.append(f"{pad} <polygon points={quoteattr(pts)}/>")
    if not inner:
        return [f"{pad}<object {_attrs(head)}/>"]
    return [f"{pad}<object {_attrs(head)}>", *inner, f"{pad}</object>"]


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _layer_xml(layer: dict, pad: str, encoding: str) -> list[str]:
    common = {"id": layer["id"], "name": layer["name"], "class": layer.get("class"),
              "opacity": layer["opacity"] if layer["opacity"] != 1 else None,
              "offsetx": layer.get("offsetx"), "offsety": layer.get("offsety")}
    if layer["type"] == "tilelayer":
        head = {**common, "width": layer["width"], "height": layer["height"]}
        lines = [f"{pad}<layer {_attrs(head)}>", *_props_xml(layer.get("properties"), pad + " ")]
        data = layer["data"]
        if encoding == "csv":
            rows = [",".join(str(v) for v in data[i:i + layer["width"]])
                    for i in range(0, len(data), layer["width"])]
            lines += [f'{pad} <data encoding="csv">', ",\n".join(rows), f"{pad} </data>"]
        else:
            raw = b"".join(int(v).to_bytes(4, "little") for v in data)
            text = base64.b64encode(zlib.compress(raw, 9)).decode()
            lines += [f'{pad} <data encoding="base64" compression="zlib">', f"{pad}  {text}",
                      f"{pad} </data>"]
        return [*lines, f"{pad}</layer>"]
    if layer["type"] == "objectgroup":
        lines = [f"{pad}<objectgroup {_attrs(common)}>",
                 *_props_xml(layer.get("properties"), pad + " ")]
        for obj in layer["objects"]:
            lines += _object_xml(obj, pad + " ")
        return [*lines, f"{pad}</objectgroup>"]
    lines = [f"{pad}<group {_attrs(common)}>", *_props_xml(layer.get("properties"), pad + " ")]
    for child in layer["layers"]:
        lines += _layer_xml(child, pad + " ", encoding)
    return [*lines, f"{pad}</group>"]


def _tileset_xml(ts: dict, pad: str, head_extra: dict) -> list[str]:
    head = {**head_extra, "name": ts["name"], "tilewidth": ts["tilewidth"],
            "tileheight": ts["tileheight"], "spacing": ts.get("spacing") or None,
            "margin": ts.get("margin") or None, "tilecount": ts["tilecount"],
            "columns": ts["columns"]}
    lines = [f"{pad}<tileset {_attrs(head)}>"]
    if ts.get("image"):
        lines.append(f"{pad} <image {_attrs({'source': ts['image'], 'width': ts['imagewidth'], 'height': ts['imageheight']})}/>")
    for tile in ts.get("tiles", []):
        lines.append(f"{pad} <tile id=\"{tile['id']}\">")
        lines += _props_xml(tile.get("properties"), pad + "  ")
        if tile.get("image"):
            lines.append(f"{pad}  <image {_attrs({'source': tile['image'], 'width': tile['imagewidth'], 'height': tile['imageheight']})}/>")
        if tile.get("objectgroup"):
            lines.append(f'{pad}  <objectgroup draworder="index">')
            for obj in tile["objectgroup"]["objects"]:
                lines += _object_xml(obj, pad + "   ")
            lines.append(f"{pad}  </objectgroup>")
        if tile.get("animation"):
            lines.append(f"{pad}  <animation>")
            lines += [f"{pad}   <frame tileid=\"{f['tileid']}\" duration=\"{f['duration']}\"/>"
                      for f in tile["animation"]]
            lines.append(f"{pad}  </animation>")
        lines.append(f"{pad} </tile>")
    return [*lines, f"{pad}</tileset>"]


def to_tmx(doc: dict, encoding: str = "csv") -> str:
    head = {"version": "1.10", "tiledversion": "1.10.2", "orientation": doc["orientation"],
            "renderorder": "right-down", "width": doc["width"], "height": doc["height"],
            "tilewidth": doc["tilewidth"], "tileheight": doc["tileheight"],
            "infinite": int(doc["infinite"]), "nextlayerid": doc["nextlayerid"],
            "nextobjectid": doc["nextobjectid"]}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<map {_attrs(head)}>"]
    lines += _props_xml(doc.get("properties"), " ")
    for ts in doc["tilesets"]:
        if "source" in ts:
            lines.append(f" <tileset {_attrs({'firstgid': ts['firstgid'], 'source': ts['source']})}/>")
        else:
            lines += _tileset_xml(ts, " ", {"firstgid": ts["firstgid"]})
    for layer in doc["layers"]:
        lines += _layer_xml(layer, " ", encoding)
    return "\n".join([*lines, "</map>"]) + "\n"


def to_tsx(ts: dict) -> str:
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>',
                      *_tileset_xml(ts, "", {"version": "1.10", "tiledversion": "1.10.2"})]) + "\n"


def write(name: str, text: str) -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_json(name: str, doc: dict) -> None:
    write(name, json.dumps(doc, indent=1) + "\n")


# -- the maps ---------------------------------------------------------------------------
def town16() -> None:
    t, w, h = 16, 24, 16
    size = tileset_image(OUT / "img" / "tiles16.png", t)
    ts = tileset("tiles16", t, "img/tiles16.png", size, tiles=standard_tiles(t))
    write("tiles16.tsx", to_tsx(ts))
    walls = Grid(w, h)
    walls.border(1 + WALL)
    walls.box(6, 3, 6, 9, 1 + WALL)          # a wall west of the spawn
    walls.box(16, 4, 18, 5, 1 + ROCK)        # rocks (collides)
    deco = Grid(w, h)
    # the same arrow tile in all eight flips and turns, along row 12
    for i, flags in enumerate((0, FLIP_H, FLIP_V, FLIP_H | FLIP_V, FLIP_D, FLIP_D | FLIP_H,
                               FLIP_D | FLIP_V, FLIP_D | FLIP_H | FLIP_V)):
        deco.set(3 + 2 * i, 12, (1 + ARROW) | flags)
    shade = Grid(w, h)
    shade.box(9, 9, 13, 11, 1 + WATER)
    roof = Grid(w, h)
    roof.box(2, 2, 5, 4, 1 + ROOF)
    doc = tiled_map(w, h, t, [
        tile_layer(1, "Ground", ground(w, h, 1), w, h),
        tile_layer(2, "Walls", walls.cells, w, h),
        tile_layer(3, "Decoration", deco.cells, w, h),
        tile_layer(4, "Shade", shade.cells, w, h, opacity=0.5),
        object_layer(5, "Places", [point(1, 12 * t, 7 * t + 8, name="spawn")]),
        tile_layer(6, "Roof", roof.cells, w, h),
    ], [{"firstgid": 1, "source": "tiles16.tsx"}])
    write("town16.tmx", to_tmx(doc, "csv"))


def town24() -> None:
    t, w, h = 24, 20, 14
    size = tileset_image(OUT / "img" / "tiles24.png", t, margin=2, spacing=1)
    ts = tileset("tiles24", t, "img/tiles24.png", size, margin=2, spacing=1,
                 tiles=standard_tiles(t))
    write_json("tiles24.tsj", {**ts, "type": "tileset", "version": "1.10",
                               "tiledversion": "1.10.2"})
    water = Grid(w, h)
    water.box(2, 9, 6, 11, 1 + WATER)
    water.box(3, 2, 4, 3, 1 + WALL)
    canopy = Grid(w, h)
    canopy.box(13, 2, 17, 4, 1 + ROOF)
    doc = tiled_map(w, h, t, [
        group(1, "Floor", [tile_layer(2, "ground", ground(w, h, 1), w, h),
                           tile_layer(3, "water", water.cells, w, h)],
              opacity=0.8, offsetx=0, offsety=0),
        object_layer(4, "Collisions", [
            rect(1, 8 * t, 3 * t, t, 6 * t),                         # a fence, west of the start
            polygon(2, 14 * t, 8 * t, [(0, 0), (2 * t, 0), (t, 2 * t)]),
        ]),
        object_layer(5, "markers", [point(3, 10 * t + 12, 6 * t + 12, name="Start here",
                                          kind="start")]),
        group(6, "High", [tile_layer(7, "canopy", canopy.cells, w, h,
                                     properties=props(above=True), opacity=0.9)],
              opacity=0.9, offsetx=2, offsety=-2),
    ], [{"firstgid": 1, "source": "tiles24.tsj"}])
    write_json("town24.tmj", doc)


def town32() -> None:
    t, w, h = 32, 20, 14
    size = tileset_image(OUT / "img" / "tiles32.png", t)
    ts = tileset("tiles32", t, "img/tiles32.png", size, tiles=standard_tiles(t, shapes=True))
    things = Grid(w, h)
    things.border(1 + WALL)
    things.set(8, 6, 1 + HALF)                    # solid on its left half
    things.set(12, 6, (1 + HALF) | FLIP_H)        # flipped: solid on its right half
    things.set(10, 3, 1 + PILLAR)
    things.set(10, 9, 1 + SLOPE)
    things.set(14, 9, (1 + SLOPE) | FLIP_D | FLIP_H)   # turned a quarter
    doc = tiled_map(w, h, t, [
        tile_layer(1, "ground", ground(w, h, 1), w, h),
        tile_layer(2, "things", things.cells, w, h),
        object_layer(3, "stuff", [
            rect(1, 3 * t, 3 * t, 2 * t, t, name="crate", kind="collision"),
            rect(2, 10 * t, 6 * t, t, t, name="spawn area", kind="spawn"),
            rect(3, 16 * t, 10 * t, t, t, name="door"),
            rect(4, 17 * t, 2 * t, t, 2 * t, name="to town48",
                 properties=props(exit="town48#gate")),
        ]),
        object_layer(4, "fences", [polygon(5, 4 * t, 9 * t, [(0, 0), (2 * t, 0), (2 * t, t)])],
                     **{"class": "walls"}),
    ], [{"firstgid": 1, **ts}])
    write("town32.tmx", to_tmx(doc, "base64"))


def town48() -> None:
    t, w, h = 48, 16, 12
    size = tileset_image(OUT / "img" / "tiles48.png", t)
    ts = tileset("tiles48", t, "img/tiles48.png", size,
                 tiles=standard_tiles(t, key="collides"))
    start = Grid(w, h)
    start.set(7, 6, 1 + PATH)
    gate = Grid(w, h)
    gate.set(3, 8, 1 + PATH)
    collisions = Grid(w, h)
    collisions.border(1 + WALL)
    collisions.box(9, 2, 9, 8, 1 + WALL)
    exit_tiles = Grid(w, h)
    exit_tiles.box(13, 9, 14, 10, 1 + PATH)
    top = Grid(w, h)
    top.box(2, 2, 5, 3, 1 + ROOF)
    doc = tiled_map(w, h, t, [
        tile_layer(1, "start", start.cells, w, h),
        tile_layer(2, "gate", gate.cells, w, h, properties=props(startLayer=True)),
        tile_layer(3, "collisions", collisions.cells, w, h, opacity=0.0),
        tile_layer(4, "floor", ground(w, h, 1), w, h),
        tile_layer(5, "back to town32", exit_tiles.cells, w, h,
                   properties=props(exitUrl="town32.tmx#door")),
        object_layer(6, "floorLayer", [
            rect(1, 1 * t, 9 * t, t, t, name="website",
                 properties=props(exitUrl="https://example.org/other-world.json")),
        ]),
        tile_layer(7, "furniture top", top.cells, w, h),
    ], [{"firstgid": 1, **ts}])
    write_json("town48.tmj", doc)


def collection() -> None:
    t, w, h = 32, 14, 10
    pictures = {0: ("collection/floor.png", 32, 32, FLOOR),
                1: ("collection/wall.png", 32, 32, WALL),
                2: ("collection/tree.png", 32, 64, PILLAR),
                3: ("collection/sign.png", 32, 32, ARROW)}
    tiles = []
    for tid, (name, pw, ph, kind) in pictures.items():
        single_image(OUT / name, pw, ph, kind)
        tile = {"id": tid, "image": name, "imagewidth": pw, "imageheight": ph}
        if kind == WALL:
            tile["properties"] = props(blocked=True)
        if kind == PILLAR:
            tile["objectgroup"] = object_layer(0, "", [rect(1, 8, 40, 16, 24)], draworder="index")
        tiles.append(tile)
    ts = {"name": "things", "tilewidth": 32, "tileheight": 64, "tilecount": 4, "columns": 0,
          "grid": {"orientation": "orthogonal", "width": 1, "height": 1}, "margin": 0,
          "spacing": 0, "tiles": tiles}
    floor = Grid(w, h, 1)
    walls = Grid(w, h)
    walls.border(2)
    trees = Grid(w, h)
    for x, y in ((3, 3), (4, 3), (9, 6)):
        trees.set(x, y, 3)
    trees.set(6, 6, 4 | FLIP_H)
    doc = tiled_map(w, h, t, [
        tile_layer(1, "floor", floor.cells, w, h),
        tile_layer(2, "walls", walls.cells, w, h),
        tile_layer(3, "trees", trees.cells, w, h),
    ], [{"firstgid": 1, **ts}])
    write("collection.tmx", to_tmx(doc, "csv"))


def refused() -> None:
    """Maps the host must refuse, each for one reason."""
    t = 16
    base = tiled_map(4, 4, t, [tile_layer(1, "ground", [1] * 16, 4, 4)],
                     [{"firstgid": 1, "source": "../tiles16.tsx"}])
    write("refused/outside_folder.tmx", to_tmx(base))
    local = [{"firstgid": 1, **tileset("tiles16", t, "../img/tiles16.png", (64, 64))}]
    write("refused/image_outside.tmj", json.dumps({**base, "tilesets": local}, indent=1))
    missing = [{"firstgid": 1, **tileset("tiles16", t, "missing.png", (64, 64))}]
    write("refused/missing_image.tmx", to_tmx({**base, "tilesets": missing}))
    inside = [{"firstgid": 1, **tileset("tiles16", t, "walls16.png", (64, 64))}]
    write("refused/isometric.tmx", to_tmx({**base, "tilesets": inside, "orientation": "isometric"}))
    write("refused/staggered.tmx", to_tmx({**base, "tilesets": inside, "orientation": "staggered"})
          .replace('orientation="staggered"',
                   'orientation="staggered" staggeraxis="y" staggerindex="odd"'))
    write("refused/non_square.tmx", to_tmx({**base, "tilesets": inside, "tileheight": 8}))
    walled = tiled_map(4, 4, t, [tile_layer(1, "ground", [1 + WALL] * 16, 4, 4)],
                       [{"firstgid": 1, "source": "walls16.tsx"}])
    write("refused/walls16.tsx", to_tsx(tileset("tiles16", t, "walls16.png", (64, 64),
                                                 tiles=standard_tiles(t))))
    tileset_image(OUT / "refused" / "walls16.png", t)
    write("refused/all_walls.tmx", to_tmx(walled))
    infinite = {**base, "tilesets": inside, "infinite": True}
    chunk = {"x": 0, "y": 0, "width": 16, "height": 16, "data": [1] * 256}
    infinite["layers"] = [{**tile_layer(1, "ground", [], 16, 16), "chunks": [chunk],
                           "startx": 0, "starty": 0}]
    del infinite["layers"][0]["data"]
    write("refused/infinite.tmj", json.dumps(infinite, indent=1))


def main() -> None:
    for make in (town16, town24, town32, town48, collection, refused):
        make()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files, {total} bytes, in {OUT}")


if __name__ == "__main__":
    main()
