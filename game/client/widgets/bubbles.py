"""Speech bubbles: what a player said aloud, above their avatar for a few seconds.

Each speaker gets a stack of their last ``STACK_MAX`` lines, the newest at the
bottom, just above their name tag; older lines are pushed upward and fade
out after ``shown_for`` seconds.  A long line wraps to ``BUBBLE_TEXT_W``
pixels and at most ``WRAP_ROWS`` rows (the rest is cut with an ellipsis: the
whole line is in the chat's Nearby log).

When speakers stand close together their stacks would cover each other, so
``arrange`` places them one by one (the speaker lowest on the screen, in
front, first, as the avatars are drawn) and moves each stack that would
overlap one already placed to the nearest free place above or beside it;
a moved stack keeps a thin line to its speaker's head.

``add``, ``expire`` and ``arrange`` are pure apart from measuring text;
``draw`` paints on any surface, so tests check it headless.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pygame

from game.core import protocol as P

from .. import theme

FONT_SIZE = 13
ROW_H = 17
PAD_X, PAD_Y = 8, 5
BUBBLE_TEXT_W = 190   # pixels of text per row, at most
WRAP_ROWS = 4         # rows of one bubble, at most
STACK_MAX = 3         # bubbles one speaker shows at once
STACK_GAP = 4         # between two bubbles of one speaker
CLEAR_GAP = 4         # kept between two speakers' stacks
TAIL_H = 6            # the little point under the newest bubble
SHOWN_MIN_S = 4.0     # how long a line stays: this, plus a little per character,
SHOWN_PER_CHAR_S = 0.06
SHOWN_MAX_S = 10.0    # up to this
FADE_S = 0.6          # the last part of that, fading out
NUDGE_TRIES = 40
# The game's colours (theme.py): light paper for the bubble, the panel's ink
# for its text and edge; our own lines edged in the accent colour.
BUBBLE_FILL = theme.SPEECH
BUBBLE_INK = theme.PANEL
BUBBLE_EDGE = theme.PANEL_EDGE
BUBBLE_EDGE_MINE = theme.ACCENT
LEADER = theme.SPEECH


def shown_for(text: str) -> float:
    """Seconds a line stays above its speaker: longer lines stay longer."""
    return min(SHOWN_MAX_S, SHOWN_MIN_S + SHOWN_PER_CHAR_S * len(text))


@dataclass
class Bubble:
    text: str
    said_at: float  # on the caller's clock
    until: float
    rows: list[str] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)
    images: dict = field(default_factory=dict, repr=False)  # drawn once per edge colour


@dataclass
class Placed:
    """One speaker's stack where ``arrange`` put it."""

    speaker: int
    anchor: tuple[int, int]            # the point above the speaker's head
    rect: pygame.Rect                  # the whole stack
    bubbles: list[tuple[Bubble, pygame.Rect]]
    moved: bool                        # not in its natural place (a leader line is drawn)


def wrap_rows(text: str, font: pygame.font.Font) -> list[str]:
    """The rows of a bubble: wrapped, at most WRAP_ROWS, the last cut with "…"."""
    rows = [row for row in theme.wrap(text, font, BUBBLE_TEXT_W)] or [""]
    if len(rows) > WRAP_ROWS:
        rows = rows[:WRAP_ROWS]
        last = rows[-1]
        while last and font.size(last + "…")[0] > BUBBLE_TEXT_W:
            last = last[:-1]
        rows[-1] = last.rstrip() + "…"
    return rows


class SpeechBubbles:
    def __init__(self):
        self.said: dict[int, list[Bubble]] = {}  # speaker id -> their lines, oldest first
        self.mine: int | None = None  # our own id: our bubbles are edged in the accent
        self.placed: list[Placed] = []  # what the last draw placed (for tests and tools)

    def add(self, speaker: int, text: str, now: float) -> Bubble:
        text = P.visible_text(text)
        font = theme.font(FONT_SIZE)
        rows = wrap_rows(text, font)
        width = max(font.size(row)[0] for row in rows) + 2 * PAD_X
        bubble = Bubble(text, now, now + shown_for(text), rows,
                        (max(width, 24), len(rows) * ROW_H + 2 * PAD_Y))
        stack = self.said.setdefault(speaker, [])
        stack.append(bubble)
        del stack[:-STACK_MAX]
        return bubble

    def forget(self, speaker: int) -> None:
        """The speaker left, changed map or was blocked: their bubbles go."""
        self.said.pop(speaker, None)

    def clear(self) -> None:
        self.said.clear()

    def expire(self, now: float) -> None:
        for speaker in list(self.said):
            kept = [b for b in self.said[speaker] if b.until > now]
            if kept:
                self.said[speaker] = kept
            else:
                del self.said[speaker]

    def __bool__(self) -> bool:
        return bool(self.said)

    # -- placing ----------------------------------------------------------------------
    def _stack(self, speaker: int, anchor: tuple[int, int]) -> Placed:
        """A speaker's stack in its natural place: centred over the anchor,
        the newest bubble's point touching it."""
        bubbles = self.said[speaker]
        width = max(b.size[0] for b in bubbles)
        height = sum(b.size[1] for b in bubbles) + STACK_GAP * (len(bubbles) - 1) + TAIL_H
        rect = pygame.Rect(0, 0, width, height)
        rect.midbottom = anchor
        return Placed(speaker, anchor, rect, [], False)

    def arrange(self, anchors: dict[int, tuple[int, int]], bounds: pygame.Rect) -> list[Placed]:
        """Place the stacks of every speaker with an anchor (a speaker not on
        screen shows nothing), none covering another, inside ``bounds`` where
        they fit."""
        speakers = sorted((s for s in self.said if s in anchors),
                          key=lambda s: (-anchors[s][1], anchors[s][0]))
        placed: list[Placed] = []
        for speaker in speakers:
            stack = self._stack(speaker, anchors[speaker])
            natural = stack.rect.copy()
            self._clamp(natural, bounds)
            stack.rect = self._free_spot(natural, [p.rect for p in placed], bounds)
            stack.moved = stack.rect.topleft != natural.topleft or \
                natural.midbottom != anchors[speaker]
            y = stack.rect.bottom - TAIL_H
            for bubble in reversed(self.said[speaker]):  # newest at the bottom
                w, h = bubble.size
                box = pygame.Rect(0, 0, w, h)
                box.midbottom = (stack.rect.centerx, y)
                stack.bubbles.append((bubble, box))
                y -= h + STACK_GAP
            placed.append(stack)
        self.placed = placed
        return placed

    @staticmethod
    def _clamp(rect: pygame.Rect, bounds: pygame.Rect) -> None:
        if rect.width <= bounds.width:
            rect.clamp_ip(pygame.Rect(bounds.x, -10**6, bounds.width, 2 * 10**6))
        if rect.top < bounds.top and rect.height <= bounds.height:
            rect.top = bounds.top

    @staticmethod
    def _free_spot(rect: pygame.Rect, taken: list[pygame.Rect],
                   bounds: pygame.Rect) -> pygame.Rect:
        """The place nearest ``rect`` (moving up costs less than sideways,
        moving down more) that overlaps nothing in ``taken``."""
        def hits(r: pygame.Rect) -> pygame.Rect | None:
            grown = r.inflate(2 * CLEAR_GAP, 2 * CLEAR_GAP)
            index = grown.collidelist(taken)
            return taken[index] if index >= 0 else None

        def cost(r: pygame.Rect) -> float:
            dx, dy = r.x - rect.x, r.y - rect.y
            return abs(dx) * 1.5 + (-dy if dy < 0 else dy * 3)

        if hits(rect) is None:
            return rect
        seen = {rect.topleft}
        frontier = [rect]
        best: pygame.Rect | None = None
        for _ in range(NUDGE_TRIES):
            if not frontier:
                break
            frontier.sort(key=cost)
            current = frontier.pop(0)
            if best is not None and cost(current) >= cost(best):
                break
            other = hits(current)
            if other is None:
                best = current
                continue
            for moved in (current.move(0, other.top - CLEAR_GAP - current.bottom),
                          current.move(other.left - CLEAR_GAP - current.right, 0),
                          current.move(other.right + CLEAR_GAP - current.left, 0)):
                if moved.left < bounds.left or moved.right > bounds.right:
                    continue
                if moved.topleft not in seen:
                    seen.add(moved.topleft)
                    frontier.append(moved)
        if best is None:  # crowded: above everything near it
            best = rect.copy()
            best.bottom = min([t.top for t in taken if t.right > rect.left
                               and t.left < rect.right] + [rect.bottom]) - CLEAR_GAP
        return best

    # -- drawing ------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, anchors: dict[int, tuple[int, int]], now: float,
             bounds: pygame.Rect | None = None) -> list[Placed]:
        """Draw every bubble whose speaker has an anchor (a screen point just
        above their name tag); returns where the stacks went."""
        self.expire(now)
        if not self.said:
            self.placed = []
            return []
        bounds = bounds or surface.get_rect()
        font = theme.font(FONT_SIZE)
        placed = self.arrange(anchors, bounds)
        for stack in placed:  # first the lines, so no bubble is crossed by one
            if stack.moved and stack.bubbles:
                # A thin line from the moved stack down to the speaker's head.
                newest = stack.bubbles[0][1]
                pygame.draw.line(surface, BUBBLE_EDGE, (newest.centerx, newest.bottom),
                                 stack.anchor, 3)
                pygame.draw.line(surface, LEADER, (newest.centerx, newest.bottom),
                                 stack.anchor, 1)
        for stack in placed:
            edge = BUBBLE_EDGE_MINE if stack.speaker == self.mine else BUBBLE_EDGE
            newest = stack.bubbles[0][1] if stack.bubbles else None
            for bubble, box in stack.bubbles:
                alpha = max(0.0, min(1.0, (bubble.until - now) / FADE_S))
                image = self._image(bubble, font, edge, box is newest)
                if alpha < 1.0:
                    image = image.copy()
                    image.set_alpha(int(255 * alpha))
                surface.blit(image, (box.x, box.y))
        return placed

    def _image(self, bubble: Bubble, font: pygame.font.Font, edge, pointed: bool) -> pygame.Surface:
        key = (edge, pointed)
        cache = bubble.images
        image = cache.get(key)
        if image is not None:
            return image
        w, h = bubble.size
        image = pygame.Surface((w, h + (TAIL_H if pointed else 0)), pygame.SRCALPHA)
        box = pygame.Rect(0, 0, w, h)
        if pointed:  # the point under the newest bubble, towards the speaker
            cx = w // 2
            tail = [(cx - 6, h - 2), (cx + 6, h - 2), (cx, h + TAIL_H - 1)]
            pygame.draw.polygon(image, BUBBLE_FILL, tail)
            pygame.draw.lines(image, edge, False, [tail[0], tail[2], tail[1]], 1)
        theme.rounded_rect(image, BUBBLE_FILL, box, 8)
        theme.rounded_rect(image, edge, box, 8, 1)
        if pointed:  # the point joins the bubble without an edge between
            pygame.draw.line(image, BUBBLE_FILL, (w // 2 - 5, h - 1), (w // 2 + 5, h - 1), 1)
        for i, row in enumerate(bubble.rows):
            text = font.render(row, True, BUBBLE_INK)
            image.blit(text, (PAD_X, PAD_Y + i * ROW_H))
        cache[key] = image
        return image
