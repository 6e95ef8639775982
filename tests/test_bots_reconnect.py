"""``python -m game.bots`` reconnects after the host restarts, as the game does.

A real host is stopped and started again on the same port and database while
a real bots process walks on it; the bots must come back by themselves (and
log in again when the host no longer knows their session) and say so.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from game.client.host_process import ROOT, HostProcess

from .conftest import db_rows, players_online, wait_until

pytestmark = pytest.mark.slow  # each test restarts a host under the bots

BOTS = 3



class BotsRun:
    """``python -m game.bots`` walking until Ctrl-C, its log in a file."""

    def __init__(self, url: str, log_path: Path, prefix: str):
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "game.bots", "--server", url, "--players", str(BOTS),
             "--prefix", prefix, "--log-level", "INFO"],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def says(self, text: str, timeout: float) -> str:
        try:
            wait_until(lambda: text in self.log() or self.proc.poll() is not None, timeout)
        except TimeoutError:
            pytest.fail(f"the bots never said {text!r}:\n{self.log()[-3000:]}")
        assert text in self.log(), f"the bots exited:\n{self.log()[-3000:]}"
        return self.log()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@pytest.fixture
def restartable_host(request, tmp_path):
    host = HostProcess(tmp_path / "world.db", async_mode=getattr(request, "param", "eventlet"))
    host.start()
    yield host
    host.kill()


@pytest.fixture
def bots_on(restartable_host, tmp_path):
    run = BotsRun(restartable_host.url, tmp_path / "bots.log", "again")
    yield run
    run.stop()


def all_back(url: str) -> bool:
    return players_online(url) == BOTS


@pytest.mark.parametrize("restartable_host, how", [
    ("eventlet", "sigterm"), ("threading", "sigterm"), ("eventlet", "kill-9"),
], indirect=["restartable_host"])
def test_bots_come_back_after_the_host_restarts(restartable_host, bots_on, how):
    host = restartable_host
    wait_until(lambda: all_back(host.url), timeout=60)
    if how == "sigterm":
        host.stop()
    else:
        host.kill()
    bots_on.says("lost the connection to the host", timeout=20)
    host.start()  # the same port and database
    wait_until(lambda: all_back(host.url), timeout=30)
    text = bots_on.says(f"reconnected: all {BOTS} bots walking again", timeout=15)
    assert "logged in again" not in text  # the host still knew their sessions
    assert "Traceback" not in text, text


def test_bots_log_in_again_when_the_host_forgot_their_sessions(restartable_host, bots_on):
    host = restartable_host
    wait_until(lambda: all_back(host.url), timeout=60)
    host.stop()
    # While the host is down its operator revokes every session.
    db_rows(host.db_path, "DELETE FROM sessions")
    host.start()
    wait_until(lambda: all_back(host.url), timeout=30)
    text = bots_on.says(f"reconnected: all {BOTS} bots walking again", timeout=15)
    again = re.findall(r"(\d+) bots logged in again \(the host no longer accepted their "
                       r"session\)", text)
    assert sum(map(int, again)) == BOTS, text
    assert "Traceback" not in text, text
