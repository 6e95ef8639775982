"""The in-game menu: Escape in the world opens it over the world, which keeps
going underneath (other players move, messages arrive).

Main page: Resume, Settings, (for the owner and moderators: Announce…,
Who is on…, which the world adds), Log out, Quit game.  Settings page: Display
(window or fullscreen, also F11), Volume, Sound (on or muted), Your look
(opens the look editor, also L in the world), Back.  Every
setting takes effect at once and is saved in the client settings.

Controls: Up/Down (or W/S) choose, Enter or Space select, Left/Right (or A/D)
change a setting, Escape goes back (from the main page: back to the game).
The mouse works too: point to choose, click to select; click the volume bar
to set the volume.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pygame

from .. import theme
from ..app import Display, Scene, register_scene
from ..sound import MESSAGE

MAIN, SETTINGS = "main", "settings"
PANEL_W = 400
ROW_W, ROW_H, ROW_GAP = 340, 42, 10
TITLE_H = 76
FOOTER_H = 44
VOLUME_STEP = 0.1
SLIDER_W = 140


@dataclass
class Item:
    """One row of the menu."""

    key: str
    label: str
    kind: str = "button"  # "button" (select it), "choice" (Left/Right flips it), "slider"
    value: str = ""       # what a choice or slider is set to, drawn on the right


@register_scene("menu")
class MenuScene(Scene):
    overlay = True

    def __init__(self, world):
        self.world = world  # the scene under the menu (it owns the connection)
        self.page = MAIN
        self.selected = 0
        self.rects: list[pygame.Rect] = []  # each item's place in the last frame
        self.slider_rect = pygame.Rect(0, 0, 0, 0)

    # -- what the settings are now ----------------------------------------------------
    @property
    def settings(self):
        return self.app.services.get("settings")

    @property
    def sound(self):
        return self.app.services.get("sound")

    @property
    def fullscreen(self) -> bool:
        return self.app.display.fullscreen if self.app.display is not None else False

    @property
    def volume(self) -> float:
        if self.sound is not None:
            return self.sound.volume
        return self.settings.volume if self.settings is not None else 0.0

    @property
    def muted(self) -> bool:
        if self.sound is not None:
            return self.sound.muted
        return self.settings.muted if self.settings is not None else True

    def items(self) -> list[Item]:
        if self.page == MAIN:
            return [Item("resume", "Resume"), Item("settings", "Settings")] + \
                self.world_items() + [Item("logout", "Log out"), Item("quit", "Quit game")]
        return self.settings_items() + [Item("back", "Back")]

    def world_items(self) -> list[Item]:
        """Rows the world adds for this player: Announce… and Who is on… for
        the owner and moderators (``WorldScene.menu_entries``)."""
        entries = getattr(self.world, "menu_entries", None)
        return [Item("world:" + key, label) for key, label in (entries() if entries else [])]

    def settings_items(self) -> list[Item]:
        """The rows of the settings page, top to bottom.  A new setting (such
        as the player's look, which would open its own editor when selected)
        is one more ``Item`` here and a case in ``activate``/``adjust``."""
        return [
            Item("display", "Display", "choice", "Fullscreen" if self.fullscreen else "Window"),
            Item("volume", "Volume", "slider", f"{round(self.volume * 100)} %"),
            Item("mute", "Sound", "choice", "Muted" if self.muted else "On"),
            Item("look", "Your look…"),
        ]

    # -- actions ------------------------------------------------------------------------
    def show(self, page: str) -> None:
        self.page, self.selected = page, 0

    def activate(self, key: str) -> None:
        if key == "resume":
            self.app.pop()
        elif key == "settings":
            self.show(SETTINGS)
        elif key == "back":
            self.show(MAIN)
        elif key == "logout":
            self.log_out()
        elif key == "quit":
            self.app.running = False
        elif key.startswith("world:"):  # the world's own (Announce…), over the world
            self.app.pop()
            self.world.menu_action(key[len("world:"):])
        elif key == "look":  # the look editor opens over the world, in place of the menu
            self.app.pop()
            self.world.open_look_editor()
        elif key in ("display", "mute", "volume"):
            self.adjust(key, +1)

    def adjust(self, key: str, direction: int) -> None:
        if key == "display":
            self.app.set_fullscreen(not self.fullscreen)
        elif key == "mute":
            self.set_sound(muted=not self.muted)
        elif key == "volume":
            self.set_sound(volume=self.volume + direction * VOLUME_STEP)

    def set_sound(self, volume: float | None = None, muted: bool | None = None) -> None:
        sound, settings = self.sound, self.settings
        if sound is not None:
            if volume is not None:
                sound.set_volume(volume)
            if muted is not None:
                sound.set_muted(muted)
            volume, muted = sound.volume, sound.muted
            sound.play(MESSAGE)  # so the player hears what they chose
        if settings is not None:
            if volume is not None:
                settings.volume = min(1.0, max(0.0, round(volume, 2)))
            if muted is not None:
                settings.muted = muted
            settings.save(self.app.services.get("settings_path"))

    def log_out(self) -> None:
        """End this session on the host and go back to the login screen."""
        client = self.world.client
        self.world.ended = True  # the world stops using the connection now

        def revoke() -> None:  # off the loop: the host may be slow or gone
            try:
                client.logout()
            except Exception:
                client.close()

        threading.Thread(target=revoke, name="logout", daemon=True).start()
        Display.set_caption()
        self.app.replace(self.app.make("login", message="You logged out."))

    # -- input --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        items = self.items()
        if event.type == pygame.KEYDOWN:
            key = event.key
            if key == pygame.K_ESCAPE:
                if self.page == MAIN:
                    self.app.pop()
                else:
                    self.show(MAIN)
            elif key in (pygame.K_UP, pygame.K_w):
                self.selected = (self.selected - 1) % len(items)
            elif key in (pygame.K_DOWN, pygame.K_s, pygame.K_TAB):
                self.selected = (self.selected + 1) % len(items)
            elif key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_SPACE):
                self.activate(items[self.selected].key)
            elif key in (pygame.K_LEFT, pygame.K_a, pygame.K_RIGHT, pygame.K_d):
                item = items[self.selected]
                if item.kind != "button":
                    self.adjust(item.key, -1 if key in (pygame.K_LEFT, pygame.K_a) else +1)
        elif event.type == pygame.MOUSEMOTION:
            index = self.item_at(event.pos)
            if index is not None:
                self.selected = index
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            index = self.item_at(event.pos)
            if index is None:
                return
            self.selected = index
            item = items[index]
            if item.kind == "slider":
                bar = self.slider_rect
                if bar.inflate(0, 16).collidepoint(event.pos):
                    self.set_sound(volume=round((event.pos[0] - bar.x) / bar.width, 2))
                else:
                    self.adjust(item.key, +1 if event.pos[0] > bar.centerx else -1)
            else:
                self.activate(item.key)

    def item_at(self, pos: tuple[int, int]) -> int | None:
        for index, rect in enumerate(self.rects):
            if rect.collidepoint(pos):
                return index
        return None

    # -- drawing --------------------------------------------------------------------------
    def layout(self, size: tuple[int, int]) -> pygame.Rect:
        """The panel's place, and every row's (kept for the mouse)."""
        count = len(self.items())
        height = TITLE_H + count * ROW_H + (count - 1) * ROW_GAP + FOOTER_H
        panel = pygame.Rect(0, 0, PANEL_W, height)
        panel.center = (size[0] // 2, size[1] // 2)
        self.rects = [pygame.Rect(panel.centerx - ROW_W // 2, panel.y + TITLE_H + i * (ROW_H + ROW_GAP),
                                  ROW_W, ROW_H) for i in range(count)]
        return panel

    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        size = surface.get_size()
        surface.blit(theme.translucent(size, theme.SHADE, 150, 0), (0, 0))
        panel = self.layout(size)
        surface.blit(theme.translucent(panel.size, theme.PANEL, 240, 14), panel)
        theme.rounded_rect(surface, theme.PANEL_EDGE, panel, 14, 1)
        title = "Menu" if self.page == MAIN else "Settings"
        theme.draw_text(surface, title, (panel.centerx, panel.y + 18), 24, bold=True, anchor="midtop")
        if self.page == MAIN:
            sub = f"Logged in as {self.world.me_name} · the world goes on meanwhile"
        else:
            sub = "Changes apply at once and are remembered"
        theme.draw_text(surface, sub, (panel.centerx, panel.y + 50), 13, theme.MUTED, anchor="midtop")
        self.selected %= len(self.rects)
        for index, (item, rect) in enumerate(zip(self.items(), self.rects)):
            self.draw_item(surface, item, rect, index == self.selected)
        hint = "Up/Down: choose    Left/Right: change    Esc: back" if self.page == SETTINGS else \
            "Up/Down: choose    Enter: select    Esc: back to the game"
        theme.draw_text(surface, hint, (panel.centerx, panel.bottom - 30), 12, theme.MUTED,
                        anchor="midtop")

    def draw_item(self, surface: pygame.Surface, item: Item, rect: pygame.Rect, selected: bool) -> None:
        if item.kind == "button":
            fill = (61, 114, 184) if selected else theme.PANEL_ALT
            theme.rounded_rect(surface, fill, rect, 8)
            theme.rounded_rect(surface, theme.ACCENT if selected else theme.PANEL_EDGE, rect, 8, 1)
            colour = theme.BAD if item.key == "quit" and not selected else theme.INK
            theme.draw_text(surface, item.label, rect.center, 17, colour, bold=True, anchor="center")
            return
        theme.rounded_rect(surface, (44, 52, 70) if selected else theme.PANEL_ALT, rect, 8)
        theme.rounded_rect(surface, theme.ACCENT if selected else theme.PANEL_EDGE, rect, 8, 1)
        theme.draw_text(surface, item.label, (rect.x + 16, rect.centery), 16, anchor="midleft")
        if item.kind == "choice":
            text = f"‹  {item.value}  ›" if selected else item.value
            theme.draw_text(surface, text, (rect.right - 16, rect.centery), 16,
                            theme.ACCENT if selected else theme.INK, bold=True, anchor="midright")
        else:  # the volume slider and its number
            self.slider_rect = bar = pygame.Rect(rect.right - 16 - SLIDER_W - 52, rect.centery - 4,
                                                 SLIDER_W, 8)
            theme.rounded_rect(surface, theme.SHADE, bar, 4)
            level = 0.0 if self.muted else self.volume
            filled = bar.copy()
            filled.width = round(bar.width * level)
            if filled.width:
                theme.rounded_rect(surface, theme.ACCENT, filled, 4)
            pygame.draw.circle(surface, theme.INK, (bar.x + filled.width, bar.centery), 7)
            theme.draw_text(surface, item.value, (rect.right - 16, rect.centery), 14,
                            theme.MUTED if self.muted else theme.INK, anchor="midright")
