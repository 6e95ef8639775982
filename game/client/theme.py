"""Colours, fonts and the pygame_gui theme shared by every screen."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pygame
import pygame_gui

FONT_DIR = Path(pygame_gui.__file__).resolve().parent / "data"
FONT_REGULAR = FONT_DIR / "NotoSans-Regular.ttf"
FONT_BOLD = FONT_DIR / "NotoSans-Bold.ttf"

INK = (236, 239, 244)
MUTED = (150, 160, 178)
PANEL = (24, 28, 38)
PANEL_EDGE = (58, 66, 84)
PANEL_ALT = (34, 40, 54)
ACCENT = (94, 170, 255)
GOOD = (84, 205, 120)
WARN = (246, 190, 70)
BAD = (240, 96, 96)
BADGE = (232, 74, 95)
BUBBLE_MINE = (52, 92, 150)
BUBBLE_THEIRS = (46, 52, 68)
SHADE = (10, 12, 18)
SPEECH = (246, 247, 250)  # the paper of the speech bubbles over the avatars


@lru_cache(maxsize=None)
def font(size: int, bold: bool = False) -> pygame.font.Font:
    return pygame.font.Font(str(FONT_BOLD if bold else FONT_REGULAR), size)


def gui_theme() -> dict:
    """pygame_gui theme: dark panels, rounded fields, the accent colour on focus."""
    def fnt(size: int, bold: bool = False) -> dict:
        return {"name": "noto_sans", "size": str(size), "bold": "1" if bold else "0"}

    field = {
        "colours": {
            "dark_bg": "#12151d", "normal_border": "#3a4254", "selected_border": "#5eaaff",
            "focused_border": "#5eaaff", "normal_text": "#eceff4", "selected_bg": "#2f5b94",
            "text_cursor": "#eceff4",
        },
        "misc": {"shape": "rounded_rectangle", "shape_corner_radius": "6", "border_width": "2",
                 "padding": "8,6"},
        "font": fnt(16),
    }
    button = {
        "colours": {
            "normal_bg": "#2f5b94", "hovered_bg": "#3d72b8", "active_bg": "#24476f",
            "disabled_bg": "#2a2f3b", "normal_text": "#ffffff", "hovered_text": "#ffffff",
            "active_text": "#ffffff", "disabled_text": "#7b8496", "normal_border": "#5eaaff",
            "hovered_border": "#9fcbff", "active_border": "#5eaaff",
        },
        "misc": {"shape": "rounded_rectangle", "shape_corner_radius": "6", "border_width": "1"},
        "font": fnt(16, True),
    }
    secondary = dict(button, colours=dict(button["colours"], normal_bg="#343c4e",
                                          hovered_bg="#434d63", active_bg="#2a3140",
                                          normal_border="#56607a"))
    return {
        "defaults": {"colours": {"normal_text": "#eceff4", "dark_bg": "#181c26"}},
        "text_entry_line": field,
        "button": button,
        "#secondary": secondary,
        "#chat_toggle": dict(secondary, font=fnt(14, True)),
        "label": {"font": fnt(16), "colours": {"normal_text": "#eceff4", "dark_bg": "#00000000"}},
    }


def make_manager(size: tuple[int, int]) -> pygame_gui.UIManager:
    manager = pygame_gui.UIManager(size, gui_theme(), enable_live_theme_updates=False)
    return manager


def draw_text(surface: pygame.Surface, text: str, pos: tuple[int, int], size: int = 16,
              colour=INK, bold: bool = False, anchor: str = "topleft") -> pygame.Rect:
    image = font(size, bold).render(text, True, colour)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    return rect


def rounded_rect(surface: pygame.Surface, colour, rect, radius: int = 8, width: int = 0) -> None:
    pygame.draw.rect(surface, colour, rect, width, border_radius=radius)


@lru_cache(maxsize=64)
def translucent(size: tuple[int, int], colour, alpha: int, radius: int = 10) -> pygame.Surface:
    """A rounded, see-through panel (cached: treat the result as read-only)."""
    image = pygame.Surface(size, pygame.SRCALPHA)
    pygame.draw.rect(image, (*colour[:3], alpha), image.get_rect(), border_radius=radius)
    return image


def wrap(text: str, font: pygame.font.Font, width: int) -> list[str]:
    """Break text into lines no wider than ``width`` (long words are split)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if font.size(trial)[0] <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            while font.size(word)[0] > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and font.size(word[:cut])[0] > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines
