"""Between logging in and the world: get the host's map.

The host's ``welcome`` names its map and the map's hash.  A map this computer
already has (in the cache, or the one that ships with the game) opens the
world at once; any other is downloaded on a worker thread while this screen
shows how far it got ("Downloading the world… 1.2 MB of 3.4 MB").  A download
that fails (the hash does not match, the map is too big, the host answers with
an error or the connection breaks) says why, with a button back to the login.
Everything the host sends meanwhile is kept and handed to the world in order.
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import pygame
import pygame_gui

from game.client import net
from game.core import protocol as P

from .. import theme
from ..app import Scene, register_scene
from ..maps import MapCache, MapDownloadError
from ..tilemap import renderer_for

CARD_W, CARD_H = 460, 230
BAR_H = 14


def amount(n: int) -> str:
    """Bytes in words: "840 KB", "1.2 MB"."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(0, round(n / 1e3))} KB"


@register_scene("loading")
class LoadingScene(Scene):
    def __init__(self, client: net.HostClient, cache: MapCache | None = None,
                 pending: list[net.NetEvent] | None = None):
        self.client = client
        self.cache = cache
        self.pending: list[net.NetEvent] = []  # for the world, in the order they came
        self._first = list(pending or ())  # taken before the queue (a welcome already read)
        self.desc: dict | None = None
        self.done = 0
        self.total = 0
        self.error = ""
        self.downloading = False
        self.opening = False
        self._results: queue.Queue = queue.Queue()
        self._cancel = threading.Event()
        self._leaving = False

    def take(self, events: list[net.NetEvent]) -> None:
        """More events read before this screen came, after those it was given."""
        self._first.extend(events)

    # -- lifecycle ----------------------------------------------------------------------
    def enter(self) -> None:
        if self.cache is None:
            self.cache = self.app.services.get("map_cache") or MapCache()
        size = self.app.surface.get_size()
        self.manager = theme.make_manager(size)
        self.back_button = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, 200, 40), "Back to login", self.manager)
        self.back_button.hide()
        self.layout(size)

    def exit(self) -> None:
        self._cancel.set()
        self.manager.clear_and_reset()

    def quit(self) -> None:
        self._cancel.set()
        self.client.close()

    def resize(self, size: tuple[int, int]) -> None:
        self.manager.set_window_resolution(size)
        self.layout(size)

    def layout(self, size: tuple[int, int]) -> None:
        self.card = pygame.Rect(0, 0, CARD_W, CARD_H)
        self.card.center = (size[0] // 2, size[1] // 2)
        self.bar = pygame.Rect(self.card.x + 40, self.card.y + 120, CARD_W - 80, BAR_H)
        self.back_button.set_relative_position((self.card.centerx - 100, self.card.bottom - 62))

    # -- input --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element is self.back_button:
            self.back_to_login()
            return
        if event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            self.back_to_login()  # Esc gives up on a download too
            return
        if self.error and event.type == pygame.KEYDOWN and \
                event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.back_to_login()
            return
        self.manager.process_events(event)

    def back_to_login(self) -> None:
        if self._leaving:
            return
        self._leaving = True
        self._cancel.set()
        self.client.close()
        reason = self.error[:1].lower() + self.error[1:]
        message = f"Could not load the host's world: {reason}" if self.error else ""
        self.app.replace(self.app.make("login", message=message))

    # -- per frame ----------------------------------------------------------------------
    def update(self, dt: float) -> None:
        if not self.error:
            events, self._first = self._first + self.client.drain(), []
            for event in events:
                self.on_net(event)
                if self.error or self._leaving:
                    break
        while not self._leaving:
            try:
                kind, value = self._results.get_nowait()
            except queue.Empty:
                break
            if kind == "progress":
                self.done, self.total = value
            elif kind == "done":
                self.open_world(value)
                break  # shown for a frame first
            elif kind == "open":
                self._open(value)
            elif kind == "error" and not self.error:
                self.fail(value)
        self.manager.update(dt)

    def on_net(self, event: net.NetEvent) -> None:
        kind, data = event.kind, event.data if isinstance(event.data, dict) else {}
        self.pending.append(event)
        if kind == P.WELCOME and self.desc is None:
            self.on_welcome(data)
        elif kind == net.DISCONNECTED and not data.get("reconnecting"):
            self.fail("the host was stopped." if data.get("host_stopped")
                      else "the connection to the host was lost.")
        elif kind == P.SESSION_ENDED and data.get("reason") != P.END_HOST_SHUTDOWN:
            self.fail(f"the host ended the session ({data.get('message') or data.get('reason')}).")

    def on_welcome(self, data: dict) -> None:
        desc = data.get("map")
        if not isinstance(desc, dict):  # a host from before maps were served
            self.desc = {}
            self.open_world(None)
            return
        self.desc = desc
        path = self.cache.local(desc)
        if path is not None:
            self.open_world(path)
            return
        self.downloading = True
        size = desc.get("size")
        self.total = size if isinstance(size, int) and size > 0 else 0
        threading.Thread(target=self._download, args=(self.client.server_url, desc),
                         name="map-download", daemon=True).start()

    def _download(self, server_url: str, desc: dict) -> None:
        """Worker thread: only puts results on the queue."""
        def progress(done: int, total: int) -> None:
            self._results.put(("progress", (done, total)))

        try:
            path = self.cache.fetch(server_url, desc, progress, cancelled=self._cancel.is_set)
        except MapDownloadError as exc:
            self._results.put(("error", str(exc)))
        except Exception as exc:  # never leave the screen waiting for ever
            self._results.put(("error", f"{type(exc).__name__}: {exc}"))
        else:
            self._results.put(("done", path))

    def fail(self, message: str) -> None:
        self.error = message[:1].upper() + message[1:] if message else "Something went wrong."
        if not self.error.endswith("."):
            self.error += "."
        self.downloading = self.opening = False
        self._cancel.set()
        self.back_button.show()

    def open_world(self, path: Path | None) -> None:
        """Say "Opening the world…" for a frame, then draw the map's tiles
        (not in the world's first frames) and go in."""
        self.downloading = False
        self.opening = True
        self._results.put(("open", path))

    def _open(self, path: Path | None) -> None:
        services = self.app.services
        if path is not None:
            services["map_path"] = str(path)
        else:
            services.pop("map_path", None)
        services["map_hash"] = (self.desc or {}).get("hash")  # the world checks it on return
        try:
            renderer_for(services).prerender()
        except Exception as exc:  # a map that downloaded but cannot be drawn
            self.fail(f"the host's map could not be opened: {exc}")
            return
        self._leaving = True
        self.app.replace(self.app.make("world", self.client, pending=self.pending))

    # -- drawing ------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        surface.fill(theme.SHADE)
        card = self.card
        surface.blit(theme.translucent(card.size, theme.PANEL, 235, 16), card)
        theme.rounded_rect(surface, theme.PANEL_EDGE, card, 16, 1)
        name = (self.desc or {}).get("name")
        title = f"The world: {name}" if isinstance(name, str) and name else "The world"
        theme.draw_text(surface, title, (card.centerx, card.y + 28), 24, bold=True,
                        anchor="midtop")
        if self.error:
            self._draw_wrapped(surface, self.error, theme.BAD, card.y + 84)
        elif self.downloading:
            theme.draw_text(surface, self.progress_text(), (card.centerx, card.y + 84), 16,
                            anchor="midtop")
            theme.rounded_rect(surface, theme.PANEL_ALT, self.bar, BAR_H // 2)
            if self.total:
                filled = self.bar.copy()
                filled.width = max(BAR_H, round(self.bar.width * min(1.0, self.done / self.total)))
                theme.rounded_rect(surface, theme.ACCENT, filled, BAR_H // 2)
            theme.draw_text(surface, "This host has its own world; the next visit starts at once.",
                            (card.centerx, card.y + 150), 13, theme.MUTED, anchor="midtop")
            theme.draw_text(surface, "Esc: back to login", (card.centerx, card.bottom + 12), 13,
                            theme.MUTED, anchor="midtop")
        else:
            dots = "." * (1 + int(self.app.now * 3) % 3)
            text = "Opening the world" if self.opening else "Joining the world"
            theme.draw_text(surface, text + dots, (card.centerx, card.y + 84), 16,
                            anchor="midtop")
        self.manager.draw_ui(surface)

    def progress_text(self) -> str:
        if self.total:
            return f"Downloading the world… {amount(self.done)} of {amount(self.total)}"
        return f"Downloading the world… {amount(self.done)}"

    def _draw_wrapped(self, surface: pygame.Surface, text: str, colour, y: int) -> None:
        lines = theme.wrap(text, theme.font(15), CARD_W - 60)
        for i, line in enumerate(lines[:3]):
            theme.draw_text(surface, line, (self.card.centerx, y + i * 20), 15, colour,
                            anchor="midtop")
