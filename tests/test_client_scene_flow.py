"""The screens lead to each other through the app's registry, never by
importing each other (login -> loading -> world -> menu -> login was a circle)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SCENES_DIR = Path(__file__).resolve().parents[1] / "game" / "client" / "scenes"
SCREENS = ("login", "loading", "world", "menu")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (lazy imports included), as written."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
            if node.module is None:  # from . import world
                found.update(base + alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("name", SCREENS)
def test_a_screen_imports_no_other_screen(name):
    imports = imported_modules(SCENES_DIR / f"{name}.py")
    others = {f"{prefix}{other}" for other in SCREENS if other != name
              for prefix in (".", "game.client.scenes.")}
    assert not imports & others, f"{name}.py imports {sorted(imports & others)}"


@pytest.mark.parametrize("first", SCREENS)
def test_every_screen_is_known_whichever_is_imported_first(first):
    code = (f"import game.client.scenes.{first}\n"
            "from game.client.app import SCENES\n"
            "print(sorted(SCENES))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=SCENES_DIR.parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['loading',", "'login',", "'menu',", "'world']"]


def test_the_app_builds_a_screen_by_name():
    import pygame

    from game.client.app import App
    from game.client.scenes.login import LoginScene

    scene = App(pygame.Surface((8, 8))).make("login", message="You logged out.")
    assert isinstance(scene, LoginScene) and scene.message == "You logged out."
