"""Emotes over the avatars: a small pixel-art bubble beside a player's head,
to the right of their name tag (speech bubbles go above the tag, so an emote
never hides one).

The icons are drawn here, in code, on a fixed grid of ``GRID`` x ``GRID``
pixels (a 7 x 7 glyph in a white bubble with a dark outline and a tail
pointing at the head) and scaled up by ``ICON_SCALE``, like the rest of the
game's pixel art.  ``Emotes`` remembers who emoted what and until when
(``P.EMOTE_SHOW_S``), and who is away (shown with the ``sleep`` emote for as
long as it lasts); the world scene hands it the host's ``emoted``,
``player_away`` and player objects, and asks it for the blits of the frame.
"""
from __future__ import annotations

from typing import Callable, Iterable

import pygame

from game.core import protocol as P

ICON_SCALE = 2
GRID = 11        # the bubble, outline included: GRID x GRID, plus the tail below
TAIL_ROWS = 2
FADE_S = 0.5     # an emote fades out over its last half second
POP_S = 0.15     # ... and rises into place over its first moments
GAP_PX = 3       # between the name tag and the bubble

OUTLINE = (38, 32, 42)
BUBBLE = (250, 250, 244)

# Each glyph: 7 rows of 7 pixels, one character a pixel ('.' is the bubble),
# and the colour of each character.
GLYPHS: dict[str, tuple[tuple[str, ...], dict[str, tuple[int, int, int]]]] = {
    "wave": (("#.#.#..",
              "#.#.#..",
              "#.#.#.#",
              "#####.#",
              "######.",
              ".####..",
              ".###..."), {"#": (232, 170, 112)}),
    "heart": ((".##.##.",
               "#+#####",
               "#######",
               "#######",
               ".#####.",
               "..###..",
               "...#..."), {"#": (226, 58, 82), "+": (255, 178, 190)}),
    "laugh": ((".#####.",
               "#######",
               "#o###o#",
               "#######",
               "#ooooo#",
               ".#oro#.",
               "..###.."), {"#": (246, 200, 60), "o": (70, 40, 30), "r": (226, 88, 96)}),
    "question": (("..###..",
                  ".#...#.",
                  ".....#.",
                  "....#..",
                  "...#...",
                  ".......",
                  "...#..."), {"#": (60, 120, 220)}),
    "exclamation": (("..###..",
                     "..###..",
                     "..###..",
                     "...#...",
                     "...#...",
                     ".......",
                     "...#..."), {"#": (232, 84, 52)}),
    "sleep": (("...####",
               "....##.",
               "...##..",
               "...####",
               "###....",
               ".#.....",
               "###...."), {"#": (104, 96, 200)}),
}


def draw_icon(emote: str, scale: int = ICON_SCALE) -> pygame.Surface:
    """The emote's bubble, drawn on the grid and scaled by ``scale``."""
    rows, colours = GLYPHS[emote]
    grid = pygame.Surface((GRID, GRID + TAIL_ROWS), pygame.SRCALPHA)
    last = GRID - 1
    grid.fill(OUTLINE, (1, 0, GRID - 2, GRID))  # the outline: a box with its corners cut
    grid.fill(OUTLINE, (0, 1, GRID, GRID - 2))
    grid.fill(BUBBLE, (1, 1, GRID - 2, GRID - 2))
    grid.set_at((1, last), BUBBLE)  # the tail, down and left towards the head
    grid.set_at((2, last), BUBBLE)
    grid.set_at((0, last), OUTLINE)
    grid.set_at((3, last), OUTLINE)
    grid.set_at((0, last + 1), OUTLINE)
    grid.set_at((1, last + 1), BUBBLE)
    grid.set_at((2, last + 1), OUTLINE)
    grid.set_at((0, last + 2), OUTLINE)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch != ".":
                grid.set_at((2 + x, 2 + y), colours[ch])
    return pygame.transform.scale(grid, (grid.get_width() * scale, grid.get_height() * scale))


class Emotes:
    """Who shows which emote now; ``blits`` places them beside the name tags."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.shown: dict[int, tuple[str, float, float]] = {}  # id -> (emote, from, until)
        self.away: set[int] = set()
        self._icons: dict[str, pygame.Surface] = {}

    def icon(self, emote: str) -> pygame.Surface:
        found = self._icons.get(emote)
        if found is None:
            found = self._icons[emote] = draw_icon(emote)
        return found

    # -- what the host says ----------------------------------------------------------
    def on_emoted(self, data: dict) -> bool:
        """An ``emoted``; False when it is not one we can show."""
        pid, emote = data.get("from"), data.get("emote")
        if not isinstance(pid, int) or emote not in GLYPHS:
            return False
        now = self.clock()
        self.shown[pid] = (emote, now, now + P.EMOTE_SHOW_S)
        return True

    def set_away(self, pid, away) -> None:
        if not isinstance(pid, int):
            return
        if away is True:
            self.away.add(pid)
        else:
            self.away.discard(pid)

    def note_players(self, players: Iterable) -> None:
        """Player objects (welcome, player_joined, map_changed) carry ``away``."""
        for p in players:
            if isinstance(p, dict):
                self.set_away(p.get("id"), p.get("away"))

    def forget(self, pid) -> None:
        """The player left the world."""
        self.shown.pop(pid, None)
        self.away.discard(pid)

    # -- drawing -------------------------------------------------------------------------
    def current(self, pid: int) -> tuple[str, int, int] | None:
        """``(emote, alpha, rise px)`` to draw over ``pid`` now, or None: an
        emote while it lasts, else the sleep emote while they are away."""
        now = self.clock()
        entry = self.shown.get(pid)
        if entry is not None:
            emote, since, until = entry
            if now < until:
                alpha = 255 if until - now >= FADE_S else int(255 * (until - now) / FADE_S)
                rise = 0 if now - since >= POP_S else int(4 * (1 - (now - since) / POP_S))
                return emote, max(alpha, 0), rise
            del self.shown[pid]
        if pid in self.away:
            return "sleep", 255, 0
        return None

    def blits(self, heads: Iterable[tuple[int, pygame.Rect]]) -> list:
        """``(surface, position)`` for every player in ``heads`` (id, their name
        tag's rect on screen) who shows an emote: the bubble's tail at the
        tag's right end, its body above and to the right."""
        out = []
        for pid, tag in heads:
            found = self.current(pid)
            if found is None:
                continue
            emote, alpha, rise = found
            icon = self.icon(emote)
            if alpha < 255:
                icon = icon.copy()
                icon.set_alpha(alpha)
            out.append((icon, icon.get_rect(bottomleft=(tag.right + GAP_PX,
                                                       tag.bottom + rise))))
        return out
