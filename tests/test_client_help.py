"""`main.py --help` lists the controls, taken from the README's table."""
from __future__ import annotations

import re
import subprocess
import sys

from game.client.host_process import ROOT


def readme_controls() -> list[tuple[str, str]]:
    section = (ROOT / "README.md").read_text().split("### Controls", 1)[1]
    rows = re.findall(r"^\|(.+?)\|(.+?)\|\s*$", section.split("\n\n##", 1)[0], re.M)
    return [(k.strip(), v.strip()) for k, v in rows[2:]]  # heading and separator rows


def test_help_lists_every_control_from_the_readme():
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # undo the wrapping
    assert "docstring" not in text
    rows = readme_controls()
    assert len(rows) >= 8
    for key, what in rows:
        assert f"{key} {what}" in text or (key in text and what in text), key
    assert "WASD or arrow keys walk" in text
