"""A map that breaks the serving rules stops the host at start-up with one
line naming the file and the rule: a file reached through '..' or by an
absolute path outside the map's folder, a symbolic link leading out of it, a
missing tileset image, files over MAP_BUNDLE_MAX_BYTES.  Real host.py runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from game.client.host_process import ROOT
from game.core import protocol as P

from .conftest import ASYNC_MODES, TEST_MAP_ROWS, write_png, write_tmx
from .support import HostProcess, free_port

pytestmark = pytest.mark.parametrize("mode", ASYNC_MODES)


def run_host(map_path: Path, db: Path, mode: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "host.py"), "--port", str(free_port()), "--db", str(db),
           "--map", str(map_path), "--async-mode", mode]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """Status 1 and exactly one line, containing ``words``; no traceback."""
    output = (result.stdout + result.stderr).strip()
    lines = output.splitlines()
    assert result.returncode == 1, output
    assert len(lines) == 1, output
    assert lines[0].startswith("host.py: cannot start: map ")
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def map_with_image(folder: Path, source: str) -> Path:
    """The test map in ``folder``, its tileset image at ``source``."""
    folder.mkdir(parents=True, exist_ok=True)
    tmx = write_tmx(folder / "world.tmx", TEST_MAP_ROWS)
    (folder / "test.png").unlink()
    tmx.write_text(tmx.read_text().replace('source="test.png"', f'source="{source}"'))
    return tmx


def an_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_png(path, 64, 32, lambda x, y: (200, 0, 0))


def test_an_image_reached_through_dotdot(tmp_path, mode):
    outside = an_image(tmp_path / "shared" / "tiles.png")
    tmx = map_with_image(tmp_path / "map", "../shared/tiles.png")
    refused(run_host(tmx, tmp_path / "w.db", mode), str(tmx), str(outside), "outside",
            str(tmx.parent))
    assert not (tmp_path / "w.db").exists()  # refused before anything was made


def test_an_image_named_by_an_absolute_path(tmp_path, mode):
    outside = an_image(tmp_path / "elsewhere" / "tiles.png")
    tmx = map_with_image(tmp_path / "map", str(outside))
    refused(run_host(tmx, tmp_path / "w.db", mode), str(outside), "outside", "absolute")


def test_an_image_that_is_a_symlink_out_of_the_folder(tmp_path, mode):
    outside = an_image(tmp_path / "elsewhere" / "tiles.png")
    tmx = map_with_image(tmp_path / "map", "tiles/link.png")
    (tmp_path / "map" / "tiles").mkdir()
    (tmp_path / "map" / "tiles" / "link.png").symlink_to(outside)
    refused(run_host(tmx, tmp_path / "w.db", mode), "tiles/link.png", "symbolic link",
            "outside")


def test_a_symlink_that_stays_inside_the_folder_is_served(tmp_path, mode):
    tmx = map_with_image(tmp_path / "map", "link.png")
    an_image(tmp_path / "map" / "art" / "tiles.png")
    (tmp_path / "map" / "link.png").symlink_to(tmp_path / "map" / "art" / "tiles.png")
    with HostProcess(tmp_path / "w.db", async_mode=mode, extra_args=("--map", str(tmx))) as host:
        desc = requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["map"]
        assert requests.get(host.url + desc["url"], timeout=5).status_code == 200


def test_a_missing_tileset_image(tmp_path, mode):
    tmx = map_with_image(tmp_path / "map", "tiles/gone.png")
    refused(run_host(tmx, tmp_path / "w.db", mode), "tiles/gone.png", "missing")


def test_files_over_the_size_limit(tmp_path, mode):
    tmx = map_with_image(tmp_path / "map", "huge.png")
    with open(tmp_path / "map" / "huge.png", "wb") as fh:  # sparse: made at once, never read
        fh.truncate(P.MAP_BUNDLE_MAX_BYTES)
    refused(run_host(tmx, tmp_path / "w.db", mode), str(tmx), "more than 32.0 MB")
