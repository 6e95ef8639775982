"""The bots' command line: every help line says its default once, and right."""
from __future__ import annotations

import re
import subprocess
import sys

from game.client.host_process import ROOT


def bots_help() -> str:
    result = subprocess.run([sys.executable, "-m", "game.bots", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def option_help(text: str) -> dict[str, str]:
    """Each option's help text, joined onto one line: {"--crowd": "keep ..."}."""
    options = text.split("options:", 1)[1].split("\n\n", 1)[0]
    out: dict[str, str] = {}
    current = None
    for line in options.splitlines():
        m = re.match(r"  (-\S+(?:, --\S+)?)(?: [A-Z{][^ ]*)?(?:\s{2,}(.*))?$", line)
        if m:
            current = m.group(1).split(", ")[-1]
            out[current] = m.group(2) or ""
        elif current:
            out[current] += " " + line.strip()
    return out


def test_every_help_line_states_its_default_once_and_right():
    helps = option_help(bots_help())
    assert set(helps) >= {"--server", "--players", "--rate", "--seconds", "--crowd", "--spread",
                          "--report", "--procs", "--observers", "--deadline-ms", "--warmup",
                          "--prefix", "--first", "--map", "--seed", "--log-level"}
    for flag, text in helps.items():
        assert text.count("default") <= 1, f"{flag}: {text}"
        assert "(default: None)" not in text and "(default: False)" not in text, f"{flag}: {text}"
    assert helps["--crowd"].endswith("(the default)")
    assert "default" not in helps["--spread"]
    assert "(default: 10)" in helps["--players"]
    assert "(default: http://127.0.0.1:5000)" in helps["--server"]
    assert "(default: the host's own, downloaded like the game does)" in helps["--map"]
    assert "0 (the default) walks until Ctrl-C" in helps["--seconds"]
    assert "(default: WARNING)" in helps["--log-level"]


def test_the_description_fits_a_terminal_and_promises_reconnects_and_ctrl_c():
    text = bots_help()
    assert all(len(line) <= 100 for line in text.splitlines()), \
        max(text.splitlines(), key=len)
    assert "reconnect" in text and "Ctrl-C" in text
