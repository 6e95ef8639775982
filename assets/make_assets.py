"""Generate the game's art and world map.

Writes, into the folder that holds this script:

* ``tiles.png``    - the 32x32 terrain tileset (grass, paths, sand, water,
  bridges, trees, rocks, bushes, flowers, fences, crops, town props and
  building pieces).
* ``world.tmx``    - the Tiled world map (orthogonal, CSV layers) with the
  tileset embedded.  Layers: "ground", "decor" and the object group
  "objects" holding the "spawn" point.  Every tile carries a string
  property ``name``; tiles that stop movement carry ``blocked = true``.
* ``avatars.png``  - player sprite sheet: 8 looks x 4 directions x 4 frames.
* ``avatars.json`` - the layout of ``avatars.png``, and how to colour
  ``avatar_templates.png`` for the looks players choose.
* ``avatar_templates.png`` - every hair style in key colours (same layout as
  ``avatars.png``, one style per four rows), recoloured at run time.

Everything is drawn with pygame primitives from a fixed random seed, so the
output is identical on every run.  Regenerate from the project root with::

    SDL_VIDEODRIVER=dummy python assets/make_assets.py

Add ``--preview DIR`` to also write a scaled-down picture of the whole map,
a full-size crop of the town and an enlarged avatar sheet into DIR.
"""

import argparse
import json
import math
import os
import random
import sys
from collections import deque

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

SEED = 73121
TILE = 32
MAP_W = 100
MAP_H = 75
TILESET_COLUMNS = 16
ASSET_DIR = os.path.dirname(os.path.abspath(__file__))
TILES_FILE = "tiles.png"
MAP_FILE = "world.tmx"
AVATAR_FILE = "avatars.png"
AVATAR_META_FILE = "avatars.json"

# --------------------------------------------------------------------------
# Palette
# --------------------------------------------------------------------------
OUTLINE = (38, 32, 42)
GRASS = (112, 178, 84)
GRASS_DARK = (92, 156, 72)
GRASS_DEEP = (74, 134, 62)
GRASS_LIGHT = (138, 198, 98)
DIRT = (204, 168, 114)
DIRT_DARK = (178, 140, 92)
DIRT_DEEP = (150, 114, 74)
DIRT_LIGHT = (222, 192, 142)
SAND = (236, 220, 166)
SAND_DARK = (218, 196, 138)
SAND_LIGHT = (248, 236, 198)
WATER = (70, 136, 208)
WATER_DARK = (58, 118, 188)
WATER_LIGHT = (112, 172, 228)
WATER_SHALLOW = (96, 162, 220)
FOAM = (222, 240, 250)
BANK = (128, 104, 70)
BANK_DARK = (96, 76, 52)
MORTAR = (124, 118, 112)
STONE = (180, 174, 164)
STONE_LIGHT = (206, 200, 190)
STONE_DARK = (150, 144, 136)
WOOD = (156, 104, 60)
WOOD_DARK = (112, 72, 42)
WOOD_LIGHT = (190, 138, 84)
SOIL = (128, 92, 60)
SOIL_DARK = (100, 70, 46)
SOIL_LIGHT = (150, 112, 76)
LEAF = (56, 126, 60)
LEAF_DARK = (40, 98, 50)
LEAF_LIGHT = (84, 158, 72)
LEAF_SHINE = (122, 188, 92)
PINE = (40, 104, 74)
PINE_DARK = (28, 78, 58)
PINE_LIGHT = (62, 134, 88)
ROCK = (150, 148, 144)
ROCK_DARK = (112, 110, 110)
ROCK_LIGHT = (188, 186, 180)
PLASTER = (236, 224, 194)
PLASTER_DARK = (206, 190, 158)
GLASS = (140, 190, 226)
GLASS_LIGHT = (214, 236, 250)
SHADOW = (20, 30, 20, 70)
ROOF_COLORS = {
    "red": (186, 76, 62),
    "blue": (78, 110, 172),
    "amber": (200, 128, 62),
}

N, E, S, W = 1, 2, 4, 8
NE, SE, SW, NW = 1, 2, 4, 8
DIRS4 = ((0, -1, N), (1, 0, E), (0, 1, S), (-1, 0, W))

# Decor kinds that stop movement.
BLOCKING_DECOR = {
    "tree", "bush", "rock", "stump", "fence", "well", "lamp", "barrel",
    "crate", "sign", "roof", "wall",
}
REMOVABLE_DECOR = {"tree", "bush", "rock", "stump"}

# --------------------------------------------------------------------------
# Small drawing helpers
# --------------------------------------------------------------------------


def shade(color, factor):
    """Scale an RGB colour by factor, clamped to 0..255."""
    return tuple(max(0, min(255, int(round(c * factor)))) for c in color[:3])


def new_surface(w=TILE, h=TILE):
    surf = pygame.Surface((w, h), pygame.SRCALPHA)
    surf.fill((0, 0, 0, 0))
    return surf


def px(surf, x, y, color):
    if 0 <= x < surf.get_width() and 0 <= y < surf.get_height():
        surf.set_at((x, y), color)


def rect(surf, color, x, y, w, h):
    surf.fill(color, pygame.Rect(x, y, w, h))


def disc(surf, color, cx, cy, r):
    """Pixel-exact filled circle (looks crisper than pygame.draw.circle)."""
    for y in range(int(cy - r) - 1, int(cy + r) + 2):
        for x in range(int(cx - r) - 1, int(cx + r) + 2):
            if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r:
                px(surf, x, y, color)


def oval(surf, color, cx, cy, rx, ry):
    for y in range(int(cy - ry) - 1, int(cy + ry) + 2):
        for x in range(int(cx - rx) - 1, int(cx + rx) + 2):
            if ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1.0:
                px(surf, x, y, color)


def shadow_oval(surf, cx, cy, rx, ry, alpha=70):
    oval(surf, (20, 34, 20, alpha), cx, cy, rx, ry)


def speckle(surf, rng, color, count, area=(0, 0, TILE, TILE)):
    x0, y0, w, h = area
    for _ in range(count):
        px(surf, x0 + rng.randrange(w), y0 + rng.randrange(h), color)


def add_outline(surf, color=OUTLINE):
    """Draw a 1px outline around every fully opaque region."""
    w, h = surf.get_size()
    solid = [[surf.get_at((x, y)).a == 255 for x in range(w)] for y in range(h)]
    for y in range(h):
        for x in range(w):
            if solid[y][x]:
                continue
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                nx, ny = x + dx, y + dy
                if 0 <= nx < w and 0 <= ny < h and solid[ny][nx]:
                    surf.set_at((x, y), color)
                    break


def wave(i, amp, phase, base):
    """Tile-periodic wavy depth used for soft material edges."""
    t = 2 * math.pi * i / 16.0
    return base + int(round(amp * math.sin(t + phase) + 0.6 * amp * math.sin(2 * t + 1.7 + phase)))


# --------------------------------------------------------------------------
# Base textures (each drawn once, then reused by every variant)
# --------------------------------------------------------------------------


def tex_grass(variant):
    rng = random.Random(SEED * 7 + variant)
    s = new_surface()
    s.fill(GRASS)
    for _ in range(14):
        x, y = rng.randrange(TILE), rng.randrange(TILE)
        rect(s, GRASS_DARK, x, y, 2, 1)
    speckle(s, rng, GRASS_DARK, 30)
    speckle(s, rng, GRASS_LIGHT, 18)
    blades = (7, 12, 5)[variant]
    for _ in range(blades):
        x, y = rng.randrange(2, TILE - 2), rng.randrange(3, TILE - 1)
        px(s, x, y, GRASS_DEEP)
        px(s, x - 1, y - 1, GRASS_DEEP)
        px(s, x + 1, y - 1, GRASS_DEEP)
        px(s, x, y - 1, GRASS_DARK)
        px(s, x - 1, y - 2, GRASS_LIGHT)
    if variant == 2:
        for _ in range(3):
            x, y = rng.randrange(3, TILE - 3), rng.randrange(3, TILE - 3)
            for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
                px(s, x + dx, y + dy, (150, 206, 108))
            px(s, x, y, (176, 222, 128))
        for _ in range(2):
            x, y = rng.randrange(3, TILE - 3), rng.randrange(3, TILE - 3)
            px(s, x, y, (168, 164, 150))
            px(s, x + 1, y, (140, 136, 126))
    return s


def tex_dirt():
    rng = random.Random(SEED * 11)
    s = new_surface()
    s.fill(DIRT)
    for _ in range(10):
        x, y = rng.randrange(TILE), rng.randrange(TILE)
        rect(s, DIRT_LIGHT, x, y, 2, 1)
    speckle(s, rng, DIRT_DARK, 36)
    speckle(s, rng, DIRT_LIGHT, 20)
    for _ in range(5):
        x, y = rng.randrange(1, TILE - 2), rng.randrange(1, TILE - 2)
        px(s, x, y, (176, 166, 150))
        px(s, x + 1, y, (196, 186, 170))
        px(s, x, y + 1, DIRT_DEEP)
        px(s, x + 1, y + 1, DIRT_DEEP)
    return s


def tex_sand():
    rng = random.Random(SEED * 13)
    s = new_surface()
    s.fill(SAND)
    speckle(s, rng, SAND_DARK, 40)
    speckle(s, rng, SAND_LIGHT, 30)
    for _ in range(3):
        x, y = rng.randrange(2, TILE - 6), rng.randrange(2, TILE - 2)
        rect(s, SAND_DARK, x, y, 4, 1)
        rect(s, SAND_LIGHT, x + 1, y - 1, 3, 1)
    return s


def tex_cobble():
    rng = random.Random(SEED * 17)
    s = new_surface()
    s.fill(MORTAR)
    for row in range(4):
        offset = 4 if row % 2 else 0
        jit = [rng.uniform(0.9, 1.08) for _ in range(4)]
        for k in range(5):
            x0 = offset + 8 * k - 8 if offset else 8 * k
            y0 = row * 8
            col = shade(STONE, jit[k % 4])
            light = shade(STONE_LIGHT, jit[k % 4])
            dark = shade(STONE_DARK, jit[k % 4])
            rect(s, col, x0 + 1, y0 + 1, 7, 6)
            rect(s, light, x0 + 2, y0 + 1, 5, 1)
            rect(s, light, x0 + 1, y0 + 2, 1, 4)
            rect(s, dark, x0 + 2, y0 + 6, 6, 1)
            rect(s, dark, x0 + 7, y0 + 2, 1, 4)
            px(s, x0 + 1, y0 + 1, MORTAR)
            px(s, x0 + 7, y0 + 6, MORTAR)
    speckle(s, rng, STONE_DARK, 12)
    return s


def tex_water():
    rng = random.Random(SEED * 19)
    s = new_surface()
    s.fill(WATER)
    for _ in range(6):
        x, y = rng.randrange(TILE), rng.randrange(TILE)
        rect(s, WATER_DARK, x, y, rng.randrange(4, 9), 1)
    for _ in range(5):
        x, y = rng.randrange(2, TILE - 7), rng.randrange(2, TILE - 3)
        rect(s, WATER_LIGHT, x, y, 4, 1)
        px(s, x - 1, y + 1, WATER_LIGHT)
        px(s, x + 4, y + 1, WATER_LIGHT)
    speckle(s, rng, WATER_DARK, 10)
    return s


def tex_bank():
    rng = random.Random(SEED * 23)
    s = new_surface()
    s.fill(BANK)
    speckle(s, rng, shade(BANK, 1.15), 40)
    speckle(s, rng, BANK_DARK, 30)
    return s


def tex_farmland():
    rng = random.Random(SEED * 29)
    s = new_surface()
    s.fill(SOIL)
    for y in range(0, TILE, 8):
        rect(s, SOIL_DARK, 0, y + 5, TILE, 2)
        rect(s, SOIL_LIGHT, 0, y + 1, TILE, 1)
    speckle(s, rng, SOIL_DARK, 20)
    speckle(s, rng, SOIL_LIGHT, 14)
    return s


_TEX_CACHE = {}


def texture(name):
    if name not in _TEX_CACHE:
        makers = {
            "grass0": lambda: tex_grass(0),
            "grass1": lambda: tex_grass(1),
            "grass2": lambda: tex_grass(2),
            "dirt": tex_dirt,
            "sand": tex_sand,
            "cobble": tex_cobble,
            "water": tex_water,
            "bank": tex_bank,
            "farmland": tex_farmland,
        }
        _TEX_CACHE[name] = makers[name]()
    return _TEX_CACHE[name]


# --------------------------------------------------------------------------
# Edge blending (autotiles)
# --------------------------------------------------------------------------


def edge_mask(edges, corners, depth, corner_r):
    """Boolean 32x32 mask of the pixels covered by the neighbouring material."""
    m = [[False] * TILE for _ in range(TILE)]
    for i in range(TILE):
        for side, phase in ((N, 0.0), (S, 2.1), (W, 4.2), (E, 1.1)):
            if not edges & side:
                continue
            d = depth(i, phase)
            for j in range(d):
                if side == N:
                    m[j][i] = True
                elif side == S:
                    m[TILE - 1 - j][i] = True
                elif side == W:
                    m[i][j] = True
                else:
                    m[i][TILE - 1 - j] = True
    corner_pts = {NE: (TILE, 0), SE: (TILE, TILE), SW: (0, TILE), NW: (0, 0)}
    for bit, (cx, cy) in corner_pts.items():
        if corners & bit:
            for y in range(TILE):
                for x in range(TILE):
                    if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= corner_r ** 2:
                        m[y][x] = True
    return m


def _distance(mask, inside):
    """4-neighbour distance of each pixel to the other side of the mask."""
    INF = 99
    dist = [[INF] * TILE for _ in range(TILE)]
    q = deque()
    for y in range(TILE):
        for x in range(TILE):
            if mask[y][x] != inside:
                dist[y][x] = 0
                q.append((x, y))
    while q:
        x, y = q.popleft()
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nx, ny = x + dx, y + dy
            if 0 <= nx < TILE and 0 <= ny < TILE and dist[ny][nx] > dist[y][x] + 1:
                dist[ny][nx] = dist[y][x] + 1
                q.append((nx, ny))
    return dist


def blend(base, over, mask, over_rings, base_rings):
    """Paint `over` where mask is set, with coloured rings on both sides."""
    out = base.copy()
    d_in = _distance(mask, True)
    d_out = _distance(mask, False)
    for y in range(TILE):
        for x in range(TILE):
            if mask[y][x]:
                d = d_in[y][x]
                if 1 <= d <= len(over_rings):
                    out.set_at((x, y), over_rings[d - 1])
                else:
                    out.set_at((x, y), over.get_at((x, y)))
            else:
                d = d_out[y][x]
                if 1 <= d <= len(base_rings):
                    out.set_at((x, y), base_rings[d - 1])
    return out


def fringe_depth(i, phase):
    return max(1, wave(i, 1.2, phase, 3))


def bank_depth(i, phase):
    return max(1, wave(i, 0.8, phase, 2))


def tile_blended(material, edges, corners):
    base_tex = {"path": "dirt", "sand": "sand", "cobble": "cobble", "water": "water"}[material]
    base = texture(base_tex)
    if not edges and not corners:
        return base.copy()
    if material == "water":
        mask = edge_mask(edges, corners, bank_depth, 3.2)
        return blend(base, texture("bank"), mask, [BANK_DARK],
                     [FOAM, WATER_LIGHT, WATER_SHALLOW, WATER_SHALLOW])
    mask = edge_mask(edges, corners, fringe_depth, 4.2)
    shadow = {"path": DIRT_DEEP, "sand": SAND_DARK, "cobble": shade(MORTAR, 0.85)}[material]
    return blend(base, texture("grass0"), mask, [GRASS_DARK], [shadow])


# --------------------------------------------------------------------------
# Individual tiles
# --------------------------------------------------------------------------


def tile_bridge(orient, rail_a, rail_b):
    """Bridge planks; orient 'h' crosses east-west with rails north/south."""
    s = new_surface()
    s.fill(WOOD)
    for x in range(0, TILE, 6):
        rect(s, WOOD_DARK, x, 0, 1, TILE)
        rect(s, WOOD_LIGHT, x + 1, 0, 1, TILE)
    rng = random.Random(SEED * 31 + rail_a * 2 + rail_b)
    for x in range(3, TILE, 6):
        px(s, x, 4, WOOD_DARK)
        px(s, x, 27, WOOD_DARK)
    speckle(s, rng, shade(WOOD, 0.9), 20)
    if rail_a:
        rect(s, (40, 60, 90), 0, 0, TILE, 1)
        rect(s, WOOD_DARK, 0, 1, TILE, 5)
        rect(s, WOOD_LIGHT, 0, 2, TILE, 2)
        rect(s, shade(WOOD, 0.75), 0, 6, TILE, 1)
        for x in (4, 20):
            rect(s, OUTLINE, x - 1, 0, 6, 8)
            rect(s, WOOD, x, 1, 4, 6)
            rect(s, WOOD_LIGHT, x, 1, 4, 1)
    if rail_b:
        rect(s, WOOD_DARK, 0, 25, TILE, 6)
        rect(s, WOOD_LIGHT, 0, 26, TILE, 2)
        rect(s, (40, 60, 90), 0, 31, TILE, 1)
        for x in (4, 20):
            rect(s, OUTLINE, x - 1, 23, 6, 9)
            rect(s, WOOD, x, 24, 4, 6)
            rect(s, WOOD_LIGHT, x, 24, 4, 1)
    if orient == "v":
        s = pygame.transform.rotate(s, 90)
    return s


def tile_farmland():
    return texture("farmland").copy()


def tile_grass(variant):
    return texture("grass%d" % variant).copy()


def tile_flowers(variant):
    rng = random.Random(SEED * 37 + variant)
    s = new_surface()
    petals = [((232, 72, 72), (250, 220, 90)),
              ((250, 214, 70), (236, 130, 40)),
              ((150, 120, 230), (250, 240, 200)),
              ((248, 248, 244), (250, 210, 70))][variant]
    spots = [(5, 4), (19, 3), (12, 14), (24, 15), (4, 23), (17, 24)]
    rng.shuffle(spots)
    petal, centre = petals
    dark = shade(petal, 0.72)
    for (x, y) in spots[:5]:
        x += rng.randrange(-1, 2)
        y += rng.randrange(0, 2)
        # leaves
        rect(s, GRASS_DEEP, x - 1, y + 6, 2, 1)
        rect(s, GRASS_DEEP, x + 3, y + 5, 2, 1)
        rect(s, LEAF_DARK, x + 2, y + 6, 1, 1)
        # four round petals around a centre
        rect(s, petal, x + 2, y, 2, 2)
        rect(s, petal, x, y + 2, 2, 2)
        rect(s, dark, x + 4, y + 2, 2, 2)
        rect(s, dark, x + 2, y + 4, 2, 2)
        px(s, x + 4, y + 2, petal)
        px(s, x + 2, y + 4, petal)
        rect(s, centre, x + 2, y + 2, 2, 2)
        px(s, x + 2, y + 2, shade(centre, 1.15))
        px(s, x + 3, y + 3, shade(centre, 0.8))
    return s


def tile_tall_grass():
    rng = random.Random(SEED * 41)
    s = new_surface()
    for cx, cy in ((9, 14), (21, 11), (15, 24), (25, 25)):
        for k in range(5):
            x = cx + k - 2
            h = 4 + rng.randrange(4) - abs(k - 2)
            for j in range(h):
                col = GRASS_DEEP if j < h // 2 else (GRASS_DARK if k % 2 else GRASS_LIGHT)
                px(s, x + (j // 3) * (1 if k > 2 else -1 if k < 2 else 0), cy - j, col)
    return s


def tile_mushrooms():
    s = new_surface()
    for cx, cy, r in ((11, 18, 4), (20, 22, 3), (16, 12, 2)):
        rect(s, (236, 226, 206), cx - 1, cy, 2, r + 1)
        oval(s, (200, 60, 52), cx, cy, r + 0.6, r * 0.7)
        px(s, cx - 1, cy - 1, (250, 240, 230))
        px(s, cx + 1, cy, (250, 240, 230))
    add_outline(s, (60, 36, 36))
    return s


def _canopy(s, rng, blobs, dark, mid, light, shine):
    for cx, cy, r in blobs:
        disc(s, dark, cx, cy, r)
    for cx, cy, r in blobs:
        disc(s, mid, cx - 1, cy - 1.5, r - 1.6)
    for cx, cy, r in blobs:
        disc(s, light, cx - 2, cy - 3, r - 4.2)
    def inner(x, y):
        return 1 <= x < TILE - 2 and 1 <= y < TILE - 1 and s.get_at((x, y)).a == 255

    for _ in range(10 + 3 * (len(blobs) - 4)):
        cx, cy, r = rng.choice(blobs)
        x = int(cx + rng.uniform(-r + 2, r - 2))
        y = int(cy + rng.uniform(-r + 2, r - 2))
        if inner(x, y) and s.get_at((x, y))[:3] != dark:
            px(s, x, y, shine)
            px(s, x + 1, y, light)
    for _ in range(8 + 3 * (len(blobs) - 4)):
        cx, cy, r = rng.choice(blobs)
        x = int(cx + rng.uniform(-r + 1, r - 1))
        y = int(cy + rng.uniform(-1, r - 1))
        if inner(x, y):
            px(s, x, y, dark)


def tile_oak(edges, corners, variant=0):
    """Leafy tree whose canopy merges with oak neighbours (edge/corner masks).

    Variants 1 and 2 only move the inner leaf clumps, so they tile the same.
    """
    rng = random.Random(SEED * 43 + edges * 16 + corners + 1000 * variant)
    s = new_surface()
    if not edges & S:
        shadow_oval(s, 16, 27.5, 12.5, 4)
        if edges & E:
            rect(s, SHADOW, 16, 25, 16, 6)
        if edges & W:
            rect(s, SHADOW, 0, 25, 16, 6)
        rect(s, WOOD_DARK, 13, 19, 6, 10)
        rect(s, WOOD, 13, 19, 3, 10)
        px(s, 12, 28, WOOD_DARK)
        px(s, 19, 28, WOOD_DARK)
    blobs = [(16, 11, 10), (9.5, 15, 6.5), (22.5, 15, 6.5), (16, 17, 6)]
    if variant and edges == 15 and corners == 15:
        blobs = [(rng.uniform(6, 26), rng.uniform(5, 25), rng.uniform(5, 8)) for _ in range(5)]
    elif variant:
        blobs = [(cx + rng.uniform(-1.5, 1.5), cy + rng.uniform(-1, 1.5), r + rng.uniform(-1, 0.5))
                 for cx, cy, r in blobs]
    links = ((E, (32, 12, 10.5)), (W, (0, 12, 10.5)), (N, (16, 0, 11)), (S, (16, 32, 11)))
    blobs += [disc_ for bit, disc_ in links if edges & bit]
    spots = ((NE, (32, 0, 11)), (SE, (32, 32, 11)), (SW, (0, 32, 11)), (NW, (0, 0, 11)))
    blobs += [disc_ for bit, disc_ in spots if corners & bit]
    _canopy(s, rng, blobs, LEAF_DARK, LEAF, LEAF_LIGHT, LEAF_SHINE)
    add_outline(s, (24, 56, 32))
    return s


def tile_tree(variant):
    """Stand-alone trees: variant 1 is a pine, variant 2 a fruit tree."""
    rng = random.Random(SEED * 43 + variant)
    s = new_surface()
    shadow_oval(s, 16, 27.5, 12.5, 4)
    if variant == 1:  # pine
        rect(s, WOOD_DARK, 14, 24, 4, 6)
        rect(s, WOOD, 14, 24, 2, 6)
        tiers = ((16, 1, 7, 10), (16, 6, 10, 15), (16, 11, 13, 22))
        for cx, top, half, bottom in tiers:
            for y in range(top, bottom + 1):
                w = int(half * (y - top + 1) / (bottom - top + 1)) + 1
                rect(s, PINE_DARK, cx - w, y, 2 * w, 1)
                rect(s, PINE, cx - w, y, w + max(0, w // 3), 1)
                rect(s, PINE_LIGHT, cx - w + 1, y, max(1, w // 2), 1)
            rect(s, PINE_DARK, cx - half, bottom, 2 * half, 1)
        for _ in range(6):
            x, y = rng.randrange(9, 22), rng.randrange(6, 21)
            if s.get_at((x, y)).a == 255:
                px(s, x, y, (90, 160, 104))
        add_outline(s, (20, 50, 38))
        return s
    rect(s, WOOD_DARK, 13, 19, 6, 10)
    rect(s, WOOD, 13, 19, 3, 10)
    px(s, 12, 28, WOOD_DARK)
    px(s, 19, 28, WOOD_DARK)
    blobs = [(16, 12, 11), (10, 16, 6), (22, 16, 6)]
    _canopy(s, rng, blobs, (62, 122, 48), (88, 156, 60), (116, 182, 76), (160, 210, 110))
    for x, y in ((11, 9), (20, 8), (15, 15), (23, 14), (8, 14)):
        px(s, x, y, (222, 70, 60))
        px(s, x + 1, y, (190, 48, 44))
    add_outline(s, (24, 56, 32))
    return s


def tile_bush(variant):
    rng = random.Random(SEED * 47 + variant)
    s = new_surface()
    shadow_oval(s, 16, 25, 13, 5)
    blobs = [(11, 17, 7), (21, 17, 7), (16, 12, 7.5), (16, 19, 7)]
    _canopy(s, rng, blobs, LEAF_DARK, LEAF, LEAF_LIGHT, LEAF_SHINE)
    if variant == 1:
        for x, y in ((10, 13), (19, 10), (22, 17), (14, 20), (17, 15), (8, 19)):
            px(s, x, y, (120, 60, 170))
            px(s, x + 1, y, (160, 100, 210))
            px(s, x, y + 1, (90, 40, 130))
    add_outline(s, (24, 56, 32))
    return s


def tile_rock(variant):
    rng = random.Random(SEED * 53 + variant)
    s = new_surface()
    if variant == 0:
        shadow_oval(s, 16, 25, 13, 5)
        pts = [(5, 22), (4, 15), (8, 9), (15, 6), (23, 8), (28, 14), (28, 21), (22, 25), (10, 25)]
        pygame.draw.polygon(s, ROCK, pts)
        pygame.draw.polygon(s, ROCK_LIGHT, [(7, 14), (9, 10), (15, 8), (21, 9), (16, 12), (10, 15)])
        pygame.draw.polygon(s, ROCK_DARK, [(28, 17), (28, 21), (22, 25), (10, 25), (16, 21), (24, 19)])
        pygame.draw.line(s, ROCK_DARK, (15, 12), (18, 18))
        pygame.draw.line(s, ROCK_DARK, (18, 18), (22, 19))
        speckle(s, rng, ROCK_DARK, 6, (8, 12, 16, 8))
    else:
        shadow_oval(s, 16, 26, 12, 4)
        for cx, cy, rx, ry in ((12, 19, 7, 5.5), (22, 22, 5, 4)):
            oval(s, ROCK_DARK, cx, cy, rx, ry)
            oval(s, ROCK, cx - 0.5, cy - 1, rx - 1, ry - 1.2)
            oval(s, ROCK_LIGHT, cx - 2, cy - 2.5, rx - 4, ry - 3.2)
        px(s, 6, 24, (96, 150, 70))
        px(s, 7, 24, (96, 150, 70))
    add_outline(s, (50, 48, 52))
    # mossy tuft
    px(s, 24, 9 if variant == 0 else 18, (110, 170, 80))
    return s


def tile_stump():
    s = new_surface()
    shadow_oval(s, 16, 24, 11, 4)
    rect(s, WOOD_DARK, 8, 14, 16, 9)
    rect(s, WOOD, 8, 14, 9, 9)
    oval(s, (214, 174, 116), 16, 14, 8, 4)
    oval(s, (190, 148, 96), 16, 14, 5, 2.5)
    oval(s, (214, 174, 116), 16, 14, 2.5, 1.2)
    rect(s, WOOD_DARK, 6, 21, 3, 2)
    rect(s, WOOD_DARK, 23, 21, 3, 2)
    add_outline(s, (60, 40, 30))
    return s


def tile_crops(variant):
    s = new_surface()
    if variant == 0:  # wheat
        for row in (0, 8, 16, 24):
            for x in range(2, TILE, 4):
                h = 6 + (x * 7 + row) % 3
                rect(s, (176, 150, 60), x, row + 6 - h + 2, 1, h)
                rect(s, (238, 204, 92), x - 1 + (row // 8) % 2, row + 1, 2, 3)
                px(s, x, row, (250, 226, 130))
    else:  # cabbages
        for row in (0, 16):
            for x in (4, 12, 20, 28):
                cy = row + 7
                disc(s, (62, 130, 56), x, cy, 4)
                disc(s, (110, 180, 90), x - 0.5, cy - 0.5, 2.6)
                px(s, x - 1, cy - 2, (170, 220, 130))
        add_outline(s, (40, 80, 40))
    return s


def tile_fence(mask):
    s = new_surface()
    if mask & E:
        for y in (12, 19):
            rect(s, WOOD, 17, y, 15, 3)
            rect(s, WOOD_LIGHT, 17, y, 15, 1)
    if mask & W:
        for y in (12, 19):
            rect(s, WOOD, 0, y, 15, 3)
            rect(s, WOOD_LIGHT, 0, y, 15, 1)
    if mask & N:
        rect(s, WOOD, 14, 0, 4, 10)
        rect(s, WOOD_LIGHT, 14, 0, 1, 10)
    if mask & S:
        rect(s, WOOD, 14, 22, 4, 10)
        rect(s, WOOD_LIGHT, 14, 22, 1, 10)
    shadow_oval(s, 16, 25, 5, 2, 60)
    rect(s, WOOD, 12, 8, 8, 17)
    rect(s, WOOD_DARK, 17, 8, 3, 17)
    rect(s, WOOD_LIGHT, 12, 8, 8, 2)
    rect(s, WOOD_LIGHT, 13, 10, 1, 12)
    add_outline(s, (64, 42, 28))
    return s


def tile_well():
    s = new_surface()
    shadow_oval(s, 16, 26, 14, 5)
    oval(s, STONE_DARK, 16, 20, 13, 9)
    oval(s, STONE, 16, 19, 12, 8)
    for a in range(0, 360, 30):
        x = 16 + 11 * math.cos(math.radians(a))
        y = 19 + 7.2 * math.sin(math.radians(a))
        px(s, int(x), int(y), MORTAR)
    oval(s, (30, 54, 90), 16, 19, 8, 5)
    oval(s, (52, 96, 150), 17, 20, 5, 2.6)
    rect(s, WOOD_DARK, 3, 6, 3, 16)
    rect(s, WOOD_DARK, 26, 6, 3, 16)
    rect(s, WOOD, 3, 6, 2, 16)
    rect(s, WOOD, 26, 6, 2, 16)
    rect(s, WOOD_DARK, 3, 9, 26, 2)
    rect(s, WOOD_LIGHT, 3, 9, 26, 1)
    rect(s, (120, 120, 120), 15, 11, 1, 5)
    rect(s, WOOD, 13, 15, 6, 4)
    rect(s, WOOD_DARK, 13, 18, 6, 1)
    pygame.draw.polygon(s, (170, 80, 62), [(1, 8), (16, 1), (31, 8), (28, 8), (16, 3), (4, 8)])
    add_outline(s, (44, 40, 44))
    return s


def tile_lamp():
    s = new_surface()
    shadow_oval(s, 16, 28, 6, 2.5)
    oval(s, (255, 236, 150, 60), 16, 7, 11, 8)
    rect(s, (52, 52, 60), 15, 10, 3, 18)
    rect(s, (80, 80, 92), 15, 10, 1, 18)
    rect(s, (52, 52, 60), 12, 26, 9, 3)
    rect(s, (52, 52, 60), 11, 1, 11, 2)
    rect(s, (52, 52, 60), 12, 3, 9, 8)
    rect(s, (255, 226, 120), 13, 4, 7, 6)
    rect(s, (255, 248, 200), 14, 5, 3, 3)
    rect(s, (52, 52, 60), 16, 4, 1, 6)
    add_outline(s, (24, 24, 30))
    return s


def tile_barrel():
    s = new_surface()
    shadow_oval(s, 16, 27, 10, 3.5)
    rect(s, WOOD, 8, 10, 16, 17)
    rect(s, WOOD_DARK, 19, 10, 5, 17)
    rect(s, WOOD_LIGHT, 10, 10, 2, 17)
    for y in (13, 22):
        rect(s, (92, 90, 96), 8, y, 16, 2)
        rect(s, (140, 138, 146), 8, y, 16, 1)
    oval(s, WOOD_DARK, 16, 10, 8, 3.5)
    oval(s, (176, 124, 76), 16, 10, 6.5, 2.4)
    add_outline(s, (60, 40, 30))
    return s


def tile_lily_pad():
    s = new_surface()
    for cx, cy, r in ((11, 12, 7.5), (23, 22, 6)):
        disc(s, (52, 130, 70), cx, cy, r)
        disc(s, (84, 164, 88), cx - 0.5, cy - 0.5, r - 1.5)
        for i in range(int(r)):
            px(s, int(cx) + i, int(cy) - i // 2, (52, 130, 70, 0))
    disc(s, (246, 190, 214), 11, 10, 2.5)
    px(s, 11, 10, (250, 230, 120))
    add_outline(s, (30, 80, 60))
    return s


def tile_sign():
    s = new_surface()
    shadow_oval(s, 16, 28, 7, 2.5)
    rect(s, WOOD_DARK, 15, 14, 3, 15)
    rect(s, WOOD, 15, 14, 1, 15)
    rect(s, WOOD, 5, 6, 22, 11)
    rect(s, WOOD_LIGHT, 5, 6, 22, 1)
    rect(s, WOOD_DARK, 5, 16, 22, 1)
    for y in (9, 12):
        rect(s, (92, 60, 36), 8, y, 16, 1)
    pygame.draw.polygon(s, WOOD, [(26, 6), (30, 11), (26, 16)])
    add_outline(s, (60, 40, 30))
    return s


def tile_crate():
    s = new_surface()
    shadow_oval(s, 16, 27, 11, 3.5)
    rect(s, WOOD, 6, 8, 20, 19)
    rect(s, WOOD_LIGHT, 6, 8, 20, 2)
    rect(s, WOOD_DARK, 6, 25, 20, 2)
    for x in (6, 24):
        rect(s, WOOD_DARK, x, 8, 2, 19)
    pygame.draw.line(s, WOOD_DARK, (8, 10), (23, 24), 2)
    pygame.draw.line(s, WOOD_DARK, (23, 10), (8, 24), 2)
    add_outline(s, (60, 40, 30))
    return s


def tile_roof(color_name, part):
    """Roof piece; part is row (t/m/b) + column (l/c/r)."""
    row, col = part[0], part[1]
    base = ROOF_COLORS[color_name]
    base = shade(base, {"t": 1.07, "m": 1.0, "b": 0.93}[row])
    s = new_surface()
    s.fill(base)
    for band in range(4):
        y0 = band * 8
        rect(s, shade(base, 1.12), 0, y0, TILE, 1)
        rect(s, shade(base, 0.78), 0, y0 + 7, TILE, 1)
        off = 4 if band % 2 else 0
        for x in range(off, TILE + 8, 8):
            rect(s, shade(base, 0.85), x % TILE, y0 + 1, 1, 6)
            px(s, (x + 1) % TILE, y0 + 1, shade(base, 1.1))
    if row == "t":
        rect(s, OUTLINE, 0, 0, TILE, 1)
        rect(s, shade(base, 0.8), 0, 1, TILE, 5)
        rect(s, shade(base, 1.25), 0, 2, TILE, 2)
        rect(s, shade(base, 0.65), 0, 6, TILE, 1)
    if row == "b":
        rect(s, shade(base, 0.72), 0, 25, TILE, 5)
        rect(s, shade(base, 1.05), 0, 25, TILE, 1)
        rect(s, OUTLINE, 0, 30, TILE, 2)
    if col == "l":
        rect(s, OUTLINE, 0, 0, 2, TILE)
        rect(s, shade(base, 1.2), 2, 0, 1, TILE)
    if col == "r":
        rect(s, OUTLINE, TILE - 2, 0, 2, TILE)
        rect(s, shade(base, 0.72), TILE - 4, 0, 2, TILE)
    if row == "b" and col in "lr":
        rect(s, OUTLINE, 0 if col == "l" else TILE - 2, 0, 2, TILE)
    return s


def _wall_base(part):
    rng = random.Random(SEED * 59 + len(part))
    s = new_surface()
    s.fill(PLASTER)
    speckle(s, rng, PLASTER_DARK, 22)
    rect(s, shade(PLASTER, 0.55), 0, 0, TILE, 3)
    rect(s, WOOD_DARK, 0, 3, TILE, 3)
    rect(s, WOOD, 0, 3, TILE, 1)
    rect(s, STONE, 0, 25, TILE, 7)
    rect(s, STONE_LIGHT, 0, 25, TILE, 1)
    for x in range(0, TILE, 8):
        rect(s, STONE_DARK, x, 26, 1, 5)
        rect(s, STONE_DARK, x + 4, 28, 1, 3)
    rect(s, STONE_DARK, 0, 28, TILE, 1)
    rect(s, OUTLINE, 0, 31, TILE, 1)
    if part == "l":
        rect(s, OUTLINE, 0, 0, 1, TILE)
        rect(s, WOOD_DARK, 1, 3, 4, 23)
        rect(s, WOOD, 1, 3, 2, 23)
    if part == "r":
        rect(s, OUTLINE, TILE - 1, 0, 1, TILE)
        rect(s, WOOD_DARK, TILE - 5, 3, 4, 23)
        rect(s, WOOD, TILE - 5, 3, 1, 23)
    return s


def tile_wall(part):
    return _wall_base(part)


def tile_window():
    s = _wall_base("c")
    rect(s, WOOD_DARK, 7, 8, 18, 15)
    rect(s, GLASS, 9, 10, 14, 11)
    for i in range(5):
        px(s, 10 + i, 15 - i, GLASS_LIGHT)
        px(s, 11 + i, 15 - i, GLASS_LIGHT)
    rect(s, WOOD, 15, 10, 2, 11)
    rect(s, WOOD, 9, 15, 14, 1)
    rect(s, WOOD, 6, 22, 20, 3)
    rect(s, WOOD_LIGHT, 6, 22, 20, 1)
    for x, c in ((8, (230, 70, 80)), (12, (250, 200, 70)), (19, (230, 70, 80)), (23, (250, 200, 70))):
        px(s, x, 21, c)
        px(s, x + 1, 20, c)
        px(s, x - 1, 20, c)
        px(s, x, 20, (255, 240, 180))
        px(s, x + 1, 21, GRASS_DARK)
    return s


def tile_door():
    s = _wall_base("c")
    rect(s, OUTLINE, 8, 7, 16, 25)
    rect(s, WOOD_DARK, 9, 8, 14, 24)
    rect(s, WOOD, 10, 9, 12, 23)
    for x in (13, 17):
        rect(s, WOOD_DARK, x, 9, 1, 23)
    rect(s, WOOD_LIGHT, 10, 9, 12, 1)
    px(s, 9, 8, OUTLINE)
    px(s, 22, 8, OUTLINE)
    rect(s, (232, 196, 80), 19, 19, 2, 2)
    px(s, 19, 19, (255, 240, 160))
    rect(s, STONE_DARK, 7, 30, 18, 2)
    rect(s, STONE, 8, 30, 16, 1)
    return s


# --------------------------------------------------------------------------
# Tile catalogue
# --------------------------------------------------------------------------

ROOF_PARTS = ("tl", "tc", "tr", "ml", "mc", "mr", "bl", "bc", "br")


def base_tile_keys():
    """Tiles that always exist, in a fixed order (gid = index + 1)."""
    keys = [("grass", 0), ("grass", 1), ("grass", 2),
            ("path", 0, 0), ("sand", 0, 0), ("cobble", 0, 0), ("farmland",),
            ("water", 0, 0), ("bridge", "h", 1, 1), ("bridge", "v", 1, 1)]
    keys += [("flowers", v) for v in range(4)]
    keys += [("tall_grass",), ("mushrooms",)]
    keys += [("oak", 0, 0, 0), ("tree", 1), ("tree", 2)]
    keys += [("bush", 0), ("bush", 1), ("rock", 0), ("rock", 1), ("stump",)]
    keys += [("crops", 0), ("crops", 1)]
    keys += [("well",), ("lamp",), ("barrel",), ("crate",), ("sign",), ("lily_pad",)]
    keys += [("fence", 0)]
    for color in ROOF_COLORS:
        keys += [("roof", color, p) for p in ROOF_PARTS]
    keys += [("wall", "l"), ("wall", "c"), ("wall", "r"), ("window",), ("door",)]
    return keys


def tile_info(key):
    """Return (name, blocked) for a tile key."""
    kind = key[0]
    if kind == "window":
        return "wall", True
    if kind == "oak":
        return "tree", True
    if kind in ("path", "sand", "cobble", "farmland", "grass", "bridge", "flowers", "lily_pad",
                "tall_grass", "mushrooms", "crops", "door"):
        name = {"cobble": "cobblestone"}.get(kind, kind)
        return name, False
    if kind == "water":
        return "water", True
    if kind in BLOCKING_DECOR:
        return kind, True
    raise ValueError(key)


def draw_tile(key):
    kind = key[0]
    if kind == "grass":
        return tile_grass(key[1])
    if kind in ("path", "sand", "cobble", "water"):
        return tile_blended(kind, key[1], key[2])
    if kind == "oak":
        return tile_oak(key[1], key[2], key[3])
    table = {
        "farmland": tile_farmland,
        "bridge": lambda: tile_bridge(*key[1:]),
        "flowers": lambda: tile_flowers(key[1]),
        "tall_grass": tile_tall_grass,
        "mushrooms": tile_mushrooms,
        "tree": lambda: tile_tree(key[1]),
        "bush": lambda: tile_bush(key[1]),
        "rock": lambda: tile_rock(key[1]),
        "stump": tile_stump,
        "crops": lambda: tile_crops(key[1]),
        "well": tile_well,
        "sign": tile_sign,
        "lily_pad": tile_lily_pad,
        "lamp": tile_lamp,
        "barrel": tile_barrel,
        "crate": tile_crate,
        "fence": lambda: tile_fence(key[1]),
        "roof": lambda: tile_roof(key[1], key[2]),
        "wall": lambda: tile_wall(key[1]),
        "window": tile_window,
        "door": tile_door,
    }
    return table[kind]()


# --------------------------------------------------------------------------
# World generation
# --------------------------------------------------------------------------


def value_noise(rng, w, h, cell):
    gw, gh = w // cell + 3, h // cell + 3
    grid = [[rng.random() for _ in range(gw)] for _ in range(gh)]
    out = [[0.0] * w for _ in range(h)]
    for y in range(h):
        fy = y / cell
        y0 = int(fy)
        ty = fy - y0
        ty = ty * ty * (3 - 2 * ty)
        for x in range(w):
            fx = x / cell
            x0 = int(fx)
            tx = fx - x0
            tx = tx * tx * (3 - 2 * tx)
            a = grid[y0][x0] * (1 - tx) + grid[y0][x0 + 1] * tx
            b = grid[y0 + 1][x0] * (1 - tx) + grid[y0 + 1][x0 + 1] * tx
            out[y][x] = a * (1 - ty) + b * ty
    return out


class World:
    """Mutable grid model of the map before it is turned into tile ids."""

    PLAZA = (33, 30, 54, 41)           # x0, y0, x1, y1 inclusive
    LAKE = (74.0, 57.0, 10.5, 6.5)     # centre x, centre y, radius x, radius y
    FIELD = (7, 45, 23, 58)            # fence rectangle, inclusive
    FIELD_GATE = (14, 15)              # x of the two gate cells on the north fence

    def __init__(self, rng):
        self.rng = rng
        self.w, self.h = MAP_W, MAP_H
        self.ground = [["grass"] * self.w for _ in range(self.h)]
        self.decor = [[None] * self.w for _ in range(self.h)]
        self.clear = [[False] * self.w for _ in range(self.h)]
        self.bridge_dir = {}
        self.lake = set()
        self.noise_edge = value_noise(rng, self.w, self.h, 5)
        self.noise_flower = value_noise(rng, self.w, self.h, 6)
        self.noise_kind = value_noise(rng, self.w, self.h, 9)
        self.noise_shape = value_noise(rng, self.w, self.h, 4)
        x0, y0, x1, y1 = self.PLAZA
        self.spawn = ((x0 + x1) // 2, (y0 + y1) // 2 + 1)

    # -- queries ----------------------------------------------------------
    def inside(self, x, y):
        return 0 <= x < self.w and 0 <= y < self.h

    def cell_blocked(self, x, y):
        if self.ground[y][x] == "water":
            return True
        d = self.decor[y][x]
        return d is not None and decor_kind(d) in BLOCKING_DECOR

    def walkable(self, x, y):
        return self.inside(x, y) and not self.cell_blocked(x, y)

    def mark_clear(self, x, y, radius=1):
        for yy in range(y - radius, y + radius + 1):
            for xx in range(x - radius, x + radius + 1):
                if self.inside(xx, yy):
                    self.clear[yy][xx] = True

    # -- building blocks ----------------------------------------------------
    def build_water(self):
        cx, cy, rx, ry = self.LAKE
        for y in range(self.h):
            for x in range(self.w):
                nx, ny = (x - cx) / rx, (y - cy) / ry
                if nx * nx + ny * ny < 1.0 + 0.35 * (self.noise_shape[y][x] - 0.5):
                    self.ground[y][x] = "water"
                    self.lake.add((x, y))
        for y in range(0, 58):
            c = 71 + 3.5 * math.sin(y / 7.5) + 1.2 * math.sin(y / 2.9 + 1.3)
            for x in range(int(round(c - 2)), int(round(c + 2))):
                self.ground[y][x] = "water"
        for y in range(58, self.h):
            c = 79 + 1.5 * math.sin(y / 3.5)
            for x in range(int(round(c - 1.5)), int(round(c + 1.5))):
                self.ground[y][x] = "water"
        # sandy beach around the lake
        for y in range(self.h):
            for x in range(self.w):
                if self.ground[y][x] != "grass":
                    continue
                best = 9
                for yy in range(y - 3, y + 4):
                    for xx in range(x - 3, x + 4):
                        if (xx, yy) in self.lake:
                            best = min(best, max(abs(xx - x), abs(yy - y)))
                n = self.noise_shape[y][x]
                if best <= 1 or (best == 2 and n > 0.35) or (best == 3 and n > 0.65):
                    self.ground[y][x] = "sand"

    def build_plaza(self):
        x0, y0, x1, y1 = self.PLAZA
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.ground[y][x] = "cobble"
                self.mark_clear(x, y)

    def road(self, points, width=2):
        """Axis-aligned road through waypoints; (x, y) is its top-left cell."""
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            horizontal = ay == by
            if horizontal:
                step = 1 if bx >= ax else -1
                cells = [(x, ay + k) for x in range(ax, bx + step, step) for k in range(width)]
            else:
                step = 1 if by >= ay else -1
                cells = [(ax + k, y) for y in range(ay, by + step, step) for k in range(width)]
            for x, y in cells:
                g = self.ground[y][x]
                if g in ("water", "bridge"):
                    self.ground[y][x] = "bridge"
                    self.bridge_dir[(x, y)] = "h" if horizontal else "v"
                elif g != "cobble":
                    self.ground[y][x] = "path"
                self.mark_clear(x, y)

    def house(self, x0, y_wall, w, roof_rows, color, door_dx=None, stub=True):
        """House whose front wall row is y_wall; the door opens to the south."""
        if door_dx is None:
            door_dx = w // 2
        top = y_wall - roof_rows
        for r in range(roof_rows):
            row = "t" if r == 0 else ("b" if r == roof_rows - 1 else "m")
            for i in range(w):
                col = "l" if i == 0 else ("r" if i == w - 1 else "c")
                self.decor[top + r][x0 + i] = ("roof", color, row + col)
        for i in range(w):
            if i == door_dx:
                part = ("door",)
            elif i == 0:
                part = ("wall", "l")
            elif i == w - 1:
                part = ("wall", "r")
            elif abs(i - door_dx) % 2 == 1:
                part = ("window",)
            else:
                part = ("wall", "c")
            self.decor[y_wall][x0 + i] = part
        for y in range(top - 1, y_wall + 2):
            for x in range(x0 - 1, x0 + w + 1):
                if self.inside(x, y):
                    self.clear[y][x] = True
        if stub:
            # a short path from the door step to the nearest road below/beside it
            dx, y = x0 + door_dx, y_wall + 1
            for _ in range(10):
                if self.ground[y][dx] in ("path", "cobble"):
                    break
                self.ground[y][dx] = "path"
                self.mark_clear(dx, y)
                if any(self.ground[yy][xx] in ("path", "cobble")
                       for xx, yy in ((dx - 1, y), (dx + 1, y), (dx, y + 1))):
                    break
                y += 1

    def build_town(self):
        x0, y0, x1, y1 = self.PLAZA
        wall = y0 - 1
        self.house(33, wall, 5, 2, "red")
        self.house(40, wall, 7, 3, "blue")
        self.house(49, wall, 5, 2, "amber")
        cx, cy = self.spawn
        self.decor[cy - 3][cx] = ("well",)
        for lx, ly in ((x0 + 3, y0 + 3), (x1 - 3, y0 + 3), (x0 + 3, y1 - 2), (x1 - 3, y1 - 2)):
            self.decor[ly][lx] = ("lamp",)
        self.decor[wall][38 - 6] = ("barrel",)
        self.decor[wall][54] = ("crate",)
        self.decor[wall - 1][54] = ("barrel",)

    def build_roads(self):
        x0, y0, x1, y1 = self.PLAZA
        cx, cy = self.spawn
        # north road out of the gap between the houses, then a big loop
        self.road([(38, y0), (38, 12), (90, 12), (90, 35)])
        self.road([(38, 12), (14, 12), (14, 44)])
        # west and east roads from the plaza
        self.road([(x0, 35), (14, 35)])
        self.road([(x1, 35), (90, 35)])
        # south road to the lake shore, with a westward branch
        self.road([(cx, y1), (cx, 57), (63, 57)])
        self.road([(cx, 57), (28, 57)])
        # a walk along the lake's east side from the east road
        self.road([(86, 37), (86, 50)])

    def build_outskirts(self):
        # east house by the east road, south hamlet, farmhouse
        self.house(82, 34, 5, 2, "blue")
        self.house(47, 56, 5, 2, "red")
        self.house(31, 56, 5, 2, "amber")
        self.house(18, 34, 5, 2, "red")
        self.house(88, 49, 5, 2, "amber", door_dx=0)
        self.decor[34][87] = ("barrel",)
        self.decor[56][52] = ("crate",)

    def build_field(self):
        fx0, fy0, fx1, fy1 = self.FIELD
        for y in range(fy0, fy1 + 1):
            for x in range(fx0, fx1 + 1):
                edge = x in (fx0, fx1) or y in (fy0, fy1)
                if edge:
                    if y == fy0 and x in self.FIELD_GATE:
                        continue
                    self.decor[y][x] = ("fence",)
                else:
                    self.ground[y][x] = "farmland"
                    if (y - fy0) % 3 != 0:
                        self.decor[y][x] = ("crops", 0 if x < (fx0 + fx1) // 2 else 1)
        for y in range(fy0 - 1, fy1 + 2):
            for x in range(fx0 - 1, fx1 + 2):
                self.clear[y][x] = True

    def forest_blob(self, cx, cy, r, density=0.92):
        for y in range(int(cy - r - 3), int(cy + r + 4)):
            for x in range(int(cx - r - 3), int(cx + r + 4)):
                if not self.inside(x, y):
                    continue
                d = math.hypot((x - cx) / r, (y - cy) / (r * 0.8))
                if d < 0.75 + 0.5 * self.noise_shape[y][x]:
                    self.place_tree(x, y, density)

    def place_tree(self, x, y, density=1.0):
        if self.clear[y][x] or self.ground[y][x] != "grass" or self.decor[y][x] is not None:
            return
        if self.rng.random() < density:
            self.decor[y][x] = ("tree",)

    def build_forests(self):
        for y in range(self.h):
            for x in range(self.w):
                edge = min(x, y, self.w - 1 - x, self.h - 1 - y)
                depth = 2 + int(4 * self.noise_edge[y][x])
                if edge < depth:
                    self.place_tree(x, y, 1.0 if edge < depth - 1 else 0.7)
        for cx, cy, r in ((26, 22, 6.5), (57, 20, 5.5), (18, 66, 6), (55, 67, 5),
                          (92, 58, 4.5), (84, 22, 3.5), (8, 28, 4)):
            self.forest_blob(cx, cy, r)

    def free_around(self, x, y, radius):
        for yy in range(y - radius, y + radius + 1):
            for xx in range(x - radius, x + radius + 1):
                if not self.inside(xx, yy) or self.cell_blocked(xx, yy):
                    return False
                if self.ground[yy][xx] == "bridge":
                    return False
        return True

    def scatter(self, kind, count, near_water=False):
        placed = tries = 0
        while placed < count and tries < count * 200:
            tries += 1
            x, y = self.rng.randrange(3, self.w - 3), self.rng.randrange(3, self.h - 3)
            if self.clear[y][x] or self.ground[y][x] != "grass" or self.decor[y][x]:
                continue
            if not self.free_around(x, y, 2):
                if not near_water:
                    continue
            if near_water:
                # beside the river bank: water within 2, nothing else blocking
                water = any(self.inside(xx, yy) and self.ground[yy][xx] == "water"
                            for yy in range(y - 2, y + 3) for xx in range(x - 2, x + 3))
                other = any(self.inside(xx, yy) and self.decor[yy][xx] is not None
                            and decor_kind(self.decor[yy][xx]) in BLOCKING_DECOR
                            for yy in range(y - 2, y + 3) for xx in range(x - 2, x + 3))
                if not water or other:
                    continue
            self.decor[y][x] = kind
            placed += 1

    def build_groves(self, count):
        """Small clumps of 3-7 trees out in the meadows."""
        made = tries = 0
        while made < count and tries < 400:
            tries += 1
            cx, cy = self.rng.randrange(6, self.w - 6), self.rng.randrange(6, self.h - 6)
            cells = [(cx, cy)]
            for _ in range(self.rng.randrange(3, 8)):
                bx, by = self.rng.choice(cells)
                dx, dy, _b = self.rng.choice(DIRS4)
                if (bx + dx, by + dy) not in cells:
                    cells.append((bx + dx, by + dy))
            ok = all(not self.clear[y][x] and self.ground[y][x] == "grass"
                     and self.free_around(x, y, 2) for x, y in cells)
            if not ok:
                continue
            for x, y in cells:
                self.decor[y][x] = ("tree",)
            made += 1

    def build_pond(self, cx, cy):
        for y in range(cy - 4, cy + 5):
            for x in range(cx - 6, cx + 7):
                d = ((x - cx + 0.5) / 5.2) ** 2 + ((y - cy + 0.5) / 3.4) ** 2
                if d < 1.0 + 0.3 * (self.noise_shape[y][x] - 0.5):
                    self.ground[y][x] = "water"
        self.decor[cy][cx - 2] = ("lily_pad",)
        self.decor[cy - 1][cx + 2] = ("lily_pad",)
        for y in range(cy - 6, cy + 7):
            for x in range(cx - 8, cx + 9):
                self.clear[y][x] = True

    def build_lilies(self):
        cx, cy = int(self.LAKE[0]), int(self.LAKE[1])
        for dx, dy in ((-5, -2), (-4, 1), (3, 3), (6, -1), (-1, 4)):
            if self.ground[cy + dy][cx + dx] == "water":
                self.decor[cy + dy][cx + dx] = ("lily_pad",)

    def build_signs(self):
        for x, y in ((37, 13 + 1), (31, 37), (57, 34), (92, 37), (42, 56), (84, 11), (13, 34)):
            if self.ground[y][x] == "grass" and self.decor[y][x] is None:
                self.decor[y][x] = ("sign",)

    def build_scatter(self):
        self.build_groves(14)
        self.scatter(("rock",), 34)
        self.scatter(("bush",), 30)
        self.scatter(("tree",), 40)
        self.scatter(("stump",), 8)
        self.scatter(("rock",), 10, near_water=True)

    def build_flowers(self):
        rng = self.rng
        for y in range(self.h):
            for x in range(self.w):
                if self.ground[y][x] != "grass" or self.decor[y][x] is not None:
                    continue
                n = self.noise_flower[y][x]
                near_tree = any(self.inside(xx, yy) and self.decor[yy][xx] == ("tree",)
                                for yy in (y - 1, y, y + 1) for xx in (x - 1, x, x + 1))
                r = rng.random()
                if n > 0.66 and r < 0.45:
                    self.decor[y][x] = ("flowers",)
                elif r < 0.02:
                    self.decor[y][x] = ("flowers",)
                elif near_tree and r < 0.14:
                    self.decor[y][x] = ("tall_grass",)
                elif near_tree and r < 0.17:
                    self.decor[y][x] = ("mushrooms",)
                elif r < 0.035:
                    self.decor[y][x] = ("tall_grass",)

    def seal_edges(self):
        for y in range(self.h):
            for x in range(self.w):
                if x in (0, self.w - 1) or y in (0, self.h - 1):
                    if self.ground[y][x] == "water":
                        self.decor[y][x] = None
                        continue
                    self.ground[y][x] = "grass"
                    self.decor[y][x] = ("tree",)

    def filler_for(self, x, y):
        trees = sum(1 for yy in (y - 1, y, y + 1) for xx in (x - 1, x, x + 1)
                    if self.inside(xx, yy) and self.decor[yy][xx] == ("tree",))
        return ("tree",) if trees >= 3 else ("bush",)

    def widen_gaps(self):
        """Remove trees/rocks/bushes that leave 1-tile squeezes on grass."""
        for _ in range(6):
            changed = False
            for y in range(1, self.h - 1):
                for x in range(1, self.w - 1):
                    if self.cell_blocked(x, y) or self.ground[y][x] not in ("grass", "sand"):
                        continue
                    for (ax, ay), (bx, by) in (((x - 1, y), (x + 1, y)), ((x, y - 1), (x, y + 1))):
                        if self.cell_blocked(ax, ay) and self.cell_blocked(bx, by):
                            for cx, cy in ((bx, by), (ax, ay)):
                                if (0 < cx < self.w - 1 and 0 < cy < self.h - 1
                                        and self.decor[cy][cx] is not None
                                        and decor_kind(self.decor[cy][cx]) in REMOVABLE_DECOR):
                                    self.decor[cy][cx] = None
                                    changed = True
                                    break
            if not changed:
                break

    def fill_nooks(self):
        """Fill dead-end single cells (3 blocked sides) on open ground."""
        for _ in range(20):
            changed = False
            for y in range(1, self.h - 1):
                for x in range(1, self.w - 1):
                    if self.cell_blocked(x, y) or self.ground[y][x] not in ("grass", "sand"):
                        continue
                    if self.decor[y][x] == ("door",):
                        continue
                    blocked = sum(1 for dx, dy, _b in DIRS4 if self.cell_blocked(x + dx, y + dy))
                    if blocked >= 3:
                        self.decor[y][x] = self.filler_for(x, y)
                        changed = True
            if not changed:
                break

    def reachable(self):
        sx, sy = self.spawn
        seen = [[False] * self.w for _ in range(self.h)]
        if not self.walkable(sx, sy):
            raise RuntimeError("spawn cell is blocked")
        seen[sy][sx] = True
        q = deque([(sx, sy)])
        while q:
            x, y = q.popleft()
            for dx, dy, _b in DIRS4:
                nx, ny = x + dx, y + dy
                if self.walkable(nx, ny) and not seen[ny][nx]:
                    seen[ny][nx] = True
                    q.append((nx, ny))
        return seen

    def fill_unreachable(self):
        seen = self.reachable()
        filled = 0
        for y in range(self.h):
            for x in range(self.w):
                if self.walkable(x, y) and not seen[y][x]:
                    if self.ground[y][x] in ("path", "cobble", "bridge", "farmland"):
                        self.ground[y][x] = "grass"
                    self.decor[y][x] = self.filler_for(x, y)
                    filled += 1
        return filled

    def generate(self):
        self.build_water()
        self.build_plaza()
        self.build_roads()
        self.build_town()
        self.build_outskirts()
        self.build_field()
        self.build_pond(33, 47)
        self.build_signs()
        self.build_lilies()
        self.build_forests()
        self.build_scatter()
        self.seal_edges()
        self.widen_gaps()
        self.fill_nooks()
        self.build_flowers()
        filled = self.fill_unreachable()
        return filled

    # -- tile keys ------------------------------------------------------------
    def _same(self, x, y, kinds, default):
        if not self.inside(x, y):
            return default
        return self.ground[y][x] in kinds

    def blend_key(self, x, y, material, other):
        """Edge/corner masks: bit set where the neighbour is `other`."""
        def is_other(xx, yy):
            if not self.inside(xx, yy):
                return False
            return self.ground[yy][xx] in other
        edges = 0
        for dx, dy, bit in DIRS4:
            if is_other(x + dx, y + dy):
                edges |= bit
        corners = 0
        for bit, dx, dy, e1, e2 in ((NE, 1, -1, N, E), (SE, 1, 1, S, E),
                                    (SW, -1, 1, S, W), (NW, -1, -1, N, W)):
            if not edges & e1 and not edges & e2 and is_other(x + dx, y + dy):
                corners |= bit
        return (material, edges, corners)

    def ground_key(self, x, y, grass_pick):
        g = self.ground[y][x]
        if g == "grass":
            return ("grass", grass_pick)
        if g == "farmland":
            return ("farmland",)
        if g == "water":
            land = {"grass", "path", "sand", "cobble", "farmland"}
            return self.blend_key(x, y, "water", land)
        if g == "bridge":
            o = self.bridge_dir[(x, y)]
            if o == "h":
                a = not self._same(x, y - 1, ("bridge",), True)
                b = not self._same(x, y + 1, ("bridge",), True)
            else:
                a = not self._same(x - 1, y, ("bridge",), True)
                b = not self._same(x + 1, y, ("bridge",), True)
            return ("bridge", o, int(a), int(b))
        return self.blend_key(x, y, g, {"grass"})

    def tree_type(self, x, y):
        """'oak', 'pine', 'fruit' or None for the decor at a cell."""
        if self.decor[y][x] != ("tree",):
            return None
        if self.noise_kind[y][x] > 0.6:
            return "pine"
        lone = not any(self.inside(xx, yy) and self.decor[yy][xx] == ("tree",)
                       for xx, yy in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)))
        if lone and (x * 7349 + y * 1931) % 3 == 0:
            return "fruit"
        return "oak"

    def decor_key(self, x, y):
        d = self.decor[y][x]
        if d is None:
            return None
        kind = d[0]
        if kind == "tree":
            t = self.tree_type(x, y)
            if t != "oak":
                return ("tree", 1 if t == "pine" else 2)

            def is_oak(xx, yy):
                if not self.inside(xx, yy):
                    return True   # forests continue past the map edge
                return self.tree_type(xx, yy) == "oak"
            edges = 0
            for dx, dy, bit in DIRS4:
                if is_oak(x + dx, y + dy):
                    edges |= bit
            corners = 0
            for bit, dx, dy, e1, e2 in ((NE, 1, -1, N, E), (SE, 1, 1, S, E),
                                        (SW, -1, 1, S, W), (NW, -1, -1, N, W)):
                if edges & e1 and edges & e2 and is_oak(x + dx, y + dy):
                    corners |= bit
            variant = (x * 5 + y * 3 + (x * y) % 7) % 3
            return ("oak", edges, corners, variant)
        if kind == "flowers":
            n = self.noise_kind[y][x] * 4 + self.noise_flower[y][x] * 2.3
            return ("flowers", int(n) % 4)
        if kind == "bush":
            return ("bush", 1 if (x * 31 + y * 17) % 5 == 0 else 0)
        if kind == "rock":
            return ("rock", (x + 2 * y) % 2)
        if kind == "fence":
            mask = 0
            for dx, dy, bit in DIRS4:
                if self.inside(x + dx, y + dy) and self.decor[y + dy][x + dx] == ("fence",):
                    mask |= bit
            return ("fence", mask)
        return d


def decor_kind(d):
    k = d[0]
    return "wall" if k == "window" else k


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def build_tileset(world):
    rng = random.Random(SEED + 1)
    grass_pick = [[0] * world.w for _ in range(world.h)]
    for y in range(world.h):
        for x in range(world.w):
            r = rng.random()
            grass_pick[y][x] = 0 if r < 0.62 else (1 if r < 0.88 else 2)
    ground_keys = [[world.ground_key(x, y, grass_pick[y][x]) for x in range(world.w)]
                   for y in range(world.h)]
    decor_keys = [[world.decor_key(x, y) for x in range(world.w)] for y in range(world.h)]
    keys = base_tile_keys()
    known = set(keys)
    extra = set()
    for grid in (ground_keys, decor_keys):
        for row in grid:
            for k in row:
                if k is not None and k not in known:
                    extra.add(k)
    keys += sorted(extra, key=repr)
    gid = {k: i + 1 for i, k in enumerate(keys)}
    ground = [[gid[k] for k in row] for row in ground_keys]
    decor = [[gid[k] if k else 0 for k in row] for row in decor_keys]
    return keys, ground, decor


def render_tileset(keys):
    rows = (len(keys) + TILESET_COLUMNS - 1) // TILESET_COLUMNS
    sheet = new_surface(TILESET_COLUMNS * TILE, rows * TILE)
    tiles = []
    for i, k in enumerate(keys):
        t = draw_tile(k)
        tiles.append(t)
        sheet.blit(t, ((i % TILESET_COLUMNS) * TILE, (i // TILESET_COLUMNS) * TILE))
    return sheet, tiles


def csv_block(grid):
    return "\n" + ",\n".join(",".join(str(v) for v in row) for row in grid) + "\n"


def write_tmx(path, keys, sheet, ground, decor, spawn_px):
    rows = []
    rows.append('<?xml version="1.0" encoding="UTF-8"?>')
    rows.append('<map version="1.10" tiledversion="1.10.2" orientation="orthogonal" '
                'renderorder="right-down" width="%d" height="%d" tilewidth="%d" '
                'tileheight="%d" infinite="0" nextlayerid="4" nextobjectid="2">'
                % (MAP_W, MAP_H, TILE, TILE))
    rows.append(' <tileset firstgid="1" name="terrain" tilewidth="%d" tileheight="%d" '
                'tilecount="%d" columns="%d">' % (TILE, TILE, len(keys), TILESET_COLUMNS))
    rows.append('  <image source="%s" width="%d" height="%d"/>'
                % (TILES_FILE, sheet.get_width(), sheet.get_height()))
    for i, k in enumerate(keys):
        name, blocked = tile_info(k)
        rows.append('  <tile id="%d">' % i)
        rows.append('   <properties>')
        rows.append('    <property name="blocked" type="bool" value="%s"/>'
                    % ("true" if blocked else "false"))
        rows.append('    <property name="name" value="%s"/>' % name)
        rows.append('   </properties>')
        rows.append('  </tile>')
    rows.append(' </tileset>')
    for lid, lname, grid in ((1, "ground", ground), (2, "decor", decor)):
        rows.append(' <layer id="%d" name="%s" width="%d" height="%d">' % (lid, lname, MAP_W, MAP_H))
        rows.append('  <data encoding="csv">%s</data>' % csv_block(grid))
        rows.append(' </layer>')
    rows.append(' <objectgroup id="3" name="objects">')
    rows.append('  <object id="1" name="spawn" type="spawn" x="%d" y="%d">' % spawn_px)
    rows.append('   <point/>')
    rows.append('  </object>')
    rows.append(' </objectgroup>')
    rows.append('</map>')
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")


# --------------------------------------------------------------------------
# Avatars
# --------------------------------------------------------------------------

AVATAR_FRAME = 32
AVATAR_DIRECTIONS = ("down", "left", "right", "up")
AVATAR_FRAMES = 4
AVATAR_FEET_Y = 30

SKINS = {
    "fair": (250, 214, 184),
    "light": (238, 196, 160),
    "tan": (212, 160, 118),
    "brown": (166, 112, 76),
    "dark": (112, 74, 52),
}

LOOKS = [
    # hair style, hair colour, skin, shirt, trousers, shoes, extra colour
    dict(style="short", hair=(104, 66, 38), skin="light", shirt=(200, 64, 60),
         pants=(58, 84, 150), shoes=(70, 46, 36)),
    dict(style="long", hair=(238, 200, 96), skin="fair", shirt=(70, 160, 96),
         pants=(120, 84, 56), shoes=(90, 60, 40)),
    dict(style="spiky", hair=(40, 36, 44), skin="brown", shirt=(240, 196, 64),
         pants=(70, 70, 80), shoes=(40, 40, 48)),
    dict(style="bun", hair=(196, 82, 44), skin="tan", shirt=(140, 84, 184),
         pants=(46, 58, 104), shoes=(60, 40, 40)),
    dict(style="cap", hair=(58, 40, 30), skin="dark", shirt=(236, 236, 230),
         pants=(70, 120, 70), shoes=(180, 60, 50), extra=(60, 110, 200)),
    dict(style="ponytail", hair=(200, 110, 190), skin="fair", shirt=(56, 170, 176),
         pants=(50, 46, 58), shoes=(230, 230, 230)),
    dict(style="bob", hair=(220, 222, 232), skin="tan", shirt=(236, 132, 54),
         pants=(100, 72, 52), shoes=(60, 44, 36)),
    dict(style="afro", hair=(30, 26, 30), skin="dark", shirt=(150, 40, 70),
         pants=(200, 186, 150), shoes=(52, 40, 36)),
]


def _hair_rects(style, direction):
    """Hair rectangles (x, y, w, h) before the face/eyes are drawn."""
    if direction == "up":
        r = [(10, 4, 12, 1), (9, 5, 14, 11), (10, 16, 12, 1)]
    elif direction == "left":
        r = [(10, 4, 12, 1), (9, 5, 14, 4), (9, 9, 5, 1), (15, 9, 8, 7), (17, 16, 5, 1)]
    else:
        r = [(10, 4, 12, 1), (9, 5, 14, 4), (9, 9, 14, 1), (9, 10, 2, 3), (21, 10, 2, 3),
             (12, 10, 2, 1), (17, 10, 3, 1)]
    if style == "long":
        if direction == "down":
            r += [(8, 9, 3, 12), (21, 9, 3, 12)]
        elif direction == "left":
            r += [(15, 9, 9, 12)]
        else:
            r += [(8, 6, 16, 15)]
    elif style == "spiky":
        for x in (10, 13, 16, 19):
            r += [(x, 2, 2, 2), (x + 1, 1, 1, 1)]
        r += [(8, 6, 1, 3), (23, 6, 1, 3)]
    elif style == "bun":
        if direction == "left":
            r += [(18, 1, 5, 4)]
        else:
            r += [(13, 1, 6, 4)]
    elif style == "ponytail":
        if direction == "left":
            r += [(22, 8, 3, 3), (23, 11, 3, 7)]
        elif direction == "up":
            r += [(14, 15, 4, 6)]
        else:
            r += [(23, 10, 2, 5)]
    elif style == "bob":
        if direction == "down":
            r += [(8, 8, 3, 9), (21, 8, 3, 9), (11, 10, 10, 1)]
        elif direction == "left":
            r += [(14, 9, 10, 8)]
        else:
            r += [(8, 6, 16, 12)]
    elif style == "afro":
        r += [(7, 3, 18, 7), (9, 1, 14, 2), (6, 5, 2, 8), (24, 5, 2, 8)]
        if direction == "up":
            r += [(7, 10, 18, 6)]
        elif direction == "left":
            r += [(15, 9, 10, 7)]
    return r


def tint(color, factor):
    """Scale an RGB colour by a factor, or by one factor per channel."""
    if isinstance(factor, (int, float)):
        return shade(color, factor)
    return tuple(max(0, min(255, int(round(c * f)))) for c, f in zip(color[:3], factor))


BLUSH = (1.05, 0.78, 0.78)


def look_paint(look):
    """paint(part, factor) for one of the fixed LOOKS."""
    colours = {"skin": SKINS[look["skin"]], "hair": look["hair"], "shirt": look["shirt"],
               "pants": look["pants"], "shoes": look["shoes"], "cap": look.get("extra")}
    return lambda part, factor=1.0: tint(colours[part], factor)


def draw_avatar(look, direction, frame, paint=None):
    """One frame.  Every coloured pixel comes from ``paint(part, factor)``: a
    part of the look (skin, hair, shirt, pants, shoes, cap) shaded by a factor,
    so the same drawing makes a template whose colours are swapped at run time."""
    c = paint or look_paint(look)
    s = new_surface(AVATAR_FRAME, AVATAR_FRAME)
    side = direction in ("left", "right")
    step = frame in (1, 3)
    bob = -1 if step else 0
    shadow_oval(s, 16, 29.5, 7.5, 2.5, 80)

    # legs and shoes ---------------------------------------------------------
    if not side:
        lift_left = frame == 1
        lift_right = frame == 3
        for lx, lifted in ((12, lift_left), (17, lift_right)):
            leg_bottom = 27 - (2 if lifted else 0)
            rect(s, c("pants"), lx, 24 + bob, 3, leg_bottom - (24 + bob) + 1)
            rect(s, c("shoes"), lx - (1 if lx == 12 else 0), leg_bottom + 1, 4, 2)
            rect(s, c("shoes", 1.3), lx - (1 if lx == 12 else 0), leg_bottom + 1, 4, 1)
    else:
        if step:
            front, back = (10, 18) if frame == 1 else (11, 17)
            far = c("pants", 0.78)
            rect(s, far, back, 24 + bob, 3, 4 - bob)
            rect(s, c("shoes", 0.8), back, 28, 4, 2)
            rect(s, c("pants"), front + 1, 24 + bob, 3, 4 - bob)
            rect(s, c("shoes"), front, 28, 4, 2)
            rect(s, c("pants"), 13, 23 + bob, 6, 2)
        else:
            rect(s, c("pants"), 13, 24, 6, 4)
            rect(s, c("pants", 0.8), 16, 25, 1, 3)
            rect(s, c("shoes"), 11, 28, 8, 2)
            rect(s, c("shoes", 1.3), 11, 28, 8, 1)

    # body ---------------------------------------------------------------------
    top = 17 + bob
    if not side:
        rect(s, c("shirt"), 11, top, 10, 7)
        rect(s, c("shirt", 0.8), 11, top + 5, 10, 2)
        rect(s, c("pants", 0.7), 11, top + 7, 10, 1)
        rect(s, c("shirt", 1.15), 13, top, 6, 1)
        swing_l = -1 if frame == 3 else 0
        swing_r = -1 if frame == 1 else 0
        for ax, sw in ((9, swing_l), (21, swing_r)):
            rect(s, c("shirt", 0.9), ax, top + 1 + sw, 2, 4)
            rect(s, c("skin"), ax, top + 5 + sw, 2, 2)
        rect(s, c("shirt", 0.62), 11, top + 2, 1, 4)
        rect(s, c("shirt", 0.62), 20, top + 2, 1, 4)
    else:
        rect(s, c("shirt"), 12, top, 8, 7)
        rect(s, c("shirt", 0.8), 12, top + 5, 8, 2)
        rect(s, c("pants", 0.7), 12, top + 7, 8, 1)
        ax = 14 + {0: 0, 1: -2, 2: 0, 3: 2}[frame]
        rect(s, c("shirt", 0.88), ax, top + 1, 3, 4)
        rect(s, c("skin"), ax, top + 5, 3, 2)

    # head -----------------------------------------------------------------------
    hy = bob
    rect(s, c("skin"), 10, 5 + hy, 12, 13)
    rect(s, c("skin"), 9, 6 + hy, 14, 11)
    for x, y, w, h in _hair_rects(look["style"], "left" if side else direction):
        rect(s, c("hair"), x, y + hy, w, h)
    if look["style"] == "cap":
        rect(s, c("cap"), 9, 3 + hy, 14, 5)
        rect(s, c("cap"), 10, 2 + hy, 12, 1)
        rect(s, c("cap", 1.25), 11, 3 + hy, 4, 1)
        if direction == "down":
            rect(s, c("cap", 0.75), 8, 8 + hy, 16, 2)
        elif side:
            rect(s, c("cap", 0.75), 5, 8 + hy, 10, 2)
        else:
            rect(s, c("cap", 0.75), 9, 8 + hy, 14, 1)
    else:
        rect(s, c("hair", 1.3), 12, 5 + hy, 3, 1)
        rect(s, c("hair", 1.3), 11, 6 + hy, 2, 1)
    if direction == "down":
        rect(s, OUTLINE, 12, 12 + hy, 2, 3)
        rect(s, OUTLINE, 18, 12 + hy, 2, 3)
        px(s, 12, 12 + hy, (250, 250, 250))
        px(s, 18, 12 + hy, (250, 250, 250))
        px(s, 11, 15 + hy, c("skin", BLUSH))
        px(s, 20, 15 + hy, c("skin", BLUSH))
        rect(s, c("skin", 0.7), 15, 15 + hy, 2, 1)
    elif side:
        rect(s, OUTLINE, 10, 12 + hy, 2, 3)
        px(s, 10, 12 + hy, (250, 250, 250))
        rect(s, c("skin"), 16, 11 + hy, 2, 3)  # ear
        px(s, 17, 12 + hy, c("skin", 0.8))
        px(s, 9, 15 + hy, c("skin", 0.85))
    add_outline(s)
    if direction == "right":
        s = pygame.transform.flip(s, True, False)
    return s


# Looks players choose (game/core/protocol.py LOOK_OPTIONS names the same options):
# a hair style picks a template; the palettes colour its parts at run time.
AVATAR_TEMPLATE_FILE = "avatar_templates.png"
HAIR_STYLES = ("short", "long", "spiky", "bun", "cap", "ponytail", "bob", "afro")
PALETTES = {
    "skin": {"porcelain": (255, 226, 206), "fair": (250, 214, 184), "light": (238, 196, 160),
             "tan": (212, 160, 118), "olive": (188, 146, 98), "brown": (166, 112, 76),
             "dark": (112, 74, 52), "deep": (84, 54, 40)},
    "hair": {"black": (40, 36, 44), "dark_brown": (66, 44, 32), "brown": (104, 66, 38),
             "auburn": (146, 58, 38), "ginger": (206, 96, 44), "blonde": (238, 200, 96),
             "platinum": (226, 226, 234), "grey": (150, 150, 158), "pink": (222, 120, 200),
             "blue": (72, 118, 220), "green": (72, 168, 96), "purple": (128, 76, 182)},
    "clothes": {"red": (200, 64, 60), "coral": (238, 122, 104), "orange": (236, 132, 54),
                "gold": (240, 196, 64), "lime": (152, 208, 72), "green": (70, 160, 96),
                "teal": (56, 170, 176), "sky": (124, 190, 240), "blue": (60, 110, 200),
                "navy": (46, 58, 104), "purple": (140, 84, 184), "pink": (228, 122, 172),
                "white": (236, 236, 230), "grey": (140, 144, 152), "charcoal": (58, 60, 70),
                "brown": (120, 84, 56), "tan": (200, 186, 150), "denim": (74, 98, 142)},
}
# Which look field and palette colour each part of the drawing.
AVATAR_PARTS = {"skin": ("skin", "skin"), "hair": ("hair_colour", "hair"),
                "shirt": ("shirt", "clothes"), "pants": ("trousers", "clothes"),
                "shoes": ("shoes", "clothes"), "cap": ("shirt", "clothes")}


def render_avatar_templates():
    """Every hair style drawn in key colours, one key per (part, factor).

    A client swaps each key for ``tint(palette colour, factor)`` to draw any
    look in the same style as the fixed sheet.
    """
    keys = {}

    def paint(part, factor=1.0):
        key = (part, factor if isinstance(factor, (int, float)) else tuple(factor))
        if key not in keys:
            keys[key] = (255, list(AVATAR_PARTS).index(part) + 1, len(keys) + 1)
        return keys[key]

    sheet = new_surface(AVATAR_FRAME * AVATAR_FRAMES,
                        AVATAR_FRAME * len(HAIR_STYLES) * len(AVATAR_DIRECTIONS))
    for si, style in enumerate(HAIR_STYLES):
        for di, direction in enumerate(AVATAR_DIRECTIONS):
            for f in range(AVATAR_FRAMES):
                frame = draw_avatar({"style": style}, direction, f, paint)
                sheet.blit(frame, (f * AVATAR_FRAME,
                                   (si * len(AVATAR_DIRECTIONS) + di) * AVATAR_FRAME))
    meta = {
        "image": AVATAR_TEMPLATE_FILE,
        "styles": list(HAIR_STYLES),
        "keys": [[*colour, part, factor if isinstance(factor, (int, float)) else list(factor)]
                 for (part, factor), colour in keys.items()],
        "parts": {part: list(where) for part, where in AVATAR_PARTS.items()},
        "palettes": {name: {k: list(v) for k, v in colours.items()}
                     for name, colours in PALETTES.items()},
    }
    return sheet, meta


def render_avatars():
    sheet = new_surface(AVATAR_FRAME * AVATAR_FRAMES,
                        AVATAR_FRAME * len(LOOKS) * len(AVATAR_DIRECTIONS))
    for li, look in enumerate(LOOKS):
        for di, direction in enumerate(AVATAR_DIRECTIONS):
            for f in range(AVATAR_FRAMES):
                frame = draw_avatar(look, direction, f)
                sheet.blit(frame, (f * AVATAR_FRAME,
                                   (li * len(AVATAR_DIRECTIONS) + di) * AVATAR_FRAME))
    meta = {
        "frame_width": AVATAR_FRAME,
        "frame_height": AVATAR_FRAME,
        "looks": len(LOOKS),
        "directions": list(AVATAR_DIRECTIONS),
        "frames": AVATAR_FRAMES,
        "feet_offset_y": AVATAR_FEET_Y,
    }
    return sheet, meta


# --------------------------------------------------------------------------
# Checks and previews
# --------------------------------------------------------------------------


def verify_tmx(path, spawn_px):
    """Reload the map the way the game does (plus the tile names from the
    tileset's XML) and check it."""
    import xml.etree.ElementTree as ET

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from game.core.tiled import GID_MASK, load_map

    m = load_map(path)
    assert (m.width, m.height, m.tile_size) == (MAP_W, MAP_H, TILE)
    root = ET.parse(path).getroot()
    names = [layer.get("name") for layer in root if layer.tag in ("layer", "objectgroup")]
    assert names == ["ground", "decor", "objects"], names
    spawn_x, spawn_y = m.world.spawn
    assert (int(spawn_x), int(spawn_y)) == spawn_px
    first_gid = int(root.find("tileset").get("firstgid"))
    tile_names = {}
    for tile in root.find("tileset").iter("tile"):
        props = {p.get("name"): p.get("value") for p in tile.iter("property")}
        assert "name" in props and "blocked" in props, tile.get("id")
        tile_names[first_gid + int(tile.get("id"))] = props["name"]
    blocked = [[m.world.tile_blocked(x, y) for x in range(m.width)] for y in range(m.height)]
    doors = set()
    for li, layer in enumerate(m.layers[:2]):
        for i, raw in enumerate(layer.data):
            gid = raw & GID_MASK
            x, y = i % m.width, i // m.width
            if li == 0 and not gid:
                raise AssertionError("ground hole at %d,%d" % (x, y))
            if gid and tile_names.get(gid) == "door":
                doors.add((x, y))
    sx, sy = int(spawn_x) // TILE, int(spawn_y) // TILE
    assert not blocked[sy][sx], "spawn is blocked"
    seen = {(sx, sy)}
    q = deque([(sx, sy)])
    while q:
        x, y = q.popleft()
        for dx, dy, _b in DIRS4:
            nx, ny = x + dx, y + dy
            if 0 <= nx < m.width and 0 <= ny < m.height and not blocked[ny][nx] \
                    and (nx, ny) not in seen:
                seen.add((nx, ny))
                q.append((nx, ny))
    walkable = sum(1 for row in blocked for b in row if not b)
    border_open = [(x, y) for y in range(m.height) for x in range(m.width)
                   if (x in (0, m.width - 1) or y in (0, m.height - 1)) and not blocked[y][x]]
    squeezes = 0
    for y in range(1, m.height - 1):
        for x in range(1, m.width - 1):
            if blocked[y][x] or (x, y) in doors:
                continue
            if (blocked[y][x - 1] and blocked[y][x + 1]) or (blocked[y - 1][x] and blocked[y + 1][x]):
                squeezes += 1
    return {
        "walkable": walkable,
        "reachable": len(seen),
        "border_open": len(border_open),
        "squeezes": squeezes,
    }


def render_map(tiles, ground, decor):
    surf = pygame.Surface((MAP_W * TILE, MAP_H * TILE))
    for y in range(MAP_H):
        for x in range(MAP_W):
            surf.blit(tiles[ground[y][x] - 1], (x * TILE, y * TILE))
            if decor[y][x]:
                surf.blit(tiles[decor[y][x] - 1], (x * TILE, y * TILE))
    return surf


def write_previews(out_dir, tiles, ground, decor, avatars, spawn):
    os.makedirs(out_dir, exist_ok=True)
    full = render_map(tiles, ground, decor)
    small = pygame.transform.smoothscale(full, (MAP_W * 8, MAP_H * 8))
    pygame.image.save(small, os.path.join(out_dir, "map_preview.png"))
    sx, sy = spawn
    crop = pygame.Rect(0, 0, 1280, 800)
    crop.center = (sx * TILE, sy * TILE - 96)
    crop.clamp_ip(full.get_rect())
    pygame.image.save(full.subsurface(crop), os.path.join(out_dir, "map_town.png"))
    bg = pygame.Surface(avatars.get_size())
    bg.fill(GRASS)
    bg.blit(avatars, (0, 0))
    big = pygame.transform.scale(bg, (avatars.get_width() * 3, avatars.get_height() * 3))
    pygame.image.save(big, os.path.join(out_dir, "avatars_preview.png"))
    return full


def readable_json(value, indent=0):
    """JSON with objects indented, a list of lists one inner list a line, and
    a list of plain values on one line."""
    pad = "  " * indent
    if isinstance(value, dict):
        items = ["%s  %s: %s" % (pad, json.dumps(k), readable_json(v, indent + 1))
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        items = ["%s  %s" % (pad, json.dumps(v)) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate tiles, world map and avatars.")
    parser.add_argument("--preview", metavar="DIR",
                        help="also write preview images into DIR")
    args = parser.parse_args(argv)

    rng = random.Random(SEED)
    world = World(rng)
    filled = world.generate()
    keys, ground, decor = build_tileset(world)
    sheet, tiles = render_tileset(keys)
    pygame.image.save(sheet, os.path.join(ASSET_DIR, TILES_FILE))

    sx, sy = world.spawn
    spawn_px = (sx * TILE + TILE // 2, sy * TILE + TILE // 2)
    tmx_path = os.path.join(ASSET_DIR, MAP_FILE)
    write_tmx(tmx_path, keys, sheet, ground, decor, spawn_px)

    avatars, meta = render_avatars()
    pygame.image.save(avatars, os.path.join(ASSET_DIR, AVATAR_FILE))
    templates, meta["templates"] = render_avatar_templates()
    pygame.image.save(templates, os.path.join(ASSET_DIR, AVATAR_TEMPLATE_FILE))
    with open(os.path.join(ASSET_DIR, AVATAR_META_FILE), "w", encoding="utf-8") as fh:
        text = readable_json(meta)
        fh.write(text + "\n")

    stats = verify_tmx(tmx_path, spawn_px)
    total = MAP_W * MAP_H
    print("tileset   : %d tiles (%dx%d px)" % (len(keys), sheet.get_width(), sheet.get_height()))
    print("map       : %d x %d tiles, spawn at pixel %s (cell %d,%d)"
          % (MAP_W, MAP_H, spawn_px, sx, sy))
    print("walkable  : %d cells (%.1f%%)" % (stats["walkable"], 100.0 * stats["walkable"] / total))
    print("reachable : %d of %d walkable cells from spawn (%s); %d pocket cells sealed"
          % (stats["reachable"], stats["walkable"],
             "ok" if stats["reachable"] == stats["walkable"] else "NOT ALL", filled))
    print("border    : %d open edge cells; 1-tile squeezes: %d"
          % (stats["border_open"], stats["squeezes"]))
    print("avatars   : %d looks x %d directions x %d frames"
          % (meta["looks"], len(meta["directions"]), meta["frames"]))
    if stats["reachable"] != stats["walkable"] or stats["border_open"]:
        print("map check failed", file=sys.stderr)
        return 1
    if args.preview:
        write_previews(args.preview, tiles, ground, decor, avatars, world.spawn)
        print("previews  : written to %s" % args.preview)
    return 0


if __name__ == "__main__":
    sys.exit(main())
