"""The game loop: a scene stack, fixed-step updates and interpolated drawing.

Every frame the app reads input, lets the current scene drain its network
queue once (``update``), advances the simulation in fixed 1/60 s steps
(``fixed_update``, at most ``MAX_STEPS_PER_FRAME`` per frame so a stall does
not snowball), then draws with ``alpha``, how far time has got between the
last two fixed steps.  The clock is passed in, so tests run real scenes for a
bounded number of frames with a fake clock.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame

STEP_S = 1.0 / 60.0
MAX_STEPS_PER_FRAME = 5
EPSILON_S = 1e-9  # clock arithmetic slack, so a whole step is never lost to rounding
TARGET_FPS = 60


class Scene:
    """One screen.  ``app`` is set when the scene is pushed."""

    app: "App"

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
        self.services: dict = {}  # shared things scenes need: settings, the embedded host

    # -- the scene stack -----------------------------------------------------------
    @property
    def scene(self) -> Scene | None:
        return self.stack[-1] if self.stack else None

    def push(self, scene: Scene) -> Scene:
        if self.stack:
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
        if self.stack:
            self.stack[-1].enter()
        return scene

    def replace(self, scene: Scene) -> Scene:
        """Swap the top scene; the one below stays covered."""
        if self.stack:
            self.stack.pop().exit()
        scene.app = self
        self.stack.append(scene)
        scene.enter()
        return scene

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
            if event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                self._resized()
            scene = self.scene
            if scene is not None:
                scene.handle_event(event)
        scene = self.scene
        if scene is None:
            self.running = False
            return
        scene.update(min(elapsed, self.step * self.max_steps))
        self.accumulator += elapsed
        steps = 0
        while self.accumulator >= self.step - EPSILON_S:
            if steps >= self.max_steps:
                self.accumulator = 0.0  # drop the backlog rather than spiral
                break
            self.scene.fixed_update(self.step)
            self.accumulator -= self.step
            steps += 1
        self.scene.draw(self.surface, max(0.0, self.accumulator / self.step))
        self.frames += 1

    def _resized(self) -> None:
        surface = pygame.display.get_surface()
        if surface is not None:
            self.surface = surface
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
