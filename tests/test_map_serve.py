"""A host delivers its own map: /api/health and welcome name it and its hash,
GET /api/maps/<hash>.zip serves exactly the files it references (bundle
sha256 = the hash, the same on a copy of the map elsewhere), with ETag and
304, and 404 for any other hash.  Real host processes, both async modes, on
a map with an external tileset whose image is in another sub-folder."""
from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest
import requests

from game.client.net import HostClient
from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD, TEST_MAP_ROWS, stop_cleanly, unique_name, \
    write_png, write_tmx
from .support import HostProcess

MAP_FILES = ["images/test.png", "tilesets/test.tsx", "town.tmx"]


def write_town_map(folder: Path) -> Path:
    """The test map as ``town.tmx`` with its tileset in ``tilesets/test.tsx``,
    whose image is ``images/test.png`` (reached through '..' from the tileset),
    and files beside it that the map does not reference."""
    (folder / "tilesets").mkdir(parents=True)
    (folder / "images").mkdir()
    tmx = write_tmx(folder / "town.tmx", TEST_MAP_ROWS)
    (folder / "test.png").replace(folder / "images" / "test.png")
    text = tmx.read_text()
    start, end = text.index(" <tileset "), text.index("</tileset>") + len("</tileset>")
    embedded = text[start:end]
    tmx.write_text(text[:start] + ' <tileset firstgid="1" source="tilesets/test.tsx"/>'
                   + text[end:])
    tsx = embedded.replace(' firstgid="1"', "").replace('source="test.png"',
                                                         'source="../images/test.png"')
    (folder / "tilesets" / "test.tsx").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + tsx.strip() + "\n")
    (folder / "notes.txt").write_text("not part of the map")
    write_png(folder / "images" / "unused.png", 4, 4, lambda x, y: (0, 0, 0))
    return tmx


@pytest.fixture(scope="module")
def town_map(tmp_path_factory) -> Path:
    return write_town_map(tmp_path_factory.mktemp("town") / "town")


@pytest.fixture(scope="module", params=ASYNC_MODES)
def town_host(request, tmp_path_factory, town_map):
    db = tmp_path_factory.mktemp(f"town-{request.param}") / "world.db"
    proc = HostProcess(db, async_mode=request.param, log_level="INFO",
                       extra_args=("--map", str(town_map))).start()
    try:
        yield proc
    finally:
        stop_cleanly(proc)


def health(url: str) -> dict:
    return requests.get(url + P.HTTP_HEALTH, timeout=5).json()


def download(url: str, desc: dict, **headers: str) -> requests.Response:
    return requests.get(url + desc["url"], headers=headers, timeout=30)


def test_health_names_the_map_and_its_bundle(town_host):
    answer = health(town_host.url)
    desc = answer["map"]
    assert desc["name"] == "town" and desc["file"] == "town.tmx"
    assert P.MAP_HASH_RE.fullmatch(desc["hash"])
    assert desc["url"] == f"/api/maps/{desc['hash']}.zip"
    assert answer["maps"] == [desc]


def test_the_start_up_log_names_the_map_its_hash_and_size(town_host):
    desc = health(town_host.url)["map"]
    line = next(line for line in town_host.log().splitlines() if "map town" in line)
    assert "town.tmx" in line and desc["hash"][:12] in line and "3 files" in line
    assert f"{desc['size'] / 1024:.1f} KB" in line


def test_welcome_names_the_map_the_player_is_on(town_host):
    client = HostClient(town_host.url, reconnect=False)
    try:
        client.login_or_register(unique_name("w"), PASSWORD)
        client.connect()
        welcome = client.wait_for("welcome").data
    finally:
        client.close()
    assert welcome["map"] == health(town_host.url)["map"]
    assert welcome["world"]["width"] == len(TEST_MAP_ROWS[0]) * 32


def test_the_bundle_is_the_hash_and_holds_exactly_the_maps_files(town_host, town_map):
    desc = health(town_host.url)["map"]
    answer = download(town_host.url, desc)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/zip"
    assert int(answer.headers["Content-Length"]) == desc["size"] == len(answer.content)
    assert answer.headers["ETag"] == f'"{desc["hash"]}"'
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(answer.content).hexdigest() == desc["hash"]
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
        assert sorted(zf.namelist()) == MAP_FILES
        for name in MAP_FILES:
            assert zf.read(name) == (town_map.parent / name).read_bytes(), name


def test_a_matching_etag_gets_304_without_the_bundle(town_host):
    desc = health(town_host.url)["map"]
    for tag in (f'"{desc["hash"]}"', f'W/"{desc["hash"]}"', f'"other", "{desc["hash"]}"', "*"):
        answer = download(town_host.url, desc, **{"If-None-Match": tag})
        assert answer.status_code == 304, tag
        assert answer.content == b""
        assert answer.headers["ETag"] == f'"{desc["hash"]}"'
    assert download(town_host.url, desc, **{"If-None-Match": '"0000"'}).status_code == 200


@pytest.mark.parametrize("path", [
    "/api/maps/" + "0" * 64 + ".zip",
    "/api/maps/{hash}",
    "/api/maps/{HASH}.zip",
    "/api/maps/{hash}.zip.zip",
    "/api/maps/..%2Ftown.tmx",
    "/api/maps/town.tmx",
    "/api/maps/tilesets%2Ftest.tsx",
    "/api/maps/",
], ids=["unknown", "no-zip", "upper-case", "zip-zip", "dotdot", "map-file", "tileset",
        "empty"])
def test_anything_but_a_served_hash_is_not_found(town_host, path):
    desc = health(town_host.url)["map"]
    answer = requests.get(town_host.url + path.format(hash=desc["hash"],
                                                      HASH=desc["hash"].upper()), timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"] == P.E_NOT_FOUND


def test_the_bundle_can_be_fetched_again_and_by_head(town_host):
    desc = health(town_host.url)["map"]
    first, again = download(town_host.url, desc), download(town_host.url, desc)
    assert first.content == again.content
    head = requests.head(town_host.url + desc["url"], timeout=5)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == desc["size"]


def test_a_copy_of_the_map_elsewhere_gets_the_same_hash(town_host, town_map, tmp_path):
    copy = tmp_path / "somewhere" / "else" / "town"
    shutil.copytree(town_map.parent, copy)
    with HostProcess(tmp_path / "copy.db", async_mode=town_host.async_mode,
                     extra_args=("--map", str(copy / "town.tmx"))) as other:
        desc = health(other.url)["map"]
        assert desc == health(town_host.url)["map"]
        assert hashlib.sha256(download(other.url, desc).content).hexdigest() == desc["hash"]
