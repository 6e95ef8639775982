"""(No tests here: a helper the test_map_core* files share.)

Write small Tiled maps, the same map in both of Tiled's formats (TMX and
JSON), for the map core's tests.

A map is described once as plain data (see ``tileset``, ``tile_layer``,
``object_layer``, ``group``, ``obj``) and written with ``write_map(folder,
name, spec, fmt)``, where ``fmt`` is "tmx" or "json".  External tilesets
are written beside the map (.tsx for a TMX map, .tsj for a JSON one) and so
are templates (.tx / .tj).  Images are real little PNG files.
"""
from __future__ import annotations

import base64
import gzip
import json
import struct
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

FORMATS = ("tmx", "json")


# -- describing a map ---------------------------------------------------------------
def tileset(name="tiles", tile=32, columns=4, count=8, image="tiles.png", margin=0, spacing=0,
            tiles=None, external=None, firstgid=1, tilewidth=None, tileheight=None):
    """A tileset; ``image=None`` makes an image collection (each tile's
    ``image`` then names its picture); ``external`` is a file stem."""
    tw, th = tilewidth or tile, tileheight or tile
    rows = (count + columns - 1) // max(1, columns)
    return {"name": name, "tw": tw, "th": th, "columns": columns, "count": count, "image": image,
            "imagewidth": 2 * margin + columns * tw + (columns - 1) * spacing,
            "imageheight": 2 * margin + rows * th + (rows - 1) * spacing,
            "margin": margin, "spacing": spacing, "tiles": tiles or {}, "external": external,
            "firstgid": firstgid}


def tile_layer(name, data, opacity=1.0, visible=True, offset=None, props=None,
               encoding="csv", compression="", cls=None):
    return {"kind": "tile", "name": name, "data": list(data), "opacity": opacity,
            "visible": visible, "offset": offset, "props": props or {},
            "encoding": encoding, "compression": compression, "class": cls}


def object_layer(name, objects, cls=None, visible=True, offset=None, props=None):
    return {"kind": "objects", "name": name, "objects": objects, "class": cls,
            "visible": visible, "offset": offset, "props": props or {}, "opacity": 1.0}


def group(name, layers, opacity=1.0, visible=True, offset=None, props=None):
    return {"kind": "group", "name": name, "layers": layers, "opacity": opacity,
            "visible": visible, "offset": offset, "props": props or {}}


def obj(shape="rect", x=0.0, y=0.0, w=0.0, h=0.0, name="", cls="", points=None, props=None,
        rotation=0.0, template=None, oid=None):
    """``shape``: rect, point, ellipse, polygon, polyline (``points`` relative
    to x, y).  ``template`` names a template (a dict from ``template()``)."""
    return {"shape": shape, "x": x, "y": y, "w": w, "h": h, "name": name, "class": cls,
            "points": points or [], "props": props or {}, "rotation": rotation,
            "template": template, "id": oid}


def template(stem, base):
    """A template file ``stem`` (.tx or .tj) holding the object ``base``."""
    return {"stem": stem, "object": base}


def the_map(width, height, tile=32, tilesets=(), layers=(), orientation="orthogonal",
            infinite=False, tileheight=None, props=None):
    return {"width": width, "height": height, "tw": tile, "th": tileheight or tile,
            "tilesets": list(tilesets), "layers": list(layers), "orientation": orientation,
            "infinite": infinite, "props": props or {}}


# -- images -------------------------------------------------------------------------
def write_png(path: Path, width: int, height: int, rgb=(90, 160, 90)) -> Path:
    """A plain-colour PNG written with zlib (no pygame needed)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw)
                     + chunk(b"IEND", b""))
    return path


# -- TMX ------------------------------------------------------------------------------
def _tmx_props(props: dict, indent: str) -> str:
    if not props:
        return ""
    lines = [f"{indent}<properties>"]
    for key, value in props.items():
        if isinstance(value, bool):
            lines.append(f'{indent} <property name={quoteattr(key)} type="bool" '
                         f'value="{"true" if value else "false"}"/>')
        elif isinstance(value, int):
            lines.append(f'{indent} <property name={quoteattr(key)} type="int" value="{value}"/>')
        else:
            lines.append(f'{indent} <property name={quoteattr(key)} value={quoteattr(str(value))}/>')
    lines.append(f"{indent}</properties>")
    return "\n".join(lines) + "\n"


def _tmx_object(o: dict, next_id: list[int], folder: Path, fmt_ext: str) -> str:
    next_id[0] += 1
    oid = o["id"] or next_id[0]
    attrs = [f'id="{oid}"']
    if o["template"]:
        _write_template(folder, o["template"], "tmx")
        attrs.append(f'template="{o["template"]["stem"]}.tx"')
    if o["name"]:
        attrs.append(f"name={quoteattr(o['name'])}")
    if o["class"]:
        attrs.append(f"type={quoteattr(o['class'])}")
    attrs.append(f'x="{o["x"]}" y="{o["y"]}"')
    if o["shape"] in ("rect", "ellipse") and (o["w"] or o["h"]):
        attrs.append(f'width="{o["w"]}" height="{o["h"]}"')
    if o["rotation"]:
        attrs.append(f'rotation="{o["rotation"]}"')
    inner = _tmx_props(o["props"], "   ")
    if o["shape"] == "point":
        inner += "   <point/>\n"
    elif o["shape"] == "ellipse":
        inner += "   <ellipse/>\n"
    elif o["shape"] in ("polygon", "polyline"):
        pts = " ".join(f"{px},{py}" for px, py in o["points"])
        inner += f'   <{o["shape"]} points="{pts}"/>\n'
    if not inner and o["template"] and o["shape"] == "rect":
        return f'  <object {" ".join(attrs)}/>\n'
    return f'  <object {" ".join(attrs)}>\n{inner}  </object>\n'


def _tmx_tileset_body(ts: dict, folder: Path, indent: str = " ") -> str:
    out = []
    if ts["image"]:
        write_png(folder / ts["image"], ts["imagewidth"], ts["imageheight"])
        out.append(f'{indent} <image source="{ts["image"]}" width="{ts["imagewidth"]}" '
                   f'height="{ts["imageheight"]}"/>')
    for tid, spec in sorted(ts["tiles"].items()):
        out.append(f'{indent} <tile id="{tid}">')
        props = _tmx_props(spec.get("props", {}), indent + "  ")
        if props:
            out.append(props.rstrip("\n"))
        if spec.get("image"):
            src, w, h = spec["image"]
            write_png(folder / src, w, h)
            out.append(f'{indent}  <image source="{src}" width="{w}" height="{h}"/>')
        if spec.get("objects"):
            out.append(f'{indent}  <objectgroup draworder="index">')
            counter = [0]
            for o in spec["objects"]:
                out.append(_tmx_object(o, counter, folder, "tx").rstrip("\n"))
            out.append(f"{indent}  </objectgroup>")
        if spec.get("animation"):
            out.append(f"{indent}  <animation>")
            for tile_id, ms in spec["animation"]:
                out.append(f'{indent}   <frame tileid="{tile_id}" duration="{ms}"/>')
            out.append(f"{indent}  </animation>")
        out.append(f"{indent} </tile>")
    return "\n".join(out) + "\n"


def _tileset_attrs(ts: dict) -> str:
    columns = ts["columns"] if ts["image"] else 0
    extra = ""
    if ts["margin"]:
        extra += f' margin="{ts["margin"]}"'
    if ts["spacing"]:
        extra += f' spacing="{ts["spacing"]}"'
    return (f'name="{ts["name"]}" tilewidth="{ts["tw"]}" tileheight="{ts["th"]}"{extra} '
            f'tilecount="{ts["count"]}" columns="{columns}"')


def _encode(data: list[int], encoding: str, compression: str) -> str:
    if encoding == "csv":
        return ",".join(str(g) for g in data)
    raw = b"".join(struct.pack("<I", g) for g in data)
    if compression == "zlib":
        raw = zlib.compress(raw)
    elif compression == "gzip":
        raw = gzip.compress(raw)
    elif compression == "zstd":
        raw = b"(zstd frames)"
    return base64.b64encode(raw).decode()


def _tmx_layer(layer: dict, width: int, height: int, next_id: list[int], folder: Path) -> str:
    common = f'name={quoteattr(layer["name"])}'
    if layer.get("class"):
        common += f' class={quoteattr(layer["class"])}'
    if not layer["visible"]:
        common += ' visible="0"'
    if layer["opacity"] != 1.0:
        common += f' opacity="{layer["opacity"]}"'
    if layer["offset"]:
        common += f' offsetx="{layer["offset"][0]}" offsety="{layer["offset"][1]}"'
    props = _tmx_props(layer["props"], "  ")
    if layer["kind"] == "tile":
        enc = f'encoding="{layer["encoding"]}"'
        if layer["compression"]:
            enc += f' compression="{layer["compression"]}"'
        body = _encode(layer["data"], layer["encoding"], layer["compression"])
        return (f' <layer {common} width="{width}" height="{height}">\n{props}'
                f'  <data {enc}>\n{body}\n</data>\n </layer>\n')
    if layer["kind"] == "objects":
        objs = "".join(_tmx_object(o, next_id, folder, "tx") for o in layer["objects"])
        return f" <objectgroup {common}>\n{props}{objs} </objectgroup>\n"
    inner = "".join(_tmx_layer(child, width, height, next_id, folder) for child in layer["layers"])
    return f" <group {common}>\n{props}{inner} </group>\n"


def _write_template(folder: Path, tmpl: dict, fmt: str) -> None:
    o = dict(tmpl["object"])
    if fmt == "tmx":
        o.update(x=0, y=0)  # Tiled keeps no position in a template
        body = _tmx_object(o, [0], folder, "tx").replace(' id="1"', "").replace(' x="0" y="0"', "")
        (folder / f'{tmpl["stem"]}.tx').write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<template>\n{body}</template>\n')
    else:
        raw = _json_object(o, [0], folder)
        raw.pop("id")
        raw.pop("x")
        raw.pop("y")
        (folder / f'{tmpl["stem"]}.tj').write_text(json.dumps({"type": "template", "object": raw}))


def to_tmx(folder: Path, name: str, spec: dict) -> Path:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<map version="1.10" tiledversion="1.10.2" orientation="{spec["orientation"]}" '
           f'renderorder="right-down" width="{spec["width"]}" height="{spec["height"]}" '
           f'tilewidth="{spec["tw"]}" tileheight="{spec["th"]}" '
           f'infinite="{1 if spec["infinite"] else 0}" nextlayerid="99" nextobjectid="99">']
    props = _tmx_props(spec["props"], " ")
    if props:
        out.append(props.rstrip("\n"))
    for ts in spec["tilesets"]:
        if ts["external"]:
            ts_path = folder / f'{ts["external"]}.tsx'
            ts_path.parent.mkdir(parents=True, exist_ok=True)
            ts_path.write_text(
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<tileset version="1.10" tiledversion="1.10.2" {_tileset_attrs(ts)}>\n'
                f'{_tmx_tileset_body(ts, ts_path.parent, "")}</tileset>\n')
            out.append(f' <tileset firstgid="{ts["firstgid"]}" source="{ts["external"]}.tsx"/>')
        else:
            out.append(f' <tileset firstgid="{ts["firstgid"]}" {_tileset_attrs(ts)}>')
            out.append(_tmx_tileset_body(ts, folder).rstrip("\n"))
            out.append(" </tileset>")
    counter = [0]
    body = "".join(_tmx_layer(layer, spec["width"], spec["height"], counter, folder)
                   for layer in spec["layers"])
    path = folder / f"{name}.tmx"
    path.write_text("\n".join(out) + "\n" + body + "</map>\n")
    return path


# -- JSON -----------------------------------------------------------------------------
def _json_props(props: dict) -> list[dict]:
    out = []
    for key, value in props.items():
        kind = "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "string"
        out.append({"name": key, "type": kind, "value": value})
    return out


def _json_object(o: dict, next_id: list[int], folder: Path) -> dict:
    next_id[0] += 1
    raw = {"id": o["id"] or next_id[0], "name": o["name"], "type": o["class"], "x": o["x"],
           "y": o["y"], "width": o["w"], "height": o["h"], "rotation": o["rotation"],
           "visible": True}
    if o["template"]:
        _write_template(folder, o["template"], "json")
        raw = {"id": raw["id"], "template": f'{o["template"]["stem"]}.tj', "x": o["x"],
               "y": o["y"]}
        if o["name"]:
            raw["name"] = o["name"]
    if o["props"]:
        raw["properties"] = _json_props(o["props"])
    if o["template"]:
        return raw
    if o["shape"] == "point":
        raw["point"] = True
    elif o["shape"] == "ellipse":
        raw["ellipse"] = True
    elif o["shape"] in ("polygon", "polyline"):
        raw[o["shape"]] = [{"x": px, "y": py} for px, py in o["points"]]
    return raw


def _json_tileset(ts: dict, folder: Path) -> dict:
    raw = {"name": ts["name"], "tilewidth": ts["tw"], "tileheight": ts["th"],
           "tilecount": ts["count"], "columns": ts["columns"] if ts["image"] else 0,
           "margin": ts["margin"], "spacing": ts["spacing"], "type": "tileset",
           "version": "1.10", "tiledversion": "1.10.2"}
    if ts["image"]:
        write_png(folder / ts["image"], ts["imagewidth"], ts["imageheight"])
        raw.update(image=ts["image"], imagewidth=ts["imagewidth"], imageheight=ts["imageheight"])
    tiles = []
    for tid, spec in sorted(ts["tiles"].items()):
        tile = {"id": tid}
        if spec.get("props"):
            tile["properties"] = _json_props(spec["props"])
        if spec.get("image"):
            src, w, h = spec["image"]
            write_png(folder / src, w, h)
            tile.update(image=src, imagewidth=w, imageheight=h)
        if spec.get("objects"):
            counter = [0]
            tile["objectgroup"] = {"type": "objectgroup", "name": "", "draworder": "index",
                                   "opacity": 1, "visible": True, "x": 0, "y": 0,
                                   "objects": [_json_object(o, counter, folder)
                                               for o in spec["objects"]]}
        if spec.get("animation"):
            tile["animation"] = [{"tileid": t, "duration": ms} for t, ms in spec["animation"]]
        tiles.append(tile)
    if tiles:
        raw["tiles"] = tiles
    return raw


def _json_layer(layer: dict, width: int, height: int, next_id: list[int], folder: Path) -> dict:
    raw = {"name": layer["name"], "opacity": layer["opacity"], "visible": layer["visible"],
           "x": 0, "y": 0, "id": next_id[0] + 100}
    if layer.get("class"):
        raw["class"] = layer["class"]
    if layer["offset"]:
        raw["offsetx"], raw["offsety"] = layer["offset"]
    if layer["props"]:
        raw["properties"] = _json_props(layer["props"])
    if layer["kind"] == "tile":
        raw.update(type="tilelayer", width=width, height=height)
        if layer["encoding"] == "csv":
            raw["data"] = layer["data"]
        else:
            raw.update(encoding="base64", compression=layer["compression"],
                       data=_encode(layer["data"], "base64", layer["compression"]))
    elif layer["kind"] == "objects":
        raw.update(type="objectgroup", draworder="topdown",
                   objects=[_json_object(o, next_id, folder) for o in layer["objects"]])
    else:
        raw.update(type="group", layers=[_json_layer(child, width, height, next_id, folder)
                                         for child in layer["layers"]])
    return raw


def to_json(folder: Path, name: str, spec: dict, suffix: str = ".tmj") -> Path:
    tilesets = []
    for ts in spec["tilesets"]:
        if ts["external"]:
            ts_path = folder / f'{ts["external"]}.tsj'
            ts_path.parent.mkdir(parents=True, exist_ok=True)
            raw = _json_tileset(ts, ts_path.parent)
            ts_path.write_text(json.dumps(raw))
            tilesets.append({"firstgid": ts["firstgid"], "source": f'{ts["external"]}.tsj'})
        else:
            raw = _json_tileset(ts, folder)
            raw["firstgid"] = ts["firstgid"]
            tilesets.append(raw)
    counter = [0]
    raw_map = {"type": "map", "version": "1.10", "tiledversion": "1.10.2",
               "orientation": spec["orientation"], "renderorder": "right-down",
               "width": spec["width"], "height": spec["height"], "tilewidth": spec["tw"],
               "tileheight": spec["th"], "infinite": spec["infinite"], "nextlayerid": 99,
               "nextobjectid": 99, "compressionlevel": -1, "tilesets": tilesets,
               "layers": [_json_layer(layer, spec["width"], spec["height"], counter, folder)
                          for layer in spec["layers"]]}
    if spec["props"]:
        raw_map["properties"] = _json_props(spec["props"])
    path = folder / f"{name}{suffix}"
    path.write_text(json.dumps(raw_map, indent=1))
    return path


def write_map(folder: Path, name: str, spec: dict, fmt: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return to_tmx(folder, name, spec) if fmt == "tmx" else to_json(folder, name, spec)
