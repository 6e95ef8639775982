"""Host processes for tests: started on a port of their own choosing, and the
teardown check (tests/support.py) that notices a host that exited with an
error or logged a traceback, and nothing else."""
from __future__ import annotations

import subprocess
import sys

from . import support
from .support import HostProcess


def finished(tmp_path, code: int, output: str) -> HostProcess:
    """A HostProcess whose process printed ``output`` and exited with ``code``."""
    host = HostProcess(tmp_path / "world.db", port=1)
    with open(host.log_path, "w") as log:
        host.proc = subprocess.Popen(
            [sys.executable, "-c", f"import sys; print({output!r}); sys.exit({code})"],
            stdout=log, stderr=subprocess.STDOUT)
        host.proc.wait(30)
    return host


def test_a_host_that_exits_with_an_error_is_a_problem(tmp_path):
    host = finished(tmp_path, 3, "cannot start")
    problem = support.exit_problem(host)
    assert problem is not None and "exited with 3" in problem and "cannot start" in problem
    assert support.host_problems({host: 0}, len(support.STARTED)) == [problem]


def test_a_clean_exit_or_a_deliberate_kill_is_not(tmp_path):
    assert support.exit_problem(finished(tmp_path, 0, "saved 2 players")) is None
    killed = finished(tmp_path, -9, "")
    killed.killed = True
    assert support.exit_problem(killed) is None
    assert support.host_problems({killed: 0}, len(support.STARTED)) == []


def test_a_traceback_in_the_log_during_the_test_is_a_problem(tmp_path):
    host = finished(tmp_path, 0, "Traceback (most recent call last):\n  KeyError: 'x'")
    problem = support.log_problem(host, 0)
    assert problem is not None and "KeyError" in problem
    # One logged before the test began is not this test's.
    assert support.log_problem(host, host.log_size()) is None


def test_a_host_without_a_port_binds_a_free_one_and_keeps_it_on_restart(tmp_path):
    from game.client.net import probe

    host = HostProcess(tmp_path / "world.db")
    assert host.port == 0  # asked for port 0: the system picks one as the host binds
    with host:
        port = host.port
        assert port and probe(host.url)
        host.stop()
        host.start()  # the same port and database
        assert host.port == port and probe(host.url)
