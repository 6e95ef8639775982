"""The login screen: server address, username, password, Log in / Register.

Beside the form (when the window is wide enough) a look picker shows the
avatar a new account gets; Register sends it.  Tab and Shift+Tab move between
the fields, Enter logs in.  Logging in talks
HTTP and opens the game connection on a worker thread, so the window keeps
drawing; host errors are shown in words under the form.
"""
from __future__ import annotations

import math
import queue
import random
import threading

import pygame
import pygame_gui

from game.core import protocol as P
from game.client.net import HostClient, HostError, normalise_url, registration

from .. import theme
from ..app import Scene, register_scene
from ..widgets.announce import clock_time, from_ms

CARD_W, CARD_H = 400, 450
FIELD_H = 38
LOOK_PANEL_W = 340
LOOK_GAP = 20


# Why registering failed, by the host's error code or its /api/health "registration".
REGISTRATION_REFUSALS = {
    P.E_REGISTRATION_CLOSED: "This host is not taking new players: registration is closed.",
    P.E_NOT_INVITED: "This host is invite only, and that name is not on its list. "
                     "Ask the host to invite you.",
}
REGISTRATION_STATES = {P.REGISTRATION_CLOSED: REGISTRATION_REFUSALS[P.E_REGISTRATION_CLOSED],
                       P.REGISTRATION_INVITE_ONLY: REGISTRATION_REFUSALS[P.E_NOT_INVITED]}


def describe_error(exc: HostError, server: str) -> str:
    """Host refusals in words a player understands."""
    if exc.code == P.E_BAD_CREDENTIALS:
        return "Wrong username or password."
    if exc.code == P.E_NAME_TAKEN:
        return "That name is taken. Pick another, or Log in if it is yours."
    if exc.code == "unreachable":
        return f"Can't reach a host at {server}. Is it running, and is the address right?"
    if P.E_BANNED in (exc.code, exc.details.get("error")):  # at login, or at connect
        until = from_ms(exc.details.get("until"))
        when = f"Banned until {clock_time(until)}" if until is not None else "Banned for good"
        why = exc.details.get("reason", exc.message)
        return f"{when}: {why}" if why else f"{when}."
    if exc.code in REGISTRATION_REFUSALS:
        return REGISTRATION_REFUSALS[exc.code]
    if exc.code == P.E_NAME_RETIRED:
        until = from_ms(exc.details.get("until"))
        free = f" It is free again on {clock_time(until)}." if until is not None else ""
        return f"That name belonged to an account that was deleted.{free}"
    if exc.code == "connect_failed":
        return f"The host refused to let you in: {exc.message}"
    return exc.message[:1].upper() + exc.message[1:] if exc.message else "The host said no."


def check_form(server: str, username: str, password: str, registering: bool) -> str | None:
    """Problems worth catching before asking the host."""
    if not server.strip():
        return "Enter the address of the host, for example http://127.0.0.1:5000."
    if not username:
        return "Enter your username."
    if not password:
        return "Enter your password."
    if registering:
        if not P.is_valid_username(username):
            return "Usernames are 3 to 20 letters, digits, '_' or '-'."
        if len(password) < P.PASSWORD_MIN:
            return f"Passwords need at least {P.PASSWORD_MIN} characters."
    return None


@register_scene("login")
class LoginScene(Scene):
    def __init__(self, message: str = "", server: str | None = None, username: str | None = None):
        self.message = message  # shown in red: why we are here
        self.initial_server = server
        self.initial_username = username
        self.status = ""  # shown while working
        self.busy = False
        self._results: queue.Queue = queue.Queue()
        self._started_at = 0.0

    # -- lifecycle ------------------------------------------------------------------
    def enter(self) -> None:
        settings = self.app.services.get("settings")
        size = self.app.surface.get_size()
        self.manager = theme.make_manager(size)
        server = self.initial_server or (settings.server if settings else "")
        username = self.initial_username if self.initial_username is not None else (
            settings.username if settings else "")
        m = self.manager
        self.server_entry = pygame_gui.elements.UITextEntryLine(
            pygame.Rect(0, 0, 300, FIELD_H), m, object_id="#server",
            placeholder_text="http://address:5000")
        self.user_entry = pygame_gui.elements.UITextEntryLine(
            pygame.Rect(0, 0, 300, FIELD_H), m, object_id="#username",
            placeholder_text="3 to 20 letters, digits, _ or -")
        self.password_entry = pygame_gui.elements.UITextEntryLine(
            pygame.Rect(0, 0, 300, FIELD_H), m, object_id="#password")
        self.password_entry.set_text_hidden(True)
        self.user_entry.set_text_length_limit(20)
        self.password_entry.set_text_length_limit(P.PASSWORD_MAX)
        self.server_entry.set_text(server)
        self.user_entry.set_text(username)
        self.login_button = pygame_gui.elements.UIButton(pygame.Rect(0, 0, 160, 40), "Log in", m)
        self.register_button = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, 160, 40), "Register", m, object_id="#secondary")
        self.fields = [self.server_entry, self.user_entry, self.password_entry]
        self.picker = self._make_picker()
        self.layout(size)
        self.focus(self.password_entry if username else self.user_entry)

    def exit(self) -> None:
        self.manager.clear_and_reset()

    def resize(self, size: tuple[int, int]) -> None:
        self.manager.set_window_resolution(size)
        self.layout(size)

    def _make_picker(self):
        """The look picker, or None when the avatar art cannot be loaded."""
        from .look import LookPicker

        services = self.app.services
        art = services.get("look_art")
        if art is None:
            avatars = services.get("avatars")
            try:
                from ..sprites import LookArt

                art = avatars.chosen if avatars is not None else LookArt()
            except (OSError, ValueError, KeyError, pygame.error):
                return None
            services["look_art"] = art
        return LookPicker(P.random_look(random.Random()), art)

    def layout(self, size: tuple[int, int]) -> None:
        w, h = size
        self.card = pygame.Rect(0, 0, CARD_W, CARD_H)
        self.card.center = (w // 2, h // 2)
        # The look picker goes beside the form when both fit.
        self.look_panel = None
        if self.picker is not None and w >= CARD_W + LOOK_GAP + LOOK_PANEL_W + 60:
            self.card.x = (w - CARD_W - LOOK_GAP - LOOK_PANEL_W) // 2
            self.look_panel = pygame.Rect(self.card.right + LOOK_GAP, self.card.y,
                                          LOOK_PANEL_W, CARD_H)
            self.picker.layout((self.look_panel.x + 20, self.look_panel.y + 72),
                               LOOK_PANEL_W - 40)
        x = self.card.x + 40
        y = self.card.y + 104
        self.captions = []
        for caption, entry in zip(("Server", "Username", "Password"), self.fields):
            self.captions.append((caption, (x, y)))
            entry.set_relative_position((x, y + 20))
            entry.set_dimensions((CARD_W - 80, FIELD_H))
            y += 68
        half = (CARD_W - 80 - 10) // 2
        self.login_button.set_relative_position((x, y + 12))
        self.register_button.set_relative_position((x + half + 10, y + 12))
        self.login_button.set_dimensions((half, 40))
        self.register_button.set_dimensions((half, 40))
        self.message_pos = (self.card.centerx, y + 70)

    # -- input ----------------------------------------------------------------------
    def focus(self, entry) -> None:
        self.manager.set_focus_set(entry)

    def focused_index(self) -> int:
        for i, entry in enumerate(self.fields):
            if entry.is_focused:
                return i
        return -1

    def handle_event(self, event: pygame.event.Event) -> None:
        if self.look_panel is not None and self.picker.handle_event(event, keyboard=False):
            return
        if event.type == pygame.KEYDOWN and event.key == pygame.K_TAB:
            step = -1 if event.mod & pygame.KMOD_SHIFT else 1
            self.focus(self.fields[(self.focused_index() + step) % len(self.fields)])
            return
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.submit(registering=False)
            return
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            if event.ui_element is self.login_button:
                self.submit(registering=False)
            elif event.ui_element is self.register_button:
                self.submit(registering=True)
            return
        self.manager.process_events(event)

    def values(self) -> tuple[str, str, str]:
        return (self.server_entry.get_text().strip(), self.user_entry.get_text().strip(),
                self.password_entry.get_text())

    def submit(self, registering: bool) -> None:
        if self.busy or not self.host_ready():
            return
        server, username, password = self.values()
        problem = check_form(server, username, password, registering)
        if problem:
            self.message = problem
            return
        self.busy = True
        self.message = ""
        self.status = "Creating your account…" if registering else "Logging in…"
        self._started_at = self.app.now
        # A new account gets the look shown beside the form (none shown: a random one).
        look = self.picker.look if registering and self.look_panel is not None else None
        threading.Thread(target=self._connect,
                         args=(server, username, password, registering, look),
                         name="login", daemon=True).start()

    def _connect(self, server: str, username: str, password: str, registering: bool,
                 look: P.Look | None = None) -> None:
        """Worker thread: HTTP login or register, then the game connection."""
        client = HostClient(server)
        try:
            if registering:
                client.register(username, password, look)
            else:
                client.login(username, password)
            client.connect()
        except HostError as exc:
            client.close()
            text = describe_error(exc, normalise_url(server))
            if registering and exc.status == 403 and exc.code not in REGISTRATION_REFUSALS:
                # An older wording or none: the host's health says who may register.
                text = REGISTRATION_STATES.get(registration(server) or "", text)
            self._results.put(("error", text))
            return
        except Exception as exc:  # a malformed address, an unexpected answer
            client.close()
            self._results.put(("error", f"Could not log in: {exc}"))
            return
        self._results.put(("ok", client))

    def host_ready(self) -> bool:
        """False while the game is still starting its own host."""
        embedded = self.app.services.get("embedded")
        return embedded is None or embedded.state in ("ready", "failed")

    # -- per frame ------------------------------------------------------------------
    def update(self, dt: float) -> None:
        embedded = self.app.services.get("embedded")
        if embedded is not None:
            if embedded.state == "ready" and not getattr(self, "_embedded_seen", False):
                self._embedded_seen = True
                typed = self.server_entry.get_text()
                if not typed.strip() or "127.0.0.1" in typed or "localhost" in typed:
                    self.server_entry.set_text(embedded.url)
            elif embedded.state == "failed" and not getattr(self, "_embedded_seen", False):
                self._embedded_seen = True
                self.message = f"Could not start a host on this computer: {embedded.error}"
        try:
            kind, value = self._results.get_nowait()
        except queue.Empty:
            pass
        else:
            self.busy = False
            self.status = ""
            if kind == "ok":
                self._logged_in(value)
                return
            self.message = value
        waiting = self.busy or not self.host_ready()
        for button in (self.login_button, self.register_button):
            if waiting and button.is_enabled:
                button.disable()
            elif not waiting and not button.is_enabled:
                button.enable()
        self.manager.update(dt)
        if self.picker is not None:
            self.picker.update(dt)

    def _logged_in(self, client: HostClient) -> None:
        settings = self.app.services.get("settings")
        if settings is not None:
            settings.server = client.server_url
            settings.username = client.session.name
            settings.save(self.app.services.get("settings_path"))
        self.app.replace(self.app.make("loading", client))  # the host's map, then the world

    # -- drawing --------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        self._draw_backdrop(surface)
        card = self.card
        surface.blit(theme.translucent(card.size, theme.PANEL, 235, 16), card)
        theme.rounded_rect(surface, theme.PANEL_EDGE, card, 16, 1)
        theme.draw_text(surface, "Pixel Commons", (card.centerx, card.y + 30), 30, bold=True,
                        anchor="midtop")
        theme.draw_text(surface, "a shared world to walk and talk in", (card.centerx, card.y + 70),
                        14, theme.MUTED, anchor="midtop")
        for caption, pos in self.captions:
            theme.draw_text(surface, caption, pos, 13, theme.MUTED, bold=True)
        if self.look_panel is not None:
            self._draw_look_panel(surface)
        self.manager.draw_ui(surface)
        for entry in self.fields:
            if entry.is_focused:
                theme.rounded_rect(surface, theme.ACCENT, entry.get_abs_rect().inflate(4, 4), 8, 2)
        line = self.status or self._embedded_status()
        if line:
            dots = "." * (1 + int(self.app.now * 3) % 3)
            theme.draw_text(surface, line.rstrip("…") + dots, self.message_pos, 15, theme.ACCENT,
                            anchor="midtop")
        elif self.message:
            self._draw_wrapped(surface, self.message, theme.BAD)
        hint = "Tab: next field    Enter: log in"
        theme.draw_text(surface, hint, (card.centerx, card.bottom + 12), 13, theme.MUTED,
                        anchor="midtop")

    def _draw_look_panel(self, surface: pygame.Surface) -> None:
        panel = self.look_panel
        surface.blit(theme.translucent(panel.size, theme.PANEL, 235, 16), panel)
        theme.rounded_rect(surface, theme.PANEL_EDGE, panel, 16, 1)
        theme.draw_text(surface, "Your look", (panel.centerx, panel.y + 14), 20, bold=True,
                        anchor="midtop")
        theme.draw_text(surface, "New here? Choose how you look, then Register.",
                        (panel.centerx, panel.y + 42), 12, theme.MUTED, anchor="midtop")
        self.picker.draw(surface, focused=False)

    def _embedded_status(self) -> str:
        embedded = self.app.services.get("embedded")
        if embedded is not None and embedded.state in ("checking", "starting"):
            return ("Looking for a host…" if embedded.state == "checking"
                    else "Starting a world on this computer…")
        return ""

    def _draw_wrapped(self, surface: pygame.Surface, text: str, colour) -> None:
        lines = theme.wrap(text, theme.font(15), CARD_W - 60)
        x, y = self.message_pos
        for i, line in enumerate(lines[:3]):
            theme.draw_text(surface, line, (x, y + i * 20), 15, colour, anchor="midtop")

    def _draw_backdrop(self, surface: pygame.Surface) -> None:
        """The world itself, drifting slowly behind the form."""
        tiles = self.app.services.get("tiles")
        if tiles is None:
            surface.fill(theme.SHADE)
            return
        from ..camera import Camera

        w, h = surface.get_size()
        cam = Camera(w, h, tiles.width_px, tiles.height_px)
        t = self.app.now * 0.05
        cam.centre_on(tiles.width_px / 2 + math.cos(t) * tiles.width_px / 4,
                      tiles.height_px / 2 + math.sin(t) * tiles.height_px / 4)
        tiles.draw(surface, cam, self.app.now)
        shade = pygame.Surface((w, h), pygame.SRCALPHA)
        shade.fill((10, 12, 18, 140))
        surface.blit(shade, (0, 0))
