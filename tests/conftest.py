"""Shared fixtures: real host processes on free ports, scripted players.

``host`` and ``make_player`` run a host on the real world map, one per test
module.  The host tests use ``world_host`` and ``players`` instead: a real
host per async mode (shared by the whole run; every test makes its own
players) on a small test map whose walls are known, so a test can aim a move
at a wall and know what the host must answer.
"""
from __future__ import annotations

import itertools
import os
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from game.client.net import HostClient  # noqa: E402
from game.core import protocol as P  # noqa: E402

from . import support  # noqa: E402
from .support import HostProcess  # noqa: E402

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def _config_home(tmp_path_factory, monkeypatch):
    """What the game remembers (settings, contacts, downloaded maps) goes to a
    scratch folder, not ~/.config or ~/.cache."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _watch_hosts():
    with pytest.MonkeyPatch.context() as patch:
        support.watch_hosts(patch)
        yield


@pytest.fixture(autouse=True)
def _hosts_end_clean(request, _watch_hosts):
    """Fail the test when a host it used exited with an error or logged a
    traceback meanwhile (see tests/support.py; opt out with ``host_may_fail``)."""
    marks = {h: h.log_size() for h in support.STARTED if h.proc and h.proc.poll() is None}
    first_new = len(support.STARTED)
    request.node.host_log_marks = (marks, first_new)
    yield
    if request.node.get_closest_marker("host_may_fail") is None:
        problems = support.host_problems(marks, first_new)
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)


def stop_cleanly(proc: HostProcess) -> None:
    """Stop a host shared by several tests and fail if it exits with an error."""
    proc.__exit__(None, None, None)
    problem = support.exit_problem(proc)
    assert problem is None, problem


PASSWORD = "correct-horse"
ASYNC_MODES = ("eventlet", "threading")

# The test world, 20 x 12 tiles of 32 px.  '#' is a wall; 'S' the spawn tile.
# A wall column at tile x = 6 (pixels 192..224) runs from the top edge down to
# row 6, right beside the spawn, so moves through it are one step away.
TEST_MAP_ROWS = (
    "......#.............",
    "......#.............",
    ".....S#.............",
    "......#.............",
    "......#.............",
    "......#.............",
    "......#.............",
    "....................",
    "....................",
    "....................",
    "....................",
    "....................",
)
TILE = 32
SPAWN = (176.0, 80.0)            # centre of tile (5, 2)
WALL_LEFT_PX, WALL_RIGHT_PX = 192.0, 224.0
IN_WALL = (208.0, 80.0)          # standing inside the wall column
BEYOND_WALL = (240.0, 80.0)      # 64 px east of the spawn, on the far side of the wall


def unique_name(prefix: str = "p") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"[:20]


# -- the test map ------------------------------------------------------------------
def write_png(path: Path, width: int, height: int,
              colour: Callable[[int, int], tuple[int, int, int]]) -> Path:
    """Write a small RGB PNG (standard library only): ``colour(x, y)`` per pixel."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in colour(x, y))
                    for y in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    return path


def write_tmx(path: Path, rows: tuple[str, ...] | list[str], tile: int = TILE,
              exits: tuple | list = (), entries: dict | None = None) -> Path:
    """Write ``rows`` (as for ``WorldMap.from_rows``) as a Tiled map file, with
    its tileset image ``test.png`` beside it (floor green, wall grey).

    ``exits``: ``(x, y, width, height, "map#entry")`` rectangles (pixels) with
    an ``exit`` property; ``entries``: name -> (x, y), point objects."""
    height, width = len(rows), len(rows[0])
    cells, spawn = [], None
    for ty, row in enumerate(rows):
        for tx, ch in enumerate(row):
            cells.append("2" if ch == "#" else "1")
            if ch == "S":
                spawn = ((tx + 0.5) * tile, (ty + 0.5) * tile)
    assert spawn is not None, "the rows need an 'S'"
    data = ",\n".join(",".join(cells[r * width:(r + 1) * width]) for r in range(height))
    places = "".join(
        f'  <object id="{10 + i}" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}">\n'
        f'   <properties><property name="exit" value="{target}"/></properties>\n  </object>\n'
        for i, (x, y, w, h, target) in enumerate(exits))
    places += "".join(
        f'  <object id="{100 + i}" name="{name}" x="{x:g}" y="{y:g}"><point/></object>\n'
        for i, (name, (x, y)) in enumerate((entries or {}).items()))
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<map version="1.10" orientation="orthogonal" renderorder="right-down" width="{width}" height="{height}" tilewidth="{tile}" tileheight="{tile}" infinite="0" nextlayerid="3" nextobjectid="2">
 <tileset firstgid="1" name="test" tilewidth="{tile}" tileheight="{tile}" tilecount="2" columns="2">
  <image source="test.png" width="{2 * tile}" height="{tile}"/>
  <tile id="1">
   <properties>
    <property name="blocked" type="bool" value="true"/>
   </properties>
  </tile>
 </tileset>
 <layer id="1" name="ground" width="{width}" height="{height}">
  <data encoding="csv">
{data}
</data>
 </layer>
 <objectgroup id="2" name="objects">
  <object id="1" name="spawn" x="{spawn[0]:g}" y="{spawn[1]:g}"/>
{places} </objectgroup>
</map>
""")
    image = path.with_name("test.png")
    if not image.exists():
        write_png(image, 2 * tile, tile,
                  lambda x, y: (90, 160, 80) if x < tile else (110, 110, 120))
    return path


@pytest.fixture(scope="session")
def test_map_path(tmp_path_factory) -> Path:
    return write_tmx(tmp_path_factory.mktemp("map") / "test.tmx", TEST_MAP_ROWS)


# -- helpers ----------------------------------------------------------------------
def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def settle(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Like ``wait_until`` but return False on timeout, so the test's own
    assertions that follow say what is missing."""
    try:
        return bool(wait_until(predicate, timeout, interval))
    except TimeoutError:
        return False


def post(url: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    """POST JSON (or raw ``data=``) to the host."""
    if "data" not in kwargs:
        kwargs["json"] = body
    return requests.post(url + path, timeout=10, **kwargs)


def db_rows(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Query the host's SQLite file directly, as an operator would (autocommit)."""
    conn = sqlite3.connect(str(db_path), timeout=10, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored_at(url: str, db_path: Path, name: str, x: float, y: float) -> int:
    """Register ``name`` on the host at ``url`` and store where it stands as
    ``(x, y)`` before it ever joins; returns its id.  No host has the player
    in mind yet, so nothing a host saves can overwrite the spot (a player who
    joined and left could still have its leave's save on the way)."""
    client = HostClient(url, reconnect=False)
    client.login_or_register(name, PASSWORD)
    uid = client.session.user_id
    db_rows(db_path, "INSERT OR REPLACE INTO positions (user_id, x, y, updated_at) "
            "VALUES (?, ?, ?, ?)", (uid, x, y, time.time()))
    return uid


def stored_position(db_path: Path, user_id: int) -> tuple[float, float] | None:
    rows = db_rows(db_path, "SELECT x, y FROM positions WHERE user_id = ?", (user_id,))
    return (rows[0][0], rows[0][1]) if rows else None


def snapshot_positions(event_data: dict) -> dict[int, tuple[float, float]]:
    flat = event_data["p"]
    return {int(flat[i]): (flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)}


def wait_for_position(client: HostClient, player_id: int, xy: tuple[float, float],
                      timeout: float = 5.0):
    """Wait for a snapshot that shows ``player_id`` standing at ``xy``."""
    return client.wait_for("snapshot", timeout,
                           match=lambda d: snapshot_positions(d).get(player_id) == tuple(xy))


def seen_events(client: HostClient, kind: str) -> list[Any]:
    """Every event of ``kind`` the client got so far (skipped or still queued)."""
    client.skipped.extend(client.drain())
    return [e.data for e in client.skipped if e.kind == kind]


# -- a host on the test map, under each async mode ------------------------------------
class WorldHost:
    """A running ``host.py`` on the test map, plus what the tests need around it."""

    def __init__(self, proc: HostProcess):
        self.proc = proc
        # Closing a client can wait for the host's close frame; do it off the test.
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="closer")

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def db_path(self) -> Path:
        return self.proc.db_path

    @property
    def async_mode(self) -> str:
        return self.proc.async_mode

    def in_background(self, fn: Callable, *args: Any) -> Future:
        return self.pool.submit(fn, *args)

    def stop(self) -> None:
        # Stop the host first: a client still closing then sees the socket end
        # at once instead of waiting for a close handshake.
        try:
            stop_cleanly(self.proc)
        finally:
            self.pool.shutdown(wait=True)


def start_world_host(db_path: Path, map_path: Path, async_mode: str,
                     extra_args: tuple[str, ...] = ()) -> WorldHost:
    # Plenty of failed logins allowed: the refusal tests all come from 127.0.0.1.
    args = ("--map", str(map_path), "--login-failures", "1000", *extra_args)
    # At INFO, so that a failed test's report shows what the host did meanwhile.
    return WorldHost(HostProcess(db_path, async_mode=async_mode, extra_args=args,
                                 log_level="INFO").start())


@pytest.fixture(scope="session")
def world_hosts(tmp_path_factory, test_map_path):
    """``world_hosts(mode)``: one real host per async mode on the test map,
    started when first asked for and shared by every test that uses it.
    Every test makes its own players, so they do not see each other's state."""
    started: dict[str, WorldHost] = {}

    def get(mode: str) -> WorldHost:
        if mode not in started:
            db = tmp_path_factory.mktemp(f"world-{mode}") / "world.db"
            started[mode] = start_world_host(db, test_map_path, mode)
        return started[mode]

    yield get
    for world in started.values():
        world.stop()


# Marks a test (or, as ``pytestmark``, a module) to run under eventlet only:
# the core host tests run under both async modes, the rest under the default.
eventlet_only = pytest.mark.parametrize("world_host", ["eventlet"], indirect=True)


@pytest.fixture(params=ASYNC_MODES)
def world_host(request, world_hosts) -> WorldHost:
    """The shared test-map host, once per async mode (see ``eventlet_only``)."""
    return world_hosts(request.param)


class PlayerFactory:
    """Makes players on a WorldHost and closes them when the test ends."""

    def __init__(self, world: WorldHost):
        self.world = world
        self.clients: list[HostClient] = []

    def __call__(self, name: str | None = None, password: str = PASSWORD, join: bool = True,
                 register: bool = True) -> HostClient:
        client = self.client()
        name = name or unique_name()
        if register:
            client.login_or_register(name, password)
        else:
            client.login(name, password)
        if join:
            client.connect()
            client.welcome = client.wait_for("welcome").data  # type: ignore[attr-defined]
        return client

    def client(self) -> HostClient:
        client = HostClient(self.world.url, reconnect=False)
        self.clients.append(client)
        return client

    def close(self, client: HostClient) -> Future:
        """Disconnect a player; the host sees it at once, the client finishes later."""
        return self.world.in_background(client.close)

    def close_all(self) -> None:
        for client in self.clients:
            self.close(client)


@pytest.fixture
def players(world_host):
    """``players()`` makes a registered, connected, joined player on ``world_host``;
    ``players(name, join=False)`` only logs in.  ``.welcome`` holds the welcome."""
    factory = PlayerFactory(world_host)
    yield factory
    factory.close_all()


# -- the real world map (kept for tests of other areas) ----------------------------------
@pytest.fixture(scope="module", params=["eventlet"])
def host(request, tmp_path_factory):
    """A real host on a free port with a fresh database, shared by a module."""
    path = tmp_path_factory.mktemp("host") / "world.db"
    proc = HostProcess(path, async_mode=request.param).start()
    try:
        yield proc
    finally:
        stop_cleanly(proc)


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


def players_online(url: str) -> int:
    """How many players the host at ``url`` says are in the world (-1: no answer)."""
    try:
        return requests.get(url + P.HTTP_HEALTH, timeout=2).json()["players_online"]
    except (requests.RequestException, ValueError, KeyError):
        return -1


@pytest.fixture
def inprocess_host(tmp_path):
    """A host built in this process (threading mode, no server running), for
    calling handlers directly or through Flask-SocketIO's test client."""
    from server.app import create_host
    from server.config import HostConfig

    host = create_host(HostConfig(async_mode="threading", port=0,
                                  db_path=tmp_path / "world.db"))
    yield host
    host.ctx.accounts.hash_pool.stop()  # its hashing worker, if it started one
    host.listener.close()
    host.ctx.storage.close()



# --- Tests that run many processes, and those that time the host under load ---
# Each of these starts several host processes (a cluster, workers, a load of
# clients) or times the host while it is loaded. Run side by side on a
# two-core machine, one's processes make the other's timings fail, so they
# share one xdist group: pytest.ini's ``--dist loadgroup`` runs them one after
# another in one worker, beside the rest of the suite.
HEAVY_MODULES = ("test_cluster_", "test_workers_", "test_storage_postgres",
                 "test_hardening_load", "test_tick_punctual", "test_host_overload")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report carries what its hosts logged meanwhile."""
    outcome = yield
    report = outcome.get_result()
    marks = getattr(item, "host_log_marks", None)
    if report.when == "call" and report.failed and marks is not None:
        for name, text in support.host_logs(*marks):
            report.sections.append((name, text))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1].startswith(HEAVY_MODULES):
            item.add_marker(pytest.mark.xdist_group("heavy"))


# --- Real servers for the cluster and PostgreSQL tests (tests/servers.py) ---

@pytest.fixture
def redis_server():
    """A fresh redis-server of this test's own on a free port."""
    from .servers import RedisServer
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for this test worker (``postgres.create_database``
    gives each test a database of its own)."""
    from .servers import PostgresServer
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.close()


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """The URL of a new, empty PostgreSQL database of this test's own."""
    return postgres_server.create_database(f"t{os.getpid()}_{next(_databases)}")


# --- Storage tests on both engines: SQLite and PostgreSQL ---

@pytest.fixture(params=["sqlite", "postgresql"])
def world_db(request, tmp_path):
    """Where a storage test keeps the world, on each engine in turn: a SQLite
    file, or a new PostgreSQL database (its URL)."""
    if request.param == "sqlite":
        return tmp_path / "world.db"
    return request.getfixturevalue("postgres_url")


def db_query(target, sql: str, params: tuple = ()) -> list[tuple]:
    """Query a world's database of either engine on a connection of its own."""
    from server.storage import open_database
    db = open_database(target)
    try:
        return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]
    finally:
        db.conn.close()
