"""The game loop: a scene stack, fixed-step updates and interpolated drawing.

Every frame the app reads input, lets the current scene drain its network
queue once (``update``), advances the simulation in fixed 1/60 s steps
(``fixed_update``, at most ``MAX_STEPS_PER_FRAME`` per frame so a stall does
not snowball), then draws with ``alpha``, how far time has got between the
last two fixed steps.  The clock is passed in, so tests run real scenes for a
bounded number of frames with a fake clock.

An *overlay* scene (the Escape menu) is pushed over another without covering
it: the scene below keeps receiving network events, keeps simulating and is
drawn first; only the overlay gets the input.

Scenes never import each other: a scene that leads to another asks the app
for it by name (``self.app.make("world", client)``).  Each screen registers
its class with ``@register_scene("name")``; the ``scenes`` package imports
them all, so the names are known whichever scene is imported first.

The window itself (title, icon, minimum size, window or fullscreen with F11)
is a ``Display``; tests that draw on a plain surface run without one.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Callable

import pygame

STEP_S = 1.0 / 60.0
MAX_STEPS_PER_FRAME = 5
EPSILON_S = 1e-9  # clock arithmetic slack, so a whole step is never lost to rounding
TARGET_FPS = 60
CAPTION = "Pixel Commons"
ICON_PATH = Path(__file__).resolve().parents[2] / "assets" / "icon.png"
# The smallest window the screens fit in: with the chat panel open (340 px) the
# status (up to 374 px) and the chat button (110 px) still sit side by side.
MIN_SIZE = (880, 560)


class Display:
    """The game's window: its title and icon, a minimum size, and switching
    between a resizable window and fullscreen (the window's size is kept for
    switching back)."""

    def __init__(self, size: tuple[int, int] = (1280, 800), fullscreen: bool = False,
                 min_size: tuple[int, int] = MIN_SIZE):
        self.min_size = min_size
        self.window_size = self.clamp(size)
        self.fullscreen = fullscreen
        self.surface: pygame.Surface | None = None

    def clamp(self, size: tuple[int, int]) -> tuple[int, int]:
        return max(size[0], self.min_size[0]), max(size[1], self.min_size[1])

    def open(self) -> pygame.Surface:
        """Create the window (again, after a switch) and return its surface."""
        try:
            pygame.display.set_icon(pygame.image.load(str(ICON_PATH)))
        except (OSError, pygame.error):
            pass  # no icon is no reason not to play
        # A new window after a switch keeps the title it had ("Pixel Commons · mira").
        title = pygame.display.get_caption()[0] if self.surface is not None else CAPTION
        pygame.display.set_caption(title or CAPTION)
        if self.fullscreen:
            self.surface = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            self.surface = pygame.display.set_mode(self.window_size, pygame.RESIZABLE)
            with warnings.catch_warnings():  # the Window of set_mode, the only way to reach it
                warnings.simplefilter("ignore", DeprecationWarning)
                pygame.Window.from_display_module().minimum_size = self.min_size
        return self.surface

    def resized(self, size: tuple[int, int]) -> None:
        """The player dragged the window's edge."""
        if not self.fullscreen:
            self.window_size = self.clamp(size)

    def set_fullscreen(self, fullscreen: bool) -> pygame.Surface:
        if fullscreen != self.fullscreen or self.surface is None:
            if not self.fullscreen and self.surface is not None:
                self.window_size = self.clamp(self.surface.get_size())
            self.fullscreen = fullscreen
            self.open()
        return self.surface

    @staticmethod
    def set_caption(text: str = CAPTION) -> None:
        if pygame.display.get_surface() is not None:
            pygame.display.set_caption(text)


# The screens by name ("login", "world", "menu"), filled in by ``register_scene``.
SCENES: dict[str, Callable[..., "Scene"]] = {}


def register_scene(name: str):
    """Class decorator: make a scene buildable as ``app.make(name, ...)``."""
    def register(cls):
        SCENES[name] = cls
        return cls
    return register


class Scene:
    """One screen.  ``app`` is set when the scene is pushed."""

    app: "App"
    overlay = False  # True: drawn over the scene below, which keeps running

    def covered(self) -> None:
        """An overlay opened on top: input goes there until it closes."""

    def enter(self) -> None:
        """The scene becomes the top of the stack."""

    def exit(self) -> None:
        """The scene leaves the stack (or is covered)."""

    def handle_event(self, event: pygame.event.Event) -> None:
        pass

    def update(self, dt: float) -> None:
        """Once per frame: drain the network queue, update widgets."""

    def fixed_update(self, dt: float) -> None:
        """Once per fixed step: move things."""

    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        pass

    def resize(self, size: tuple[int, int]) -> None:
        pass

    def quit(self) -> None:
        """The game is closing: release connections."""


class App:
    def __init__(self, surface: pygame.Surface, *, clock: Callable[[], float] = time.monotonic,
                 step: float = STEP_S, max_steps: int = MAX_STEPS_PER_FRAME):
        self.surface = surface
        self.clock = clock
        self.step = step
        self.max_steps = max_steps
        self.stack: list[Scene] = []
        self.running = True
        self.accumulator = 0.0
        self.now = clock()
        self._last = self.now
        self.frames = 0
        self.fps = 0.0
        self.services: dict = {}  # shared things scenes need: settings, sound, the embedded host
        self.display: Display | None = None

    # -- the scene stack -----------------------------------------------------------
    @property
    def scene(self) -> Scene | None:
        return self.stack[-1] if self.stack else None

    def push(self, scene: Scene) -> Scene:
        if self.stack:
            if scene.overlay:
                self.stack[-1].covered()
            else:
                self.stack[-1].exit()
        scene.app = self
        self.stack.append(scene)
        scene.enter()
        return scene

    def pop(self) -> Scene | None:
        if not self.stack:
            return None
        scene = self.stack.pop()
        scene.exit()
        if self.stack and not scene.overlay:
            self.stack[-1].enter()
        return scene

    def make(self, name: str, *args, **kwargs) -> Scene:
        """Build the screen registered as ``name`` (see ``register_scene``)."""
        return SCENES[name](*args, **kwargs)

    def replace(self, scene: Scene) -> Scene:
        """Swap the top scene, closing any overlays over it first; the one
        below stays covered."""
        while self.stack and self.stack[-1].overlay:
            self.stack.pop().exit()
        if self.stack:
            self.stack.pop().exit()
        scene.app = self
        self.stack.append(scene)
        scene.enter()
        return scene

    def running_scenes(self) -> list[Scene]:
        """The top scene and the ones under it that overlays leave running, bottom first."""
        start = len(self.stack) - 1
        while start > 0 and self.stack[start].overlay:
            start -= 1
        return self.stack[max(start, 0):]

    # -- the window -----------------------------------------------------------------
    def set_fullscreen(self, fullscreen: bool) -> None:
        """Switch between window and fullscreen, and remember the choice."""
        if self.display is None:
            return
        self.display.set_fullscreen(fullscreen)
        self._resized()
        settings = self.services.get("settings")
        if settings is not None and settings.fullscreen != fullscreen:
            settings.fullscreen = fullscreen
            settings.save(self.services.get("settings_path"))

    def toggle_fullscreen(self) -> None:
        if self.display is not None:
            self.set_fullscreen(not self.display.fullscreen)

    # -- the loop -------------------------------------------------------------------
    def frame(self) -> None:
        """Input, network, fixed steps, draw: one frame (no flip, no sleeping)."""
        now = self.clock()
        elapsed = max(0.0, now - self._last)
        self._last = self.now = now
        if elapsed > 0:
            self.fps += (1.0 / elapsed - self.fps) * 0.1
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.running = False
                continue
            if event.type == pygame.KEYDOWN and event.key == pygame.K_F11:
                self.toggle_fullscreen()
                continue
            if event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                self._resized()
            scene = self.scene
            if scene is not None:
                scene.handle_event(event)
        if self.scene is None:
            self.running = False
            return
        for scene in self.running_scenes():
            if scene in self.stack:  # an update may have swapped scenes
                scene.update(min(elapsed, self.step * self.max_steps))
        self.accumulator += elapsed
        steps = 0
        while self.accumulator >= self.step - EPSILON_S:
            if steps >= self.max_steps:
                self.accumulator = 0.0  # drop the backlog rather than spiral
                break
            for scene in self.running_scenes():
                scene.fixed_update(self.step)
            self.accumulator -= self.step
            steps += 1
        alpha = max(0.0, self.accumulator / self.step)
        for scene in self.running_scenes():
            scene.draw(self.surface, alpha)
        self.frames += 1

    def _resized(self) -> None:
        surface = pygame.display.get_surface()
        if surface is not None:
            self.surface = surface
            if self.display is not None:
                self.display.resized(surface.get_size())
        for scene in self.stack:
            scene.resize(self.surface.get_size())

    def run(self) -> None:
        """The real loop: frames at up to TARGET_FPS until the window closes."""
        ticker = pygame.time.Clock()
        try:
            while self.running:
                self.frame()
                pygame.display.flip()
                ticker.tick(TARGET_FPS)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        while self.stack:
            scene = self.stack.pop()
            scene.exit()
            scene.quit()
