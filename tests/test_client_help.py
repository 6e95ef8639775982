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


def test_ctrl_c_in_the_terminal_closes_the_game_and_its_host_quietly(tmp_path):
    """Ctrl-C closes the game like its window's close button: no traceback,
    and the host it started stops with it."""
    import os
    import signal
    import time

    import psutil

    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    game = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--db",
                             str(tmp_path / "world.db")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        hosts: list = []
        while not hosts:  # the game has started its own host
            assert game.poll() is None and time.monotonic() < deadline, game.communicate()
            hosts = [p for p in psutil.Process(game.pid).children(recursive=True)
                     if "host.py" in " ".join(p.cmdline())]
            time.sleep(0.1)
        game.send_signal(signal.SIGINT)
        out, err = game.communicate(timeout=30)
    finally:
        if game.poll() is None:
            game.kill()
    assert game.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert psutil.wait_procs(hosts, timeout=15)[1] == []
