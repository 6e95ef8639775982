"""Map bundles (game.core.bundle): the same map gives the same bytes wherever
it lies, the host refuses files it must not serve, and the client refuses
bundles that could write outside their folder.  Pure, no host needed."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from game.core import bundle
from game.core.bundle import BundleError, MAP_BUNDLE_MAX_BYTES
from game.core.rules import MapError


def make_folder(folder: Path) -> SimpleNamespace:
    """A map folder with a map, an external tileset and two images, one in a sub-folder."""
    (folder / "tiles").mkdir(parents=True)
    (folder / "world.tmx").write_text("<map/>")
    (folder / "town.tsx").write_text("<tileset/>")
    (folder / "tiles" / "town.png").write_bytes(os.urandom(3000))
    (folder / "tiles" / "grass.png").write_bytes(b"grass" * 500)
    return like_map(folder, "world.tmx", "town.tsx", "tiles/town.png", "tiles/grass.png")


def like_map(folder: Path, *names: str) -> SimpleNamespace:
    """What check_files and build_bundle read of a TiledMap: path, folder, files."""
    files = tuple(folder / n if not os.path.isabs(n) else Path(n) for n in names)
    return SimpleNamespace(path=files[0], folder=folder, files=files)


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


# -- building --------------------------------------------------------------------------
def test_a_bundle_holds_every_file_under_its_path_in_the_folder(tmp_path):
    tiled = make_folder(tmp_path / "m")
    data = bundle.build_bundle(tiled)
    got = entries(data)
    assert sorted(got) == ["tiles/grass.png", "tiles/town.png", "town.tsx", "world.tmx"]
    assert got["tiles/town.png"] == (tmp_path / "m" / "tiles" / "town.png").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert stat.S_IMODE(info.external_attr >> 16) == 0o644


def test_the_same_map_gives_the_same_bytes_twice_and_in_another_folder(tmp_path):
    first = make_folder(tmp_path / "a" / "m")
    data = bundle.build_bundle(first)
    assert bundle.build_bundle(first) == data
    copy = tmp_path / "elsewhere" / "deeper" / "copy"
    shutil.copytree(tmp_path / "a" / "m", copy)
    for path in copy.rglob("*"):  # other times and permissions change nothing
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o755 if path.is_dir() else 0o600)
    again = bundle.build_bundle(like_map(copy, "world.tmx", "tiles/town.png", "town.tsx",
                                         "tiles/grass.png"))
    assert again == data
    assert bundle.bundle_hash(again) == hashlib.sha256(data).hexdigest()
    assert len(bundle.bundle_hash(data)) == 64


def test_a_file_referenced_twice_is_stored_once(tmp_path):
    tiled = make_folder(tmp_path / "m")
    tiled.files = tiled.files + (tmp_path / "m" / "tiles" / ".." / "town.tsx",)
    assert sorted(entries(bundle.build_bundle(tiled))) == [
        "tiles/grass.png", "tiles/town.png", "town.tsx", "world.tmx"]


def test_a_change_in_any_file_changes_the_hash(tmp_path):
    tiled = make_folder(tmp_path / "m")
    before = bundle.bundle_hash(bundle.build_bundle(tiled))
    (tmp_path / "m" / "town.tsx").write_text("<tileset name='x'/>")
    assert bundle.bundle_hash(bundle.build_bundle(tiled)) != before


# -- what the host refuses to serve ----------------------------------------------------
def test_files_inside_the_folder_pass(tmp_path):
    bundle.check_files(make_folder(tmp_path / "m"))


def test_a_symlink_that_stays_inside_the_folder_passes(tmp_path):
    tiled = make_folder(tmp_path / "m")
    (tmp_path / "m" / "alias.png").symlink_to(tmp_path / "m" / "tiles" / "town.png")
    tiled.files = tiled.files + (tmp_path / "m" / "alias.png",)
    bundle.check_files(tiled)


def refusal(tiled) -> str:
    with pytest.raises(MapError) as info:
        bundle.check_files(tiled)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_file_reached_through_dotdot_is_refused(tmp_path):
    make_folder(tmp_path / "m")
    (tmp_path / "secret.png").write_bytes(b"x")
    message = refusal(like_map(tmp_path / "m", "world.tmx", "../secret.png"))
    assert "secret.png" in message and "'..'" in message and "outside" in message
    # the loader hands over paths with '..' worked out: the same refusal
    message = refusal(like_map(tmp_path / "m", "world.tmx", str(tmp_path / "secret.png")))
    assert "secret.png" in message and "outside" in message


def test_a_file_named_by_an_absolute_path_outside_is_refused(tmp_path):
    make_folder(tmp_path / "m")
    (tmp_path / "other.png").write_bytes(b"x")
    message = refusal(like_map(tmp_path / "m", "world.tmx", str(tmp_path / "other.png")))
    assert "other.png" in message and "absolute" in message and "outside" in message


def test_a_symlink_leading_out_of_the_folder_is_refused(tmp_path):
    make_folder(tmp_path / "m")
    (tmp_path / "outside.png").write_bytes(b"x")
    (tmp_path / "m" / "tiles" / "link.png").symlink_to(tmp_path / "outside.png")
    message = refusal(like_map(tmp_path / "m", "world.tmx", "tiles/link.png"))
    assert "link.png" in message and "symbolic link" in message


def test_a_folder_that_is_a_symlink_out_is_refused(tmp_path):
    make_folder(tmp_path / "m")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "a.png").write_bytes(b"x")
    (tmp_path / "m" / "shared").symlink_to(tmp_path / "shared")
    message = refusal(like_map(tmp_path / "m", "world.tmx", "shared/a.png"))
    assert "a.png" in message and "symbolic link" in message


def test_the_map_may_itself_be_reached_through_a_symlinked_folder(tmp_path):
    make_folder(tmp_path / "real")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    bundle.check_files(like_map(tmp_path / "alias", "world.tmx", "town.tsx", "tiles/town.png"))


def test_a_missing_file_is_refused(tmp_path):
    make_folder(tmp_path / "m")
    message = refusal(like_map(tmp_path / "m", "world.tmx", "tiles/gone.png"))
    assert "gone.png" in message and "missing" in message


def test_a_broken_symlink_is_refused_as_missing(tmp_path):
    make_folder(tmp_path / "m")
    (tmp_path / "m" / "dangling.png").symlink_to(tmp_path / "m" / "nothing.png")
    message = refusal(like_map(tmp_path / "m", "world.tmx", "dangling.png"))
    assert "dangling.png" in message and "missing" in message


def test_files_over_the_limit_are_refused(tmp_path):
    make_folder(tmp_path / "m")
    big = tmp_path / "m" / "huge.png"
    with open(big, "wb") as fh:  # sparse: quick to make, never read
        fh.truncate(MAP_BUNDLE_MAX_BYTES)
    message = refusal(like_map(tmp_path / "m", "world.tmx", "huge.png"))
    assert "world.tmx" in message and "32.0 MB" in message


def test_files_just_under_the_limit_pass(tmp_path):
    tiled = make_folder(tmp_path / "m")
    total = sum(f.stat().st_size for f in tiled.files)
    bundle.check_files(tiled, max_bytes=total)
    with pytest.raises(MapError):
        bundle.check_files(tiled, max_bytes=total - 1)


# -- what the client refuses to unpack -------------------------------------------------
def zip_of(*entries: tuple[str, bytes], symlink: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return out.getvalue()


def test_a_bundle_unpacks_whole_into_its_folder(tmp_path):
    data = bundle.build_bundle(make_folder(tmp_path / "m"))
    dest = tmp_path / "cache" / bundle.bundle_hash(data)
    bundle.safe_extract(data, dest)
    assert (dest / "tiles" / "town.png").read_bytes() == \
        (tmp_path / "m" / "tiles" / "town.png").read_bytes()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [dest.name]


def test_unpacking_onto_a_copy_already_there_keeps_it(tmp_path):
    data = bundle.build_bundle(make_folder(tmp_path / "m"))
    dest = tmp_path / "cache" / "h"
    bundle.safe_extract(data, dest)
    bundle.safe_extract(data, dest)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["h"]


@pytest.mark.parametrize("data, why", [
    (zip_of(("/etc/evil", b"x")), "absolute"),
    (zip_of(("C:/evil", b"x")), "absolute"),
    (zip_of(("../evil", b"x")), "'..'"),
    (zip_of(("tiles/../../evil", b"x")), "'..'"),
    (zip_of(("tiles\\..\\evil", b"x")), "backslash"),
    (zip_of(("ok.png", b"x"), symlink="link"), "symbolic link"),
    (zip_of(("a.png", b"x"), ("A.png", b"y")), "twice"),
    (b"not a zip at all", "not a zip"),
], ids=["absolute", "drive", "dotdot", "dotdot-inside", "backslash", "symlink", "twice",
        "not-zip"])
def test_a_dangerous_bundle_is_refused_and_leaves_nothing(tmp_path, data, why):
    dest = tmp_path / "cache" / "h"
    with pytest.raises(BundleError, match=why):
        bundle.safe_extract(data, dest)
    assert not dest.exists()
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_zip_bomb_is_refused_and_leaves_nothing(tmp_path):
    data = zip_of(("small.png", b"x"), ("bomb.png", bytes(2 * 1024 * 1024)))
    assert len(data) < 10_000
    dest = tmp_path / "cache" / "h"
    with pytest.raises(BundleError, match="more than"):
        bundle.safe_extract(data, dest, max_bytes=1024 * 1024)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_bundle_that_lies_about_its_sizes_is_refused_while_unpacking(tmp_path):
    data = bytearray(zip_of(("bomb.png", bytes(2 * 1024 * 1024))))
    # Claim 10 bytes in the central directory: the count while unpacking still stops it.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    data[local + 22:local + 26] = (10).to_bytes(4, "little")
    dest = tmp_path / "cache" / "h"
    with pytest.raises(BundleError):
        bundle.safe_extract(bytes(data), dest, max_bytes=1024 * 1024)
    assert not dest.exists()
    assert not any((tmp_path / "cache").iterdir())


def test_a_map_bundle_describes_itself_as_the_wire_does(tmp_path):
    made = bundle.make_bundle(make_folder(tmp_path / "m"))
    assert made.describe() == {"name": "world", "file": "world.tmx", "hash": made.hash,
                               "size": len(made.data), "url": f"/api/maps/{made.hash}.zip"}
    assert made.files == 4 and made.hash == hashlib.sha256(made.data).hexdigest()


def test_making_a_bundle_checks_the_files_first(tmp_path):
    make_folder(tmp_path / "m")
    with pytest.raises(MapError, match="gone.png"):
        bundle.make_bundle(like_map(tmp_path / "m", "world.tmx", "gone.png"))


def test_a_bundle_over_the_limit_after_zipping_is_refused(tmp_path):
    make_folder(tmp_path / "m")  # random bytes do not shrink: the zip is larger
    tiled = like_map(tmp_path / "m", "tiles/town.png")
    total = sum(f.stat().st_size for f in tiled.files)
    with pytest.raises(MapError, match="bundle comes to"):
        bundle.make_bundle(tiled, max_bytes=total)
