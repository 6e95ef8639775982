"""Shared pieces of the client tests.

``Game`` drives the real client app against a real host frame by frame;
``Harness`` and ``StandIn`` drive it with a stand-in client where the host does
not matter; the ``world`` fixture gives a world scene fed by ``StandInClient``.
"""
from __future__ import annotations

import time

import pygame
import pytest

from game.core import protocol as P
from game.core import rules
from game.client.app import STEP_S, App, Display
from game.client.scenes.world import WorldScene
from game.client.settings import Settings
from game.client.sound import Sound
from game.client.net import HostClient, NetEvent, Session

from .conftest import unique_name

PASSWORD = "correct-horse"
FRAME_S = 1.0 / 60.0


class StepClock:
    """A clock that only moves when the test says so."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Game:
    """A client app driven frame by frame."""

    def __init__(self, tmp_path, server: str):
        pygame.init()
        self.screen = pygame.display.set_mode((1024, 720))
        self.clock = StepClock()
        self.app = App(self.screen, clock=self.clock)
        self.settings_path = tmp_path / "client.json"
        self.app.services.update(settings=Settings(server=server), settings_path=self.settings_path)

    @property
    def scene(self):
        return self.app.scene

    def frames(self, n: int = 1, real_s: float = FRAME_S) -> None:
        for _ in range(n):
            self.clock.t += FRAME_S
            self.app.frame()
            if real_s:
                time.sleep(real_s)  # let the network threads deliver

    def until(self, condition, timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.frames(1)

    # -- input --------------------------------------------------------------------------
    def key(self, key: int, mod: int = 0, up: bool = True) -> None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode="", scancode=0))
        if up:
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=mod, unicode="", scancode=0))
        self.frames(1, real_s=0)

    def type(self, text: str) -> None:
        for ch in text:
            pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=ch))
        self.frames(1, real_s=0)

    def click(self, pos: tuple[int, int]) -> None:
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
        self.frames(2, real_s=0)

    def close(self) -> None:
        self.app.shutdown()
        pygame.event.clear()


def account(host, name: str | None = None) -> str:
    """Register an account (not logged in anywhere) and return its name."""
    name = name or unique_name("c")
    HostClient(host.url, reconnect=False).register(name, PASSWORD)
    return name


def enter_world(game: Game, host, name: str) -> WorldScene:
    """Log in without the form (the form has its own test) and wait for the welcome."""
    client = HostClient(host.url)
    client.login(name, PASSWORD)
    client.connect()
    scene = game.app.push(WorldScene(client))
    game.until(lambda: scene.me_id is not None and scene.predictor is not None, what="welcome")
    return scene


# -- a stand-in client (menu, sound, name tags) --------------------------------------------
class StandIn:
    """Just enough of HostClient for the world scene: a queue in, moves out."""

    def __init__(self, name: str = "me"):
        self.session = Session("token", 1, name)
        self.connected = True
        self.queue: list[NetEvent] = []
        self.moves: list[tuple[float, float]] = []

    def drain(self):
        out, self.queue = self.queue, []
        return out

    def put(self, kind: str, data) -> None:
        self.queue.append(NetEvent(kind, data))

    def send_move(self, x: float, y: float) -> int:
        self.moves.append((x, y))
        return len(self.moves)

    def request(self, event, payload=None, tag=None) -> None:
        pass

    def logout(self) -> None:
        self.connected = False

    def close(self) -> None:
        self.connected = False


class Harness:
    """An app in a real (dummy-driver) window, driven frame by frame."""

    def __init__(self, tmp_path, size=(1024, 720)):
        pygame.display.init()
        pygame.font.init()
        self.display = Display(size)
        self.clock = [100.0]
        self.app = App(self.display.open(), clock=lambda: self.clock[0])
        self.app.display = self.display
        self.settings_path = tmp_path / "client.json"
        self.settings = Settings()
        self.sound = Sound(muted=True)  # no mixer unless a test turns sound on
        self.app.services.update(settings=self.settings, settings_path=self.settings_path,
                                 sound=self.sound)

    def frames(self, n: int = 1) -> None:
        for _ in range(n):
            self.clock[0] += STEP_S
            self.app.frame()

    def key(self, key: int) -> None:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))
        self.frames(1)

    def enter_world(self, client) -> WorldScene:
        scene = self.app.push(WorldScene(client))
        spawn = rules.load_world().spawn
        client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": spawn[0], "y": spawn[1]},
                               "players": [], "unread": {}, "tick_rate": 20,
                               "server_time": 5_000_000.0})
        self.frames(1)
        return scene

    def close(self) -> None:
        self.app.shutdown()
        self.sound.close()
        pygame.event.clear()


# -- the world scene fed by a stand-in client ------------------------------------------------
class StandInClient:
    """Just enough of HostClient: a queue in, a list of what was sent out."""

    def __init__(self, name: str = "me", user_id: int = 1):
        self.session = Session("token", user_id, name)
        self.connected = True
        self.queue: list[NetEvent] = []
        self.moves: list[tuple[int, float, float, float]] = []  # seq, x, y, at (app time)
        self.requests: list[tuple[str, object, object]] = []
        self.app: App | None = None

    def drain(self):
        out, self.queue = self.queue, []
        return out

    def put(self, kind: str, data) -> None:
        self.queue.append(NetEvent(kind, data))

    def send_move(self, x: float, y: float) -> int:
        self.moves.append((len(self.moves) + 1, x, y, self.app.now))
        return len(self.moves)

    def request(self, event, payload=None, tag=None) -> None:
        self.requests.append((event, payload, tag))

    def close(self) -> None:
        self.connected = False


@pytest.fixture
def world():
    pygame.init()
    surface = pygame.display.set_mode((1024, 720))
    clock = [100.0]
    app = App(surface, clock=lambda: clock[0])
    client = StandInClient()
    client.app = app
    scene = app.push(WorldScene(client))
    spawn = rules.load_world().spawn

    def frames(n: int = 1) -> None:
        for _ in range(n):
            clock[0] += STEP_S
            app.frame()

    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": spawn[0], "y": spawn[1]},
                           "players": [], "unread": {}, "tick_rate": 20,
                           "server_time": 5_000_000.0})
    frames(1)
    yield scene, client, frames, clock
    app.shutdown()
    pygame.event.clear()
