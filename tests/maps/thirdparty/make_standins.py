"""Draw the stand-in tileset images some third-party maps here point at.

The maps beside this script are other people's, kept as they published them.
A few of their tileset images may not be passed on outside their own project
(see the README in each folder), so each of those is replaced by a picture of
the same size drawn here: one flat colour per tile, with a darker edge, so
tiles stay told apart on screen and in screenshots.

    python tests/maps/thirdparty/make_standins.py
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
import pygame  # noqa: E402

HERE = Path(__file__).resolve().parent

# image path (relative to this folder) -> (width, height, tile size), as the maps declare them
STANDINS = {
    "tiled/rpg/beach_tileset.png": (576, 416, 16),
    "workadventure/tilesets/WA_Special_Zones.png": (192, 64, 32),
    "workadventure/tilesets/WA_Decoration.png": (384, 256, 32),
    "workadventure/tilesets/WA_Miscellaneous.png": (320, 352, 32),
    "workadventure/tilesets/WA_Other_Furniture.png": (384, 416, 32),
    "workadventure/tilesets/WA_Room_Builder.png": (800, 1280, 32),
    "workadventure/tilesets/WA_Seats.png": (416, 448, 32),
    "workadventure/tilesets/WA_Tables.png": (320, 864, 32),
    "workadventure/tilesets/WA_Logo_Long.png": (192, 32, 32),
    "workadventure/tilesets/WA_Exterior.png": (800, 1088, 32),
    "workadventure/tilesets/WA_User_Interface.png": (416, 672, 32),
}


def tile_colour(name: str, index: int) -> tuple[int, int, int]:
    """A stable colour for tile ``index`` of the image ``name``."""
    mixed = zlib.crc32(f"{name}:{index}".encode())
    return 64 + (mixed & 0x7F), 64 + ((mixed >> 8) & 0x7F), 64 + ((mixed >> 16) & 0x7F)


def draw(name: str, width: int, height: int, tile: int) -> pygame.Surface:
    surface = pygame.Surface((width, height))
    columns = width // tile
    for ty in range(height // tile):
        for tx in range(columns):
            colour = tile_colour(name, ty * columns + tx)
            rect = pygame.Rect(tx * tile, ty * tile, tile, tile)
            surface.fill(tuple(c // 2 for c in colour), rect)
            surface.fill(colour, rect.inflate(-2, -2))
    return surface


def main() -> None:
    for name, (width, height, tile) in STANDINS.items():
        path = HERE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(draw(name, width, height, tile), str(path))
        print(f"{name}: {width}x{height}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
