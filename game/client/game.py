"""Starting the game: the window, the shared services and the first scene."""
from __future__ import annotations

import signal
from pathlib import Path

import pygame

from .app import App, Display
from .embedded import EmbeddedHost
from .scenes.login import LoginScene
from .settings import DEFAULT_SERVER, Settings
from .sound import Sound


def init_pygame() -> None:
    """Start the parts of pygame the game uses.  Not ``pygame.init()``: that
    also opens the sound mixer, which on a computer without a sound device
    fills the terminal with ALSA errors; ``Sound`` opens it, quietly, only
    when sound is wanted."""
    pygame.display.init()
    pygame.font.init()
    try:
        from pygame import freetype
    except ImportError:
        return
    freetype.init()  # pygame_gui draws its text with it


def run(server: str | None = None, username: str | None = None,
        size: tuple[int, int] = (1280, 800), fullscreen: bool = False,
        embedded: bool = True, db_path: str | None = None) -> int:
    init_pygame()
    pygame.key.set_repeat(0)
    settings = Settings.load()
    display = Display(size, fullscreen=fullscreen or settings.fullscreen)
    screen = display.open()
    sound = Sound(settings.volume, settings.muted)
    host = None
    if embedded:
        # No --server: use the host on this computer, starting one if needed.
        host = EmbeddedHost(DEFAULT_SERVER, Path(db_path) if db_path else None).start()
    app = App(screen)
    app.display = display
    # A polite "please stop" (SIGTERM, or Ctrl-C in the terminal) closes the
    # game like the window's close button, so a host the game started is
    # stopped and saves everyone.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: pygame.event.post(pygame.event.Event(pygame.QUIT)))
    app.services.update(settings=settings, embedded=host, sound=sound)
    try:
        from .scenes.world import load_graphics

        tiles, _, _ = load_graphics(app.services)
        tiles.prerender()  # no stutter later when new parts of the map come into view
    except (OSError, ValueError) as exc:  # missing or broken assets: still show the login
        print(f"could not load the world's graphics: {exc}")
    app.push(LoginScene(server=server, username=username))
    try:
        app.run()
    finally:
        if host is not None:
            host.stop()
        sound.close()
        pygame.quit()
    return 0
