"""The game loop: scene stack, fixed steps with a catch-up cap, interpolated drawing."""
from __future__ import annotations

import pygame
import pytest

from game.client.app import MAX_STEPS_PER_FRAME, STEP_S, App, Scene


class Recorder(Scene):
    def __init__(self, name: str, log: list):
        self.name, self.log = name, log
        self.steps = 0
        self.alphas: list[float] = []
        self.updates: list[float] = []

    def enter(self):
        self.log.append(("enter", self.name))

    def exit(self):
        self.log.append(("exit", self.name))

    def update(self, dt):
        self.updates.append(dt)

    def fixed_update(self, dt):
        assert dt == STEP_S
        self.steps += 1

    def draw(self, surface, alpha):
        self.alphas.append(alpha)


@pytest.fixture
def app():
    pygame.init()
    surface = pygame.Surface((320, 200))
    clock = [0.0]
    app = App(surface, clock=lambda: clock[0])
    app.tick = lambda dt: (clock.__setitem__(0, clock[0] + dt), app.frame())
    yield app
    pygame.event.clear()


def test_scene_stack_push_pop_replace(app):
    log: list = []
    a, b, c = Recorder("a", log), Recorder("b", log), Recorder("c", log)
    app.push(a)
    app.push(b)
    assert app.scene is b
    app.replace(c)
    assert app.scene is c and app.stack == [a, c]
    app.pop()
    assert app.scene is a
    assert log == [("enter", "a"), ("exit", "a"), ("enter", "b"), ("exit", "b"), ("enter", "c"),
                   ("exit", "c"), ("enter", "a")]


def test_fixed_steps_follow_the_clock_and_drawing_gets_the_remainder(app):
    scene = app.push(Recorder("s", []))
    app.tick(STEP_S * 2.5)
    assert scene.steps == 2
    assert scene.alphas[-1] == pytest.approx(0.5)
    app.tick(STEP_S * 0.5)
    assert scene.steps == 3 and scene.alphas[-1] == pytest.approx(0.0, abs=1e-6)
    for _ in range(60):
        app.tick(STEP_S)
    assert scene.steps == 63  # one second of frames: 60 more steps


def test_a_stall_does_not_snowball(app):
    scene = app.push(Recorder("s", []))
    app.tick(2.0)  # the window was dragged for two seconds
    assert scene.steps == MAX_STEPS_PER_FRAME
    assert scene.updates[-1] <= STEP_S * MAX_STEPS_PER_FRAME
    app.tick(STEP_S)
    assert scene.steps == MAX_STEPS_PER_FRAME + 1  # back to one step per frame


def test_closing_the_window_stops_the_loop(app):
    app.push(Recorder("s", []))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.tick(STEP_S)
    assert not app.running
