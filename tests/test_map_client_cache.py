"""The client's map cache: download with progress, hash check, limits, hits.

The misbehaving hosts are a tiny local HTTP server (a real socket and real
HTTP, answering with fixed bytes); the real host's endpoint is covered in
test_map_client_host.py.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from game.client import maps  # noqa: E402
from game.client.maps import MapCache, MapDownloadError  # noqa: E402
from game.core import bundle  # noqa: E402
from game.core.rules import DEFAULT_MAP_PATH  # noqa: E402

from . import helpers_map_client as F  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def feature_bundle(tmp_path_factory) -> bytes:
    import pygame

    pygame.init()
    folder = tmp_path_factory.mktemp("src")
    path = F.write_feature_map(folder)
    files = [path, folder / "colours.tsx", folder / "art" / "colours.png",
             folder / "art" / "tall.png"]
    return bundle.build_bundle(SimpleNamespace(folder=folder, files=files))


def serve(data: bytes, desc: dict, **headers) -> F.TinyServer:
    return F.TinyServer({desc["url"]: (200, data, {"Content-Type": "application/zip", **headers})})


def test_fetch_streams_with_progress_checks_the_hash_and_unpacks(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    cache = MapCache(tmp_path / "cache", bundled=())
    seen = []
    with serve(feature_bundle, desc) as host:
        path = cache.fetch(host.url, desc, lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "cache" / desc["hash"] / "features.tmx"
    assert path.is_file() and (path.parent / "art" / "colours.png").is_file()
    assert seen[0] == (0, len(feature_bundle)) and seen[-1] == (len(feature_bundle),) * 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert cache.local(desc) == path


def test_progress_without_a_length_counts_up_to_the_announced_size(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    seen = []
    with serve(feature_bundle, desc, **{"Transfer-Encoding": "chunked"}) as host:
        MapCache(tmp_path, bundled=()).fetch(host.url, desc, lambda d, t: seen.append((d, t)))
    assert seen[-1] == (len(feature_bundle), len(feature_bundle))


def test_a_bundle_that_does_not_match_its_hash_is_refused(tmp_path, feature_bundle):
    other = hashlib.sha256(b"some other map").hexdigest()
    desc = F.describe(feature_bundle, digest=other)
    cache = MapCache(tmp_path / "cache", bundled=())
    with serve(feature_bundle, desc) as host, pytest.raises(MapDownloadError, match="hash"):
        cache.fetch(host.url, desc)
    assert cache.local(desc) is None
    assert not (tmp_path / "cache" / other).exists()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_bundle_over_the_limit_is_refused(tmp_path, feature_bundle, monkeypatch, chunked):
    monkeypatch.setattr(maps, "MAP_BUNDLE_MAX_BYTES", len(feature_bundle) - 1)
    desc = F.describe(feature_bundle)
    desc["size"] = 100  # the host understates it: the bytes themselves are counted
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    with serve(feature_bundle, desc, **headers) as host, \
            pytest.raises(MapDownloadError, match="more than"):
        MapCache(tmp_path, bundled=()).fetch(host.url, desc)


def test_an_announced_size_over_the_limit_is_refused_without_asking(tmp_path):
    desc = F.describe(b"x")
    desc["size"] = maps.MAP_BUNDLE_MAX_BYTES + 1
    with F.TinyServer({}) as host, pytest.raises(MapDownloadError, match="more than"):
        MapCache(tmp_path, bundled=()).fetch(host.url, desc)
    assert host.requests == []


def test_http_error_and_a_closed_port_say_what_happened(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    with F.TinyServer({}) as host, pytest.raises(MapDownloadError, match="HTTP 404"):
        MapCache(tmp_path, bundled=()).fetch(host.url, desc)
    closed = host.url  # the server is gone now
    with pytest.raises(MapDownloadError, match="could not reach the host"):
        MapCache(tmp_path, bundled=()).fetch(closed, desc)


def test_a_download_cut_short_says_the_connection_broke(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    half = feature_bundle[:len(feature_bundle) // 2]
    seen = []
    with serve(half, desc, **{"Content-Length": str(len(feature_bundle))}) as host, \
            pytest.raises(MapDownloadError, match="broke during the download"):
        MapCache(tmp_path, bundled=()).fetch(host.url, desc, lambda d, t: seen.append(d))
    assert seen[-1] == len(half)  # what came was counted as it came
    assert not any(tmp_path.iterdir())


def test_a_map_somewhere_else_or_outside_its_bundle_is_refused(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    with F.TinyServer({}) as host:
        elsewhere = dict(desc, url="http://example.invalid/map.zip")
        with pytest.raises(MapDownloadError, match="somewhere else"):
            MapCache(tmp_path, bundled=()).fetch(host.url, elsewhere)
        for bad in ("../up.tmx", "/etc/passwd", "a\\b.tmx", ""):
            with pytest.raises(MapDownloadError):
                MapCache(tmp_path, bundled=()).fetch(host.url, dict(desc, file=bad))
            assert MapCache(tmp_path, bundled=()).local(dict(desc, file=bad)) is None
        assert host.requests == []


def test_an_unsafe_bundle_with_the_right_hash_is_refused(tmp_path):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("../escape.tmx", "<map/>")
    data = out.getvalue()
    desc = F.describe(data, file="escape.tmx")
    with serve(data, desc) as host, pytest.raises(MapDownloadError, match="unsafe"):
        MapCache(tmp_path / "cache", bundled=()).fetch(host.url, desc)
    assert not (tmp_path / "escape.tmx").exists()


def test_a_cached_map_is_used_without_any_request(tmp_path, feature_bundle):
    desc = F.describe(feature_bundle)
    cache = MapCache(tmp_path, bundled=())
    with serve(feature_bundle, desc) as host:
        cache.fetch(host.url, desc)
        assert len(host.requests) == 1
        again = MapCache(tmp_path, bundled=())  # a later run of the game
        assert again.local(desc) == tmp_path / desc["hash"] / "features.tmx"
        assert len(host.requests) == 1


def test_the_bundled_world_counts_as_cached_when_the_hash_matches(tmp_path):
    from game.core import tiled

    data = bundle.build_bundle(tiled.load_map(DEFAULT_MAP_PATH))
    desc = F.describe(data, file="world.tmx", name="world")
    cache = MapCache(tmp_path)
    assert cache.local(desc) == Path(DEFAULT_MAP_PATH)
    assert cache.local(dict(desc, hash=hashlib.sha256(b"x").hexdigest())) is None
    assert MapCache(tmp_path, bundled=()).local(desc) is None


def test_the_maps_used_longest_ago_are_cleared_away(tmp_path, feature_bundle, monkeypatch):
    monkeypatch.setattr(maps, "MAPS_KEPT", 2)
    import io
    import zipfile

    bundles = []
    for i in range(3):  # three different maps (one more file each time)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(feature_bundle)) as src, zipfile.ZipFile(out, "w") as zf:
            for info in src.infolist():
                zf.writestr(info, src.read(info))
            zf.writestr(f"extra{i}.txt", str(i))
        bundles.append(out.getvalue())
    descs = [F.describe(b) for b in bundles]
    routes = {d["url"]: (200, b, {}) for d, b in zip(descs, bundles)}
    cache = MapCache(tmp_path, bundled=())
    with F.TinyServer(routes) as host:
        cache.fetch(host.url, descs[0])
        cache.fetch(host.url, descs[1])
        os.utime(tmp_path / descs[1]["hash"], (1, 1))  # map 1 was used long ago...
        assert cache.local(descs[0]) is not None  # ...map 0 just now
        cache.fetch(host.url, descs[2])
    assert cache.local(descs[1]) is None
    assert cache.local(descs[0]) is not None and cache.local(descs[2]) is not None
