"""Maps for the client's map tests: tiles of known, distinct colours.

``write_feature_map`` writes a small orthogonal Tiled map (16 px tiles) that
uses one of each thing the renderer draws, so a test can name the colour it
expects at a pixel: plain tiles, the pattern tile in all 8 flip combinations,
an animated tile, a tile from an image collection taller than the grid, a
half-transparent layer, an offset layer, a layer above the players, and a wall
(tile property ``blocked``) that the bundled world does not have at that spot.
"""
from __future__ import annotations

from pathlib import Path

import pygame

TS = 16
W, H = 10, 6
RED, GREEN, BLUE, GREY = (200, 30, 30), (30, 200, 30), (30, 30, 200), (120, 120, 120)
# The pattern tile's quadrants: top-left, top-right, bottom-left, bottom-right.
QUAD = ((250, 60, 60), (60, 250, 60), (60, 60, 250), (250, 250, 60))
TALL_TOP, TALL_BOTTOM = (250, 250, 250), (250, 60, 250)
FLIP_H, FLIP_V, FLIP_D = 0x80000000, 0x40000000, 0x20000000
FLAG_SETS = [h | v | d for d in (0, FLIP_D) for v in (0, FLIP_V) for h in (0, FLIP_H)]

# gids: the colours tileset (external .tsx, margin 1, spacing 2) starts at 1.
G_RED, G_GREEN, G_PATTERN, G_ANIM, G_BLUE, G_WALL = 1, 2, 3, 4, 5, 6
G_TALL = 7  # the image collection's one tile
ANIM_MS = (100, 200)  # red for 100 ms, then green for 200 ms
WALL_COLUMN = 7  # tiles (7, 0..5) block: a wall across the whole map
MARGIN, SPACING = 1, 2


def _sheet(path: Path) -> None:
    """The colours tileset image: 6 tiles in one row, with margin and spacing."""
    width = MARGIN * 2 + 6 * TS + 5 * SPACING
    sheet = pygame.Surface((width, TS + 2 * MARGIN), pygame.SRCALPHA)
    sheet.fill((0, 0, 0, 0))
    colours = [RED, GREEN, None, (255, 128, 0), BLUE, GREY]
    for i, colour in enumerate(colours):
        x = MARGIN + i * (TS + SPACING)
        if colour is None:  # the pattern: four quadrants
            half = TS // 2
            for q, (qx, qy) in enumerate(((0, 0), (half, 0), (0, half), (half, half))):
                sheet.fill(QUAD[q], (x + qx, MARGIN + qy, half, half))
        else:
            sheet.fill(colour, (x, MARGIN, TS, TS))
    pygame.image.save(sheet, str(path))


def _tall(path: Path) -> None:
    tall = pygame.Surface((TS, 2 * TS))
    tall.fill(TALL_TOP, (0, 0, TS, TS))
    tall.fill(TALL_BOTTOM, (0, TS, TS, TS))
    pygame.image.save(tall, str(path))


def _csv(cells: list[int]) -> str:
    return ",\n".join(",".join(str(c) for c in cells[r * W:(r + 1) * W]) for r in range(H))


def layers() -> dict[str, list[int]]:
    """The layers' gids by name, row-major, as written to the map."""
    ground = [G_RED] * (W * H)
    for i, flags in enumerate(FLAG_SETS):  # row 0: the pattern, each way
        ground[i] = G_PATTERN | flags
    ground[1 * W + 0] = G_ANIM
    ground[2 * W + 1] = G_TALL  # stands on (1, 2), reaching up into (1, 1)
    for ty in range(1, H):
        ground[ty * W + WALL_COLUMN] = G_WALL
    half = [0] * (W * H)
    half[2 * W + 3] = G_BLUE
    shifted = [0] * (W * H)
    shifted[3 * W + 4] = G_BLUE  # drawn 8 px right, 4 px down
    shifted[4 * W + 8] = G_ANIM  # animated, and across cell (and chunk) edges
    roof = [0] * (W * H)
    roof[2 * W + 5] = G_GREEN
    return {"ground": ground, "half": half, "shifted": shifted, "roof": roof}


def write_feature_map(folder: Path, name: str = "features.tmx") -> Path:
    """Write the map, its external tileset and images into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "art").mkdir(exist_ok=True)
    _sheet(folder / "art" / "colours.png")
    _tall(folder / "art" / "tall.png")
    sheet_w = MARGIN * 2 + 6 * TS + 5 * SPACING
    (folder / "colours.tsx").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<tileset version="1.10" name="colours" tilewidth="{TS}" tileheight="{TS}" spacing="{SPACING}" margin="{MARGIN}" tilecount="6" columns="6">
 <image source="art/colours.png" width="{sheet_w}" height="{TS + 2 * MARGIN}"/>
 <tile id="3">
  <animation>
   <frame tileid="0" duration="{ANIM_MS[0]}"/>
   <frame tileid="1" duration="{ANIM_MS[1]}"/>
  </animation>
 </tile>
 <tile id="5">
  <properties>
   <property name="blocked" type="bool" value="true"/>
  </properties>
 </tile>
</tileset>
""")
    ls = layers()
    spawn = (2.5 * TS, 4.5 * TS)
    path = folder / name
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<map version="1.10" orientation="orthogonal" renderorder="right-down" width="{W}" height="{H}" tilewidth="{TS}" tileheight="{TS}" infinite="0" nextlayerid="6" nextobjectid="2">
 <tileset firstgid="1" source="colours.tsx"/>
 <tileset firstgid="{G_TALL}" name="things" tilewidth="{TS}" tileheight="{2 * TS}" tilecount="1" columns="0">
  <grid orientation="orthogonal" width="1" height="1"/>
  <tile id="0">
   <image source="art/tall.png" width="{TS}" height="{2 * TS}"/>
  </tile>
 </tileset>
 <layer id="1" name="ground" width="{W}" height="{H}">
  <data encoding="csv">
{_csv(ls["ground"])}
</data>
 </layer>
 <layer id="2" name="half" width="{W}" height="{H}" opacity="0.5">
  <data encoding="csv">
{_csv(ls["half"])}
</data>
 </layer>
 <layer id="3" name="shifted" width="{W}" height="{H}" offsetx="8" offsety="4">
  <data encoding="csv">
{_csv(ls["shifted"])}
</data>
 </layer>
 <layer id="4" name="roof" width="{W}" height="{H}">
  <data encoding="csv">
{_csv(ls["roof"])}
</data>
 </layer>
 <objectgroup id="5" name="objects">
  <object id="1" name="spawn" x="{spawn[0]:g}" y="{spawn[1]:g}"/>
 </objectgroup>
</map>
""")
    return path


def flipped_point(flags: int, x: int, y: int, size: int = TS) -> tuple[int, int]:
    """Where Tiled draws a tile's pixel (x, y) with the flip bits ``flags``:
    transposed first (diagonal), then mirrored horizontally, then vertically."""
    if flags & FLIP_D:
        x, y = y, x
    if flags & FLIP_H:
        x = size - 1 - x
    if flags & FLIP_V:
        y = size - 1 - y
    return x, y


class TinyServer:
    """A local HTTP server answering fixed paths with fixed bytes (a host
    that misbehaves: wrong bundle, no length, an error), counting requests."""

    def __init__(self, routes: dict[str, tuple[int, bytes, dict]]):
        import http.server
        import threading

        self.routes = routes
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                status, body, headers = outer.routes.get(self.path, (404, b"{}", {}))
                self.send_response(status)
                chunked = headers.get("Transfer-Encoding") == "chunked"
                for key, value in headers.items():
                    self.send_header(key, value)
                if not chunked and "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.close_connection = "Content-Length" in headers  # a body cut short
                self.end_headers()
                if chunked:
                    for i in range(0, len(body), 4096):
                        piece = body[i:i + 4096]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "TinyServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def describe(data: bytes, file: str = "features.tmx", name: str = "features",
             digest: str | None = None) -> dict:
    """A map description as a host puts it on the wire (docs/protocol.md)."""
    import hashlib

    digest = digest or hashlib.sha256(data).hexdigest()
    return {"name": name, "file": file, "hash": digest, "size": len(data),
            "url": f"/api/maps/{digest}.zip"}
