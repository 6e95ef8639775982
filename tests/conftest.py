"""Shared fixtures: a real host process per test module, scripted players."""
from __future__ import annotations

import itertools
import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from game.net import HostClient  # noqa: E402

from .support import HostProcess  # noqa: E402

_names = itertools.count(1)


def unique_name(prefix: str = "p") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"[:20]


@pytest.fixture(scope="module", params=["eventlet"])
def host(request, tmp_path_factory):
    """A real host on a free port with a fresh database, shared by a module."""
    path = tmp_path_factory.mktemp("host") / "world.db"
    with HostProcess(path, async_mode=request.param) as proc:
        yield proc


@pytest.fixture
def make_player(host):
    """Make logged-in, connected, joined players: ``make_player("alice")``."""
    clients: list[HostClient] = []

    def make(name: str | None = None, password: str = "correct-horse", join: bool = True,
             url: str | None = None) -> HostClient:
        client = HostClient(url or host.url, reconnect=False)
        client.login_or_register(name or unique_name(), password)
        if join:
            client.connect()
            client.wait_for("welcome")
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
