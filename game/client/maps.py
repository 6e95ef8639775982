"""The maps the game has downloaded from hosts, kept by their content hash.

A host describes its map as ``{"name", "file", "hash", "size", "url"}`` (see
docs/protocol.md).  ``MapCache.local`` finds a map already here: in the cache
folder (``<user cache>/maps/<hash>/``), or the map that ships with the game
when its bundle has the same hash, so a first visit to a host running the
bundled world downloads nothing.  ``MapCache.fetch`` downloads a bundle
(streamed, with progress, never more than ``MAP_BUNDLE_MAX_BYTES``), checks its
sha256 against the hash the host announced and unpacks it safely.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator
from urllib.parse import urljoin, urlsplit

import platformdirs
import requests
import urllib3

from game.core.rules import DEFAULT_MAP_PATH

from .settings import APP_NAME

from game.core.bundle import MAP_BUNDLE_MAX_BYTES, BundleError, safe_extract

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 20.0  # between two pieces of the download, not for the whole of it

MAPS_KEPT = 20  # downloaded maps kept; the ones used longest ago go first
Progress = Callable[[int, int], None]


class MapDownloadError(Exception):
    """The map could not be had: the message says why, in a player's words."""


def cache_root() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "maps"


def _map_file(desc: dict) -> PurePosixPath:
    """The map's file name inside its bundle, refused when it could leave it."""
    name = desc.get("file") if isinstance(desc, dict) else None
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        raise MapDownloadError("the host described its map without a file name")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise MapDownloadError(f"the host named an unsafe map file: {name!r}")
    return path


def _map_hash(desc: dict) -> str:
    value = desc.get("hash") if isinstance(desc, dict) else None
    if not isinstance(value, str) or not HASH_RE.match(value):
        raise MapDownloadError("the host described its map without a valid hash")
    return value


_bundled_hashes: dict[tuple[str, float], str] = {}
_bundled_lock = threading.Lock()


def bundled_hash(path: str | Path) -> str | None:
    """The bundle hash of a map on this computer (worked out once per run)."""
    path = Path(path)
    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        return None
    with _bundled_lock:
        if key not in _bundled_hashes:
            from game.core import bundle, tiled

            try:
                _bundled_hashes[key] = bundle.bundle_hash(bundle.build_bundle(tiled.load_map(path)))
            except Exception:  # a broken local copy is simply not a match
                _bundled_hashes[key] = ""
        return _bundled_hashes[key] or None


def _touch(folder: Path) -> None:
    try:
        os.utime(folder)
    except OSError:
        pass  # a cache we cannot write to is still read


def _pieces(reply: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: each piece is what one read of the socket gave
    (at most ``CHUNK_BYTES``), so progress moves even on a slow link."""
    raw = reply.raw
    if not hasattr(raw, "read1"):  # pragma: no cover (urllib3 before 2)
        yield from reply.iter_content(CHUNK_BYTES)
        return
    while True:
        piece = raw.read1(CHUNK_BYTES, decode_content=True)
        if not piece:
            return
        yield piece


class MapCache:
    def __init__(self, root: Path | None = None, bundled: Iterable[str | Path] = (DEFAULT_MAP_PATH,)):
        self.root = Path(root) if root is not None else cache_root()
        self.bundled = [Path(p) for p in bundled]

    def local(self, desc: dict) -> Path | None:
        """The map's file here, if this computer already has that hash."""
        try:
            digest, name = _map_hash(desc), _map_file(desc)
        except MapDownloadError:
            return None
        path = self.root / digest / name
        if path.is_file():
            _touch(self.root / digest)  # used now: the last to be cleared away
            return path
        for candidate in self.bundled:
            if candidate.name == name.name and bundled_hash(candidate) == digest:
                return candidate
        return None

    def fetch(self, server_url: str, desc: dict, progress: Progress | None = None,
              cancelled: Callable[[], bool] | None = None) -> Path:
        """Download, check and unpack the map's bundle; return the map's path.

        ``progress(done, total)`` is called as bytes arrive (from this thread);
        ``cancelled()`` returning True stops the download with an error.
        """
        digest, name = _map_hash(desc), _map_file(desc)
        url = self._url(server_url, desc, digest)
        announced = desc.get("size")
        if isinstance(announced, int) and announced > MAP_BUNDLE_MAX_BYTES:
            raise MapDownloadError(self._too_big(announced))
        try:
            with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as reply:
                if reply.status_code != 200:
                    raise MapDownloadError(f"the host answered HTTP {reply.status_code} "
                                           f"for its map")
                length = reply.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else (
                    announced if isinstance(announced, int) else 0)
                if total > MAP_BUNDLE_MAX_BYTES:
                    raise MapDownloadError(self._too_big(total))
                data, sha = bytearray(), hashlib.sha256()
                if progress:
                    progress(0, total)
                for piece in _pieces(reply):
                    if cancelled is not None and cancelled():
                        raise MapDownloadError("the download was cancelled")
                    data += piece
                    sha.update(piece)
                    if len(data) > MAP_BUNDLE_MAX_BYTES:
                        raise MapDownloadError(self._too_big(len(data)))
                    if progress:
                        progress(len(data), max(total, len(data)))
        except (requests.ConnectionError, urllib3.exceptions.NewConnectionError) as exc:
            if "data" not in locals():
                raise MapDownloadError("could not reach the host to download its map") from exc
            raise MapDownloadError("the connection to the host broke during the download") \
                from exc
        except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise MapDownloadError("the host stopped sending its map (timed out)") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise MapDownloadError("the connection to the host broke during the download") \
                from exc
        if sha.hexdigest() != digest:
            raise MapDownloadError("the map the host sent does not match its hash "
                                   "(damaged on the way, or changed on the host)")
        dest = self.root / digest
        if not (dest / name).is_file():
            if dest.exists():  # a damaged copy (files deleted by hand): unpack afresh
                shutil.rmtree(dest, ignore_errors=True)
            try:
                safe_extract(bytes(data), dest)
            except (BundleError, OSError) as exc:
                raise MapDownloadError(f"the host's map bundle is unsafe or broken: {exc}") from exc
        path = dest / name
        if not path.is_file():
            raise MapDownloadError(f"the host's map bundle has no {name}")
        _touch(dest)
        self.prune(keep=dest)
        return path

    def prune(self, keep: Path | None = None) -> None:
        """Clear away the maps used longest ago, beyond ``MAPS_KEPT``."""
        try:
            folders = [f for f in self.root.iterdir() if f.is_dir() and HASH_RE.match(f.name)]
        except OSError:
            return
        folders.sort(key=lambda f: f.stat().st_mtime, reverse=True)
        for old in [f for f in folders if f != keep][max(0, MAPS_KEPT - 1):]:
            shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def _url(server_url: str, desc: dict, digest: str) -> str:
        """Where the bundle is: always on the host we are talking to."""
        base = server_url.rstrip("/") + "/"
        url = desc.get("url") or f"/api/maps/{digest}.zip"
        if not isinstance(url, str):
            raise MapDownloadError("the host described its map with a bad address")
        full = urljoin(base, url)
        here, there = urlsplit(base), urlsplit(full)
        if (here.scheme, here.netloc) != (there.scheme, there.netloc):
            raise MapDownloadError(f"the host's map is somewhere else ({there.netloc}): refused")
        return full

    @staticmethod
    def _too_big(size: int) -> str:
        return (f"the host's map is {size / 1e6:.1f} MB, more than the "
                f"{MAP_BUNDLE_MAX_BYTES / 1e6:.0f} MB the game accepts")
