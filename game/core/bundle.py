"""Map bundles: the map and every file it references, as one zip with a hash.

The host builds a map's bundle once at start-up (``build_bundle``) after
``check_files`` has made sure every file the map references is a real file
inside the map's folder and that together they stay under the size limit.
The bundle is deterministic: the same files give the same bytes, wherever the
folder is and whenever it is built (names sorted, timestamps 1980-01-01,
permissions 0644, deflate level 9), so its sha256 (``bundle_hash``) names the
map's content.  (The deflated bytes are zlib's: a Python built with another
deflate library, such as zlib-ng, may give other bytes and so another hash
for the same map, never a wrong one.)  Clients cache bundles by that hash
and unpack them with ``safe_extract``, which refuses anything that could
write outside its folder.

Pure: standard library only (the ``TiledMap`` comes from ``game.core.tiled``).
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from . import protocol as P
from .rules import MapError

if TYPE_CHECKING:
    from .tiled import TiledMap

MAP_BUNDLE_MAX_BYTES = P.MAP_BUNDLE_MAX_BYTES

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = stat.S_IFREG | 0o644
COMPRESS_LEVEL = 9
_CHUNK = 256 * 1024


class BundleError(ValueError):
    """A bundle that cannot be unpacked safely; nothing was written."""


# -- the host's side ---------------------------------------------------------------------
def _lexical(path: Path) -> Path:
    """``path`` made absolute with its ``.`` and ``..`` parts worked out, without
    following symbolic links."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _unique(files: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    out = []
    for f in files:
        key = _lexical(Path(f))
        if key not in seen:
            seen.add(key)
            out.append(Path(f))
    return out


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_files(tiled_map: "TiledMap", max_bytes: int = MAP_BUNDLE_MAX_BYTES) -> None:
    """Refuse, with a ``MapError`` naming the file and the rule, a map that
    references a file outside its folder (through ``..``, an absolute path or a
    symbolic link leading out), a file that is missing, or files that come to
    more than ``max_bytes`` together."""
    folder = _lexical(Path(tiled_map.folder))
    real_folder = Path(os.path.realpath(folder))
    total = 0
    for f in _unique(tiled_map.files):
        f = Path(f)
        plain = _lexical(f)
        if not _inside(plain, folder):
            raise MapError(f"{f}: outside the map's folder {folder} (a '..' or absolute "
                           f"path in the map); only files inside the map's folder are "
                           f"served: copy the file there and reference it from there")
        if not f.exists() and not f.is_symlink():
            raise MapError(f"{f}: missing (the map references it): put it back, or fix "
                           f"the reference in Tiled")
        real = Path(os.path.realpath(plain))
        if not _inside(real, real_folder):
            raise MapError(f"{f}: a symbolic link leading outside the map's folder "
                           f"{folder} (to {real}); only files inside it are served: copy "
                           f"the file there instead")
        if not real.exists():
            raise MapError(f"{f}: missing (a broken symbolic link): put the file back, "
                           f"or fix the reference in Tiled")
        if not real.is_file():
            raise MapError(f"{f}: not a file (the map references it): fix the reference "
                           f"in Tiled")
        total += real.stat().st_size
        if total > max_bytes:
            raise MapError(f"{tiled_map.path}: the map and its files come to more than "
                           f"{_mb(max_bytes)} (the limit of what a host serves); make the "
                           f"images smaller or split the map")


def bundle_names(tiled_map: "TiledMap") -> list[tuple[str, Path]]:
    """``(name in the bundle, file)`` for every file of the map, sorted by name:
    each file's path relative to the map's folder, with '/' separators."""
    folder = _lexical(Path(tiled_map.folder))
    named: dict[str, Path] = {}
    for f in tiled_map.files:
        plain = _lexical(Path(f))
        if not _inside(plain, folder) or plain == folder:
            raise MapError(f"{f}: outside the map's folder {folder}")
        named[plain.relative_to(folder).as_posix()] = plain
    return sorted(named.items())


def build_bundle(tiled_map: "TiledMap") -> bytes:
    """The map's bundle: a zip of every file of ``tiled_map.files`` stored under
    its path relative to the map's folder.  The same files always give the same
    bytes.  Call ``check_files`` first."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, path in bundle_names(tiled_map):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # unix, on every system, so the bytes never differ
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED,
                        compresslevel=COMPRESS_LEVEL)
    return out.getvalue()


def bundle_hash(data: bytes) -> str:
    """The bundle's name: the sha256 of its bytes, in lower-case hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class MapBundle:
    """A map ready to serve: its bundle's bytes and what names it."""

    name: str      # the map's name: its file's stem
    file: str      # the map file's name inside the bundle
    data: bytes
    hash: str
    files: int     # how many files the bundle holds

    @property
    def size(self) -> int:
        return len(self.data)

    def describe(self) -> dict[str, Any]:
        """The map as the wire describes it (``welcome``, ``/api/health``)."""
        return P.map_description(self.name, self.file, self.hash, self.size)


def make_bundle(tiled_map: "TiledMap", max_bytes: int = MAP_BUNDLE_MAX_BYTES) -> MapBundle:
    """Check the map's files and bundle them; ``MapError`` naming the file and
    the rule when the map breaks one."""
    check_files(tiled_map, max_bytes)
    data = build_bundle(tiled_map)
    if len(data) > max_bytes:
        raise MapError(f"{tiled_map.path}: the map's bundle comes to {_mb(len(data))}, over "
                       f"the {_mb(max_bytes)} a host serves; make the images smaller")
    path = Path(tiled_map.path)
    file = _lexical(path).relative_to(_lexical(Path(tiled_map.folder))).as_posix()
    return MapBundle(name=path.stem, file=file, data=data, hash=bundle_hash(data),
                     files=len(bundle_names(tiled_map)))


# -- the client's side -------------------------------------------------------------------
def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if not name or "\x00" in name:
        return "an empty name"
    if "\\" in name:
        return "a backslash in its name"
    if name.startswith("/") or ":" in name:
        return "an absolute name"
    if any(part in ("..", ".", "") for part in name.rstrip("/").split("/")):
        return "'..', '.' or an empty part in its name"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def safe_extract(data: bytes, dest: Path, max_bytes: int = MAP_BUNDLE_MAX_BYTES) -> None:
    """Unpack bundle ``data`` into the folder ``dest`` (which must not exist yet).

    Refuses, with ``BundleError`` and nothing left behind, entries with an
    absolute name, ``..``, a backslash or a symbolic link, names given twice,
    and more than ``max_bytes`` of content (counted as it is unpacked, whatever
    the entries claim).  The files go to a temporary folder beside ``dest``
    that is renamed into place once all are written, so ``dest`` either holds
    the whole bundle or does not exist.  If another process put ``dest`` in
    place meanwhile, its copy is kept.
    """
    dest = Path(dest)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BundleError(f"not a zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        seen: set[str] = set()
        declared = 0
        for info in infos:
            problem = _entry_problem(info)
            if problem:
                raise BundleError(f"entry {info.filename!r} has {problem}")
            key = info.filename.rstrip("/").casefold()
            if key in seen:
                raise BundleError(f"entry {info.filename!r} is in the bundle twice")
            seen.add(key)
            declared += info.file_size
            if declared > max_bytes:
                raise BundleError(f"the bundle unpacks to more than {max_bytes} bytes")
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        try:
            _extract_all(zf, infos, work, max_bytes)
            try:
                os.rename(work, dest)
            except OSError:
                if not dest.is_dir():
                    raise
                shutil.rmtree(work, ignore_errors=True)  # someone else unpacked it first
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise


def _extract_all(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], work: Path,
                 max_bytes: int) -> None:
    written = 0
    for info in infos:
        target = work.joinpath(*info.filename.rstrip("/").split("/"))
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zf.open(info) as src, open(target, "xb") as out:
                while True:
                    chunk = src.read(_CHUNK)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > max_bytes:
                        raise BundleError(f"the bundle unpacks to more than {max_bytes} bytes")
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BundleError(f"entry {info.filename!r} is damaged ({exc})") from None
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise BundleError(f"entry {info.filename!r} clashes with another entry") from None
