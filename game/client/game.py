"""Starting the game: the window, the shared services and the first scene."""
from __future__ import annotations

import signal
from pathlib import Path

import pygame

from .app import App
from .embedded import EmbeddedHost
from .scenes.login import LoginScene
from .settings import DEFAULT_SERVER, Settings

CAPTION = "Pixel Commons"


def run(server: str | None = None, username: str | None = None,
        size: tuple[int, int] = (1280, 800), fullscreen: bool = False,
        embedded: bool = True, db_path: str | None = None) -> int:
    pygame.init()
    pygame.key.set_repeat(0)
    flags = pygame.FULLSCREEN if fullscreen else pygame.RESIZABLE
    screen = pygame.display.set_mode((0, 0) if fullscreen else size, flags)
    pygame.display.set_caption(CAPTION)
    settings = Settings.load()
    host = None
    if embedded:
        # No --server: use the host on this computer, starting one if needed.
        host = EmbeddedHost(DEFAULT_SERVER, Path(db_path) if db_path else None).start()
    app = App(screen)
    # A polite "please stop" (SIGTERM) closes the game like the window's close
    # button, so a host the game started is stopped and saves everyone.
    signal.signal(signal.SIGTERM, lambda *_: pygame.event.post(pygame.event.Event(pygame.QUIT)))
    app.services.update(settings=settings, embedded=host)
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
        pygame.quit()
    return 0
