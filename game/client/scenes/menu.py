"""The in-game menu: Escape in the world opens it over the world, which keeps
going underneath (other players move, messages arrive).

Main page: Resume, Settings, (for the owner and moderators: Announce…,
Who is on…, which the world adds), Log out, Quit game.  Settings page: Display
(window or fullscreen, also F11), Volume, Sound (on or muted), Your look
(opens the look editor, also L in the world), Delete my account, Back.  The
delete page asks for the password, says the deletion is for good (and that
the name is kept from others for ``RETIRED_NAME_DAYS`` days), asks the host
(``POST /api/account/delete``, off the loop) and goes back to the login
screen with a message.  Every
setting takes effect at once and is saved in the client settings.

Controls: Up/Down (or W/S) choose, Enter or Space select, Left/Right (or A/D)
change a setting, Escape goes back (from the main page: back to the game).
The mouse works too: point to choose, click to select; click the volume bar
to set the volume.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

import pygame

from game.core import protocol as P

from .. import theme
from ..app import Display, Scene, register_scene
from ..net import HostError
from ..sound import MESSAGE

MAIN, SETTINGS, DELETE = "main", "settings", "delete"
# How long the host keeps a deleted account's name from others (the host's rule).
RETIRED_NAME_DAYS = P.RETIRED_NAME_DAYS
PASSWORD_MAX = 128
DELETE_TEXT_H = 96  # the delete page's explanation, above its rows
PROBLEM_H = 26      # and the line under its rows saying what went wrong
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
        # The delete page: the password typed (never drawn), the host's answer
        # put on a queue by the thread that asked, and a problem to show.
        self.password = ""
        self.deleting = False
        self.delete_problem = ""
        self.answers: queue.Queue = queue.Queue()

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
        if self.page == DELETE:
            return [Item("password", "Password", "password", "•" * len(self.password)),
                    Item("confirm", "Deleting…" if self.deleting else "Delete for good"),
                    Item("back", "Cancel")]
        return self.settings_items() + [Item("delete", "Delete my account…"), Item("back", "Back")]

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
        self.password, self.delete_problem = "", ""

    def activate(self, key: str) -> None:
        if key == "resume":
            self.app.pop()
        elif key == "settings":
            self.show(SETTINGS)
        elif key == "back":
            self.show(SETTINGS if self.page == DELETE else MAIN)
        elif key == "logout":
            self.log_out()
        elif key == "delete":
            self.show(DELETE)
        elif key in ("confirm", "password"):
            self.delete_account()
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

    def delete_account(self) -> None:
        """Ask the host to delete this account, with the password typed; the
        answer comes back through ``answers`` (see ``update``)."""
        if self.deleting:
            return
        if not self.password:
            self.delete_problem = "Type your password first."
            return
        client, name, password = self.world.client, self.world.me_name, self.password
        self.deleting, self.delete_problem = True, ""

        def ask() -> None:  # off the loop: the host may be slow or gone
            try:
                client.delete_account(name, password)
            except HostError as exc:
                self.answers.put(exc)
            except Exception as exc:  # never let the menu wait for ever
                self.answers.put(HostError("unreachable", str(exc) or "the host did not answer"))
            else:
                self.answers.put(None)

        threading.Thread(target=ask, name="delete-account", daemon=True).start()

    def update(self, dt: float) -> None:
        try:
            problem = self.answers.get_nowait()
        except queue.Empty:
            return
        self.deleting = False
        if problem is None:
            self.deleted()
        elif problem.code == "bad_credentials":
            self.delete_problem = "That is not your password. Nothing was deleted."
            self.password = ""
        else:
            self.delete_problem = f"Not deleted: {problem.message}"

    def deleted(self) -> None:
        """The account is gone: leave the world and go back to the login screen."""
        message, client = self.world.deleted_message(), self.world.client
        self.world.ended = True
        client.close()
        Display.set_caption()
        self.app.replace(self.app.make("login", message=message))

    # -- input --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        items = self.items()
        if self.page == DELETE and self.type_password(event, items):
            return
        if event.type == pygame.KEYDOWN:
            key = event.key
            if key == pygame.K_ESCAPE:
                if self.page == MAIN:
                    self.app.pop()
                else:
                    self.show(SETTINGS if self.page == DELETE else MAIN)
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

    def type_password(self, event: pygame.event.Event, items: list[Item]) -> bool:
        """Typing on the delete page goes into the password; True when used."""
        if self.deleting:
            return event.type in (pygame.KEYDOWN, pygame.TEXTINPUT)
        if event.type == pygame.TEXTINPUT:
            self.password = (self.password + event.text)[:PASSWORD_MAX]
            self.selected = 0
            return True
        if event.type == pygame.KEYDOWN and event.key == pygame.K_BACKSPACE:
            self.password = self.password[:-1]
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_w, pygame.K_s, pygame.K_a,
                                                          pygame.K_d, pygame.K_SPACE):
            return True  # letters of the password, not moves through the menu
        return False

    def item_at(self, pos: tuple[int, int]) -> int | None:
        for index, rect in enumerate(self.rects):
            if rect.collidepoint(pos):
                return index
        return None

    # -- drawing --------------------------------------------------------------------------
    def layout(self, size: tuple[int, int]) -> pygame.Rect:
        """The panel's place, and every row's (kept for the mouse)."""
        count = len(self.items())
        top = TITLE_H + (DELETE_TEXT_H if self.page == DELETE else 0)
        height = top + count * ROW_H + (count - 1) * ROW_GAP + FOOTER_H
        if self.page == DELETE:
            height += PROBLEM_H  # room for the host's refusal above the hint
        panel = pygame.Rect(0, 0, PANEL_W + (60 if self.page == DELETE else 0), height)
        panel.center = (size[0] // 2, size[1] // 2)
        self.rects = [pygame.Rect(panel.centerx - ROW_W // 2, panel.y + top + i * (ROW_H + ROW_GAP),
                                  ROW_W, ROW_H) for i in range(count)]
        return panel

    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        size = surface.get_size()
        surface.blit(theme.translucent(size, theme.SHADE, 150, 0), (0, 0))
        panel = self.layout(size)
        surface.blit(theme.translucent(panel.size, theme.PANEL, 240, 14), panel)
        theme.rounded_rect(surface, theme.PANEL_EDGE, panel, 14, 1)
        title = {MAIN: "Menu", SETTINGS: "Settings", DELETE: "Delete my account"}[self.page]
        theme.draw_text(surface, title, (panel.centerx, panel.y + 18), 24, bold=True, anchor="midtop")
        if self.page == MAIN:
            sub = f"Logged in as {self.world.me_name} · the world goes on meanwhile"
        elif self.page == DELETE:
            sub = f"This deletes {self.world.me_name} for good."
            lines = ["Your account, where you stood and your look are removed;",
                     "others see your messages as from “deleted player”.",
                     f"Nobody else can take the name for {RETIRED_NAME_DAYS} days.",
                     "Type your password and choose “Delete for good”."]
            for i, line in enumerate(lines):
                theme.draw_text(surface, line, (panel.centerx, panel.y + TITLE_H + 2 + i * 19), 13,
                                theme.INK, anchor="midtop")
            if self.delete_problem:
                theme.draw_text(surface, self.delete_problem,
                                (panel.centerx, self.rects[-1].bottom + 8), 13, theme.BAD,
                                anchor="midtop")
        else:
            sub = "Changes apply at once and are remembered"
        theme.draw_text(surface, sub, (panel.centerx, panel.y + 50), 13, theme.MUTED, anchor="midtop")
        self.selected %= len(self.rects)
        for index, (item, rect) in enumerate(zip(self.items(), self.rects)):
            self.draw_item(surface, item, rect, index == self.selected)
        hint = "Up/Down: choose    Left/Right: change    Esc: back" if self.page == SETTINGS else \
            "Type the password    Enter: delete    Esc: cancel" if self.page == DELETE else \
            "Up/Down: choose    Enter: select    Esc: back to the game"
        theme.draw_text(surface, hint, (panel.centerx, panel.bottom - 30), 12, theme.MUTED,
                        anchor="midtop")

    def draw_item(self, surface: pygame.Surface, item: Item, rect: pygame.Rect, selected: bool) -> None:
        if item.kind == "password":
            theme.rounded_rect(surface, theme.SHADE, rect, 8)
            theme.rounded_rect(surface, theme.ACCENT if selected else theme.PANEL_EDGE, rect, 8,
                               2 if selected else 1)
            shown = item.value or "Password"
            theme.draw_text(surface, shown[:40], (rect.x + 16, rect.centery), 16,
                            theme.INK if item.value else theme.MUTED, anchor="midleft")
            return
        if item.kind == "button":
            danger = item.key in ("quit", "delete", "confirm")
            fill = ((170, 60, 60) if item.key == "confirm" else (61, 114, 184)) if selected \
                else theme.PANEL_ALT
            theme.rounded_rect(surface, fill, rect, 8)
            theme.rounded_rect(surface, theme.ACCENT if selected else theme.PANEL_EDGE, rect, 8, 1)
            colour = theme.BAD if danger and not selected else theme.INK
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
