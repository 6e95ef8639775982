"""Test helpers around the real host process (game.client.host_process).

Every host a test starts is watched: the test fails at teardown when one of
its hosts exited with an error or wrote a traceback to its log during the
test.  A test that kills a host on purpose, or expects it to fail, says so
with ``@pytest.mark.host_may_fail``.
"""
from __future__ import annotations

import os
import random
import socket

from game.client.host_process import HostProcess

# Ports tests choose for the processes they start lie below the range the
# system hands out to outgoing connections (/proc/sys/net/ipv4/
# ip_local_port_range): a port the system picked, checked free and let go
# can be taken a moment later by any test's client connecting somewhere,
# before the process meant to listen on it has bound it.  Each test worker
# takes its ports from a slice of its own, so two workers never choose the
# same one either.
LOWEST_PORT = 10000
_ports: list[int] = []


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _worker_slice() -> range:
    low = _ephemeral_low()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    width = (low - LOWEST_PORT) // max(count, index + 1)
    return range(LOWEST_PORT + index * width, LOWEST_PORT + (index + 1) * width)


def free_port() -> int:
    """A localhost port nothing listens on, for a process a test starts: never
    one the system may give an outgoing connection, never one another test
    worker may choose, and not the same twice in a row of this worker."""
    if _ephemeral_low() - LOWEST_PORT < 1000:  # an unusual range: let the system choose
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for _ in range(1000):
        if not _ports:
            _ports.extend(_worker_slice())
            random.Random().shuffle(_ports)
        port = _ports.pop()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this test worker's slice")

# Every host started in this run, in order (appended to by ``watch_hosts``).
STARTED: list[HostProcess] = []


def watch_hosts(monkeypatch) -> None:
    """Record every HostProcess that starts."""
    start = HostProcess.start

    def recorded_start(self, *args, **kwargs):
        result = start(self, *args, **kwargs)
        STARTED.append(self)
        return result

    monkeypatch.setattr(HostProcess, "start", recorded_start)


def exit_problem(host: HostProcess) -> str | None:
    """Why the host's exit is a failure, if it is one."""
    code = host.proc.returncode if host.proc is not None else None
    if code in (None, 0) or host.killed:
        return None
    return f"host on port {host.port} exited with {code}:\n{host.log_since(host.log_start)[-3000:]}"


def log_problem(host: HostProcess, since: int) -> str | None:
    """The traceback the host logged after byte ``since``, if it logged one."""
    text = host.log_since(since)
    at = text.find("Traceback")
    if at < 0:
        return None
    return f"host on port {host.port} logged a traceback:\n{text[max(0, at - 300):at + 3000]}"


def host_problems(marks: dict[HostProcess, int], first_new: int) -> list[str]:
    """What went wrong with the hosts running when the test began (``marks``:
    their log sizes then) and those it started (``STARTED[first_new:]``)."""
    hosts = _hosts_since(marks, first_new)
    found = (exit_problem(host) for host in hosts)
    logged = (log_problem(host, since) for host, since in hosts.items())
    return [p for p in (*found, *logged) if p]


def host_logs(marks: dict[HostProcess, int], first_new: int,
              limit: int = 6000) -> list[tuple[str, str]]:
    """What each host running during a test (see ``host_problems``) logged
    meanwhile, the last ``limit`` characters of it."""
    texts = ((host, host.log_since(since)[-limit:])
             for host, since in _hosts_since(marks, first_new).items())
    return [(f"log of the host on port {host.port}", text) for host, text in texts if text]


def _hosts_since(marks: dict[HostProcess, int], first_new: int) -> dict[HostProcess, int]:
    """The hosts running when a test began (``marks``: their log sizes then)
    and those it started (``STARTED[first_new:]``), each with the log offset
    the test's part of its log starts at."""
    hosts = dict(marks)
    for host in STARTED[first_new:]:
        hosts.setdefault(host, host.log_start)
    return hosts
