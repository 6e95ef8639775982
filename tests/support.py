"""Test helpers around the real host process (game.client.host_process).

Every host a test starts is watched: the test fails at teardown when one of
its hosts exited with an error or wrote a traceback to its log during the
test.  A test that kills a host on purpose, or expects it to fail, says so
with ``@pytest.mark.host_may_fail``.
"""
from __future__ import annotations

from game.client.host_process import HostProcess, free_port  # noqa: F401

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
