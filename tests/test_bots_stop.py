"""Ctrl-C stops ``python -m game.bots`` in every mode, within a second or two.

Each test starts the tool as a real subprocess against a real host, waits
until its bots are in the world (or, for the log-in case, until the first
one is), sends SIGINT and expects the process gone within STOP_LIMIT_S.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from game.client.host_process import ROOT

from .conftest import players_online, wait_until

pytestmark = pytest.mark.slow  # each test starts bots in their own processes

STOP_LIMIT_S = 3.0



def stops_on_ctrl_c(url: str, prefix: str, *flags: str, online: int) -> subprocess.CompletedProcess:
    """Run the bots until ``online`` players are on the host, then Ctrl-C;
    returns the finished process (fails if it outlives STOP_LIMIT_S)."""
    before = players_online(url)
    proc = subprocess.Popen([sys.executable, "-m", "game.bots", "--server", url,
                             "--prefix", prefix, *flags], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: players_online(url) >= before + online or proc.poll() is not None,
                   timeout=60, interval=0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the bots ignored Ctrl-C for 10 s:\n{err[-2000:]}")
        took = time.monotonic() - sent
        assert took <= STOP_LIMIT_S, f"stopping took {took:.1f} s:\n{err[-2000:]}"
        assert proc.returncode == 130, err
        assert "stopped (Ctrl-C)" in err
        assert "Traceback" not in err, err
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("flags", [
    ("--players", "4"),                                          # crowd, until Ctrl-C
    ("--players", "4", "--spread"),
    ("--players", "4", "--report", "--seconds", "60"),
    ("--players", "4", "--procs", "2"),
    ("--players", "4", "--procs", "2", "--report", "--seconds", "60", "--spread"),
], ids=["crowd", "spread", "report", "procs", "procs-report"])
def test_ctrl_c_stops_the_bots_while_they_walk(host, flags):
    prefix = "stop" + "".join(f[2] for f in flags if f.startswith("--"))
    result = stops_on_ctrl_c(host.url, prefix, *flags, online=4)
    assert result.stdout == ""  # an interrupted --report prints no half report
    # They left the world: the host sees their sockets close.
    wait_until(lambda: players_online(host.url) == 0, timeout=10)


def test_ctrl_c_stops_the_bots_while_they_log_in(host):
    # Many bots log in 8 at a time; interrupt as soon as the first is in.
    stops_on_ctrl_c(host.url, "stoplogin", "--players", "200", online=1)
