"""The loading screen between the login and the world.

The welcome is put on a real ``HostClient``'s queue (as its Socket.IO
callbacks would); the map comes over real HTTP from a tiny local server, so a
test can serve a bad bundle.  The whole path against a real host is in
test_map_client_host.py.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402

from game.client import net  # noqa: E402
from game.client.app import App  # noqa: E402
from game.client.maps import MapCache  # noqa: E402
from game.client.scenes.loading import LoadingScene  # noqa: E402
from game.client.scenes.login import LoginScene  # noqa: E402
from game.client.scenes.world import WorldScene  # noqa: E402
from game.core import bundle  # noqa: E402
from game.core import protocol as P  # noqa: E402
from game.core import rules  # noqa: E402

from . import helpers_map_client as F  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def feature_bundle(tmp_path_factory) -> bytes:
    pygame.init()
    folder = tmp_path_factory.mktemp("src")
    path = F.write_feature_map(folder)
    files = [path, folder / "colours.tsx", folder / "art" / "colours.png",
             folder / "art" / "tall.png"]
    return bundle.build_bundle(SimpleNamespace(folder=folder, files=files))


class Screen:
    def __init__(self, tmp_path: Path, server_url: str):
        pygame.init()
        self.app = App(pygame.display.set_mode((800, 600)))
        self.app.services["map_cache"] = self.cache = MapCache(tmp_path / "maps", bundled=())
        self.client = net.HostClient(server_url, reconnect=False)
        self.client.session = net.Session("token", 1, "viewer")

    def welcome(self, desc: dict | None) -> None:
        data = {"protocol": P.PROTOCOL_VERSION, "you": {"id": 1, "name": "viewer", "x": 40.0,
                                                        "y": 72.0},
                "players": [], "unread": {}, "missed_messages": [],
                "world": {"width": 160, "height": 96, "tile_size": 16, "speed": rules.WALK_SPEED},
                "tick_rate": 20.0, "server_time": time.time() * 1000.0}
        if desc is not None:
            data["map"] = desc
        self.client.events.put(net.NetEvent(P.WELCOME, data))

    def until(self, condition, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            self.app.frame()
            time.sleep(0.01)

    def close(self) -> None:
        self.app.shutdown()
        pygame.event.clear()


@pytest.fixture
def screen_for(tmp_path):
    made = []

    def make(url: str) -> Screen:
        made.append(Screen(tmp_path, url))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_a_new_map_is_downloaded_then_the_world_walks_on_it(screen_for, feature_bundle):
    desc = F.describe(feature_bundle)
    routes = {desc["url"]: (200, feature_bundle, {"Content-Type": "application/zip"})}
    with F.TinyServer(routes) as host:
        s = screen_for(host.url)
        s.app.push(LoadingScene(s.client))
        s.app.frame()
        assert isinstance(s.app.scene, LoadingScene)  # no welcome yet: joining
        s.welcome(desc)
        s.client.events.put(net.NetEvent(P.PLAYERS_JOINED, {"players": [
            {"id": 7, "name": "mira", "x": 50.0, "y": 72.0}]}))
        s.app.frame()  # the loading screen takes both off the queue: the world must get them
        assert s.client.events.empty()
        loading, said = s.app.scene, []
        s.until(lambda: said.append(s.app.scene is loading and loading.opening)
                or isinstance(s.app.scene, WorldScene))
    assert True in said  # "Opening the world…" was on screen for a frame
    world = s.app.scene
    assert world.me_id == 1 and world.predictor is not None  # in at once, no "Joining"
    assert Path(s.app.services["map_path"]) == s.cache.root / desc["hash"] / "features.tmx"
    assert (world.world.width_px, world.world.height_px) == (F.W * F.TS, F.H * F.TS)
    assert world.tiles.map.path == Path(s.app.services["map_path"])
    assert 7 in world.remotes  # what came during the download reached the world
    assert host.requests == [desc["url"]]


def test_the_screen_says_how_much_is_downloaded(screen_for):
    s = screen_for("http://127.0.0.1:9")
    scene = s.app.push(LoadingScene(s.client))
    scene.downloading, scene.done, scene.total = True, 1_200_000, 3_400_000
    assert scene.progress_text() == "Downloading the world… 1.2 MB of 3.4 MB"
    scene.done, scene.total = 12_300, 840_000
    assert scene.progress_text() == "Downloading the world… 12 KB of 840 KB"
    scene.done, scene.total = 1_200_000, 3_400_000
    s.app.frame()
    bar = scene.bar
    # The bar is filled (accent colour) a little over a third of the way.
    y = bar.centery
    filled = tuple(s.app.surface.get_at((bar.x + int(bar.width * 0.3), y)))[:3]
    empty = tuple(s.app.surface.get_at((bar.x + int(bar.width * 0.5), y)))[:3]
    from game.client import theme

    assert filled == theme.ACCENT and empty == theme.PANEL_ALT


def test_a_bundle_that_does_not_match_is_refused_with_a_way_back(screen_for, feature_bundle):
    desc = F.describe(feature_bundle, digest=hashlib.sha256(b"another").hexdigest())
    routes = {desc["url"]: (200, feature_bundle, {"Content-Type": "application/zip"})}
    with F.TinyServer(routes) as host:
        s = screen_for(host.url)
        scene = s.app.push(LoadingScene(s.client))
        s.welcome(desc)
        s.until(lambda: scene.error)
    assert "hash" in scene.error
    assert scene.back_button.visible
    assert not any(s.cache.root.glob("*/features.tmx"))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0,
                                         unicode="\r", scancode=0))
    s.app.frame()
    assert isinstance(s.app.scene, LoginScene)
    assert "hash" in s.app.scene.message


def test_an_http_error_is_shown(screen_for, feature_bundle):
    desc = F.describe(feature_bundle)
    with F.TinyServer({}) as host:
        s = screen_for(host.url)
        scene = s.app.push(LoadingScene(s.client))
        s.welcome(desc)
        s.until(lambda: scene.error)
    assert "HTTP 404" in scene.error


def test_losing_the_connection_while_downloading_is_shown(screen_for, feature_bundle):
    desc = F.describe(feature_bundle)
    s = screen_for("http://127.0.0.1:9")
    scene = s.app.push(LoadingScene(s.client))
    scene.desc = desc  # the welcome came; the download is under way
    s.client.events.put(net.NetEvent(net.DISCONNECTED, {"reason": "transport close",
                                                        "reconnecting": False}))
    s.until(lambda: scene.error)
    assert "connection" in scene.error
    scene.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0,
                                          unicode="", scancode=0))
    assert isinstance(s.app.scene, LoginScene)


def test_a_cached_map_opens_the_world_without_a_request(screen_for, feature_bundle):
    desc = F.describe(feature_bundle)
    routes = {desc["url"]: (200, feature_bundle, {"Content-Type": "application/zip"})}
    with F.TinyServer(routes) as host:
        s = screen_for(host.url)
        s.cache.fetch(host.url, desc)
        asked = len(host.requests)
        s.app.push(LoadingScene(s.client))
        s.welcome(desc)
        s.app.frame()
        assert isinstance(s.app.scene, WorldScene)
        assert len(host.requests) == asked


def test_a_host_that_names_no_map_gets_the_bundled_world(screen_for):
    s = screen_for("http://127.0.0.1:9")
    s.app.services["map_path"] = "somewhere/else.tmx"
    s.app.push(LoadingScene(s.client))
    s.welcome(None)
    s.app.frame()
    assert isinstance(s.app.scene, WorldScene)
    assert "map_path" not in s.app.services
    assert s.app.scene.tiles.map.path == Path(rules.DEFAULT_MAP_PATH).resolve()


def test_back_on_a_host_now_running_another_map_the_world_gets_it_first(screen_for,
                                                                        feature_bundle):
    desc = F.describe(feature_bundle)
    routes = {desc["url"]: (200, feature_bundle, {"Content-Type": "application/zip"})}
    with F.TinyServer(routes) as host:
        s = screen_for(host.url)
        s.app.push(LoadingScene(s.client))
        s.welcome(None)  # first on the bundled world
        s.app.frame()
        world = s.app.scene
        assert isinstance(world, WorldScene) and world.world.width_px == rules.load_world().width_px
        # The host restarted with the feature map; the client reconnects.
        s.welcome(desc)
        s.client.events.put(net.NetEvent(P.PLAYERS_JOINED, {"players": [
            {"id": 7, "name": "mira", "x": 50.0, "y": 72.0}]}))
        s.until(lambda: isinstance(s.app.scene, WorldScene) and s.app.scene is not world)
    again = s.app.scene
    assert again.world.width_px == F.W * F.TS and again.predictor is not None
    assert 7 in again.remotes
    assert s.app.services["map_hash"] == desc["hash"]
    assert world.handed_to is not None and world.client is again.client
