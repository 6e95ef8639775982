"""``python host.py --check-map PATH``, run as a hosting player would run it:
what it prints about maps the host accepts, the one line and the status for
maps it refuses, and that it starts nothing."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from game.core import bundle

ROOT = Path(__file__).resolve().parents[1]
MAPS = ROOT / "tests" / "maps"
FEATURES = MAPS / "features"
THIRDPARTY = MAPS / "thirdparty"


def check_map(*paths: Path | str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    args = [a for p in paths for a in ("--check-map", str(p))]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    return subprocess.run([sys.executable, str(ROOT / "host.py"), *args, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


def section(out: str, title: str) -> str:
    """The lines of one part of the report (its title line and those under it)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {title} "))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("  ") and not lines[i].startswith("   ")), len(lines))
    return "\n".join(lines[start:end])


def test_a_map_with_everything_is_described_and_accepted(tmp_path):
    db = tmp_path / "world.db"
    # Another program holds the port: a check that tried to listen would fail.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = check_map(FEATURES / "town16.tmx", extra=("--db", str(db), "--port", str(port)))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{FEATURES / 'town16.tmx'}: the host accepts this map" in out
    assert "24 x 16 tiles, 384 x 256 px, tiles of 16 px" in out
    layers = section(out, "layers")
    assert "Roof" in layers and [line.split()[0] for line in layers.splitlines()[1:]] == [
        "Ground", "Walls", "Decoration", "Shade", "Roof"]
    assert [line.split()[0] for line in layers.splitlines() if "ABOVE players" in line] == ["Roof"]
    assert "Shade       below players, opacity 0.5" in layers
    assert "name" in section(out, "above")
    assert "tiles16.tsx" in section(out, "tilesets")
    assert "img/tiles16.png" in section(out, "images")
    assert "animations  1 animated tile\n" in out
    assert "spawn       (192, 120) px, tile (12, 7), the object named 'spawn'" in out
    assert "warnings    none" in out
    # The files served, with their sizes, add up; nothing was started or created.
    served = section(out, "served")
    files = [FEATURES / "town16.tmx", FEATURES / "tiles16.tsx", FEATURES / "img" / "tiles16.png"]
    total = sum(f.stat().st_size for f in files)
    assert served.startswith(f"  served      3 files, {total / 1024:.1f} KB (limit 32.0 MB)")
    for f in files:
        assert f.relative_to(FEATURES).as_posix() in served
    assert not db.exists() and not Path(f"{db}.key").exists()


def test_collision_spawn_entries_and_exits_are_reported():
    result = check_map(FEATURES / "town32.tmx")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    collision = section(out, "collision")
    blocked, shapes = int(collision.split()[1]), int(collision.split()[6])
    assert blocked > 2 * (20 + 14) - 4 and shapes >= 5   # the border, the crate; tile shapes
    assert "an object of class (type) spawn or start" in section(out, "spawn")
    entries = section(out, "entries")
    assert "door (528, 336) px, tile (16, 10)" in entries
    assert "'to town48' -> town48#gate" in section(out, "exits")


def test_workadventure_conventions_are_reported():
    result = check_map(FEATURES / "town48.tmj")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "furniture top   ABOVE players" in out
    assert "floorLayer" in section(out, "above")
    assert "the first tile of the tile layer 'start'" in section(out, "spawn")
    assert "'back to town32' -> town32#door (2 areas)" in section(out, "exits")
    assert "https://example.org/other-world.json leads to another server" in section(out, "warnings")


def test_a_map_with_no_spawn_is_accepted_with_a_warning():
    result = check_map(FEATURES / "collection.tmx")
    assert result.returncode == 0, result.stderr
    assert "no spawn marked" in section(result.stdout, "spawn")
    assert "no spawn marked: using the walkable tile nearest the centre" in section(
        result.stdout, "warnings")
    assert "collection/tree.png: 1 tile used" in section(result.stdout, "images")


@pytest.mark.parametrize("path", [
    THIRDPARTY / "tiled" / "desert.tmx",
    THIRDPARTY / "tiled" / "sewers.tmx",
    THIRDPARTY / "tiled" / "perspective_walls.tmx",
    THIRDPARTY / "tiled" / "rpg" / "island.tmx",
    FEATURES / "town24.tmj",
], ids=lambda p: p.name)
def test_maps_made_elsewhere_are_accepted(path):
    result = check_map(path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: the host accepts this map" in result.stdout
    assert result.stderr.strip() == ""


def test_a_world_folder_is_checked_map_by_map_with_its_links():
    result = check_map(THIRDPARTY / "workadventure")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("the host accepts this map") == 2
    assert "conference: exit 'to-office' -> office#from-conference: ok" in out
    assert "office: exit 'to-conference' -> conference#from-office: ok" in out
    # The office alone names a map that was not checked with it.
    alone = check_map(THIRDPARTY / "workadventure" / "office.tmj")
    assert "links between" not in alone.stdout
    assert "'to-conference' -> conference#from-office" in section(alone.stdout, "exits")


def test_a_link_to_a_missing_entry_is_pointed_out(tmp_path):
    for name in ("town32.tmx", "town48.tmj"):
        shutil.copy(FEATURES / name, tmp_path / name)
    shutil.copytree(FEATURES / "img", tmp_path / "img")
    text = (tmp_path / "town32.tmx").read_text().replace("town48#gate", "town48#gates")
    (tmp_path / "town32.tmx").write_text(text)
    result = check_map(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "town32: exit 'to town48' -> town48#gates: town48 has no entry of that name" in (
        result.stdout)
    assert "town48: exit 'back to town32' -> town32#door: ok" in result.stdout


REFUSED = [
    (THIRDPARTY / "tiled" / "hexagonal-mini.tmx", "hexagonal", "hexagonal-mini.tmx"),
    (FEATURES / "refused" / "isometric.tmx", "isometric", "isometric.tmx"),
    (FEATURES / "refused" / "staggered.tmx", "staggered", "staggered.tmx"),
    (FEATURES / "refused" / "infinite.tmj", "infinite", "infinite.tmj"),
    (FEATURES / "refused" / "non_square.tmx", "square", "non_square.tmx"),
    (FEATURES / "refused" / "outside_folder.tmx", "outside the map's folder", "tiles16.tsx"),
    (FEATURES / "refused" / "image_outside.tmj", "outside the map's folder", "tiles16.png"),
    (FEATURES / "refused" / "missing_image.tmx", "missing", "missing.png"),
    (FEATURES / "refused" / "all_walls.tmx", "no tile a player can stand on", "all_walls.tmx"),
    (FEATURES / "tiles16.tsx", "not a Tiled map", "tiles16.tsx"),
    (FEATURES / "no_such_map.tmx", "is missing", "no_such_map.tmx"),
]


@pytest.mark.parametrize("path, reason, names", REFUSED, ids=lambda v: getattr(v, "name", None))
def test_a_map_the_host_would_refuse_gets_one_line_and_status_1(path, reason, names, tmp_path):
    db = tmp_path / "world.db"
    result = check_map(path, extra=("--db", str(db)))
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("host.py: the host would refuse this map: ")
    assert reason in lines[0] and names in lines[0]
    assert "accepts" not in result.stdout
    assert not db.exists()


def test_a_map_over_the_size_limit_is_refused(tmp_path):
    shutil.copy(FEATURES / "town16.tmx", tmp_path / "big.tmx")
    shutil.copy(FEATURES / "tiles16.tsx", tmp_path / "tiles16.tsx")
    (tmp_path / "img").mkdir()
    image = tmp_path / "img" / "tiles16.png"
    shutil.copy(FEATURES / "img" / "tiles16.png", image)
    # Grown past the limit without writing it out: the rest of the file is a hole.
    with image.open("r+b") as f:
        f.truncate(bundle.MAP_BUNDLE_MAX_BYTES + 1)
    result = check_map(tmp_path / "big.tmx")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "big.tmx" in line and "32.0 MB" in line and "\n" not in line


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    shutil.copy(FEATURES / "town16.tmx", tmp_path / "town16.tmx")
    shutil.copy(FEATURES / "tiles16.tsx", tmp_path / "tiles16.tsx")
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "tiles16.png").symlink_to(FEATURES / "img" / "tiles16.png")
    result = check_map(tmp_path / "town16.tmx")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "tiles16.png" in line and "symbolic link" in line and "\n" not in line


def test_one_refused_map_among_several_fails_the_check_but_all_are_reported():
    result = check_map(FEATURES / "town16.tmx", FEATURES / "refused" / "isometric.tmx",
                       FEATURES / "town24.tmj")
    assert result.returncode == 1
    assert result.stdout.count("the host accepts this map") == 2
    assert "isometric" in result.stderr and result.stderr.count("\n") == 1


def test_the_flag_is_explained_in_help():
    result = subprocess.run([sys.executable, str(ROOT / "host.py"), "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "--check-map PATH" in result.stdout
    assert "without starting a host" in " ".join(result.stdout.split())


@pytest.mark.parametrize("path", [FEATURES / "refused" / "isometric.tmx",
                                  FEATURES / "refused" / "outside_folder.tmx"],
                         ids=lambda p: p.name)
def test_the_host_refuses_to_start_with_the_same_reason(path, tmp_path):
    checked = check_map(path)
    started = subprocess.run(
        [sys.executable, str(ROOT / "host.py"), "--map", str(path), "--db", str(tmp_path / "w.db"),
         "--port", "0", "--async-mode", "threading"],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode == 1
    reason = checked.stderr.strip().split("the host would refuse this map: ", 1)[1]
    assert started.stderr.strip() == f"host.py: cannot start: {reason}"
