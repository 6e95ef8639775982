"""Several host processes on one port: ``host.py --workers N``.

The parent starts N workers, each ``host.py`` with the same flags plus
``--worker I`` (I from 1 to N).  Every worker listens on the same address and
port with ``SO_REUSEPORT``, so the kernel hands each new TCP connection to one
of them; a WebSocket stays on the worker that accepted it.  The workers share
one world through the cluster (``--redis``); the parent only supervises:

* Before any worker starts, it checks that the port is free (one line naming
  the port if not) and keeps it bound, not listening, while it runs, so no
  other program takes the port while a worker restarts.
* Worker 1 starts first and alone; the others once it answers
  ``/api/health``.  A worker whose first start fails has said why in one
  line: the parent stops the others and exits with its status.
* A worker that dies (killed, or ends with an error) is started again after a
  short pause, said in one log line.  One that keeps dying right after it
  starts makes the parent stop every worker and exit (one line).  A worker
  that stops cleanly on its own (status 0) is not started again.
* Ctrl-C or SIGTERM to the parent is passed on as SIGTERM to every worker;
  each saves its players as a single host does, and the parent waits for
  them.  Workers run in a session of their own (Ctrl-C in a terminal reaches
  the parent alone) with a pipe from the parent on their standard input: if
  the parent is killed, the pipe closes and they stop too, saving everyone.
"""
from __future__ import annotations

import http.client
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger("server.workers")

HOST_SCRIPT = Path(__file__).resolve().parent.parent / "host.py"
# A worker that dies sooner than this after it started died "right after start".
QUICK_DEATH_S = 10.0
# Deaths right after start in a row, of one worker, before the parent gives up.
GIVE_UP_AFTER = 3
# The pause before a restart, by how many deaths right after start came before.
RESTART_DELAYS_S = (0.5, 1.0, 2.0)
# How long stopping workers may take (each host gives itself 15 s) before
# the parent kills them.
STOP_LIMIT_S = 20.0
# The parent says so in the log when worker 1 takes longer than this to answer.
SLOW_START_S = 30.0
POLL_S = 0.05

# command(index, first): the argv of worker ``index``; ``first`` on its first start.
Command = Callable[[int, bool], list[str]]


def log_format(worker: int | None) -> str:
    """The log line format of a host process: a worker says which it is."""
    who = "" if worker is None else f"worker {worker} "
    return f"%(asctime)s %(levelname)s {who}%(name)s: %(message)s"


def cluster_problem(args: Any) -> str | None:
    """Why ``--workers`` cannot run with these flags (one line), or None.
    Several processes hold one world only when they share it through Redis."""
    if args.workers > 1 and not args.redis:
        return (f"--workers {args.workers} needs --redis URL: several processes share one "
                f"world only through Redis (or leave out --workers for a single process)")
    return None


def main(args: Any, argv: list[str]) -> int:
    """``host.py --workers N``: check the flags, then run and supervise the workers."""
    problem = cluster_problem(args)
    if problem:
        print(f"host.py: cannot start: {problem}", file=sys.stderr, flush=True)
        return 1
    logging.basicConfig(level=args.log_level, format=log_format(None))
    return run(args.workers, args.host, args.port,
               lambda index, port, first: worker_command(argv, index, port, first),
               stop_when_stdin_closes=args.stop_when_stdin_closes)


def worker_command(argv: list[str], index: int, port: int, first: bool) -> list[str]:
    """host.py with the parent's flags, as worker ``index`` on ``port``.

    Only worker 1's first start may make a new key (``--new-key``): the
    others start after it and read that key, and a restart keeps it."""
    command = [sys.executable, str(HOST_SCRIPT), *argv, "--port", str(port),
               "--worker", str(index), "--stop-when-stdin-closes"]
    if not (first and index == 1):
        command.append("--no-new-key")
    return command


def run(count: int, host: str, port: int, command: Callable[[int, int, bool], list[str]],
        *, stop_when_stdin_closes: bool = False) -> int:
    """Hold ``host:port`` and run ``count`` workers on it (``command(index,
    port, first)``) until asked to stop.  Returns the exit status."""
    from .startup import StartupError, first_line

    try:
        held = reserve_port(host, port)
    except StartupError as exc:
        print(f"host.py: cannot start: {first_line(exc)}", file=sys.stderr, flush=True)
        return 1
    port = held.getsockname()[1]
    try:
        supervisor = Supervisor(lambda index, first: command(index, port, first), count,
                                ready=lambda index: answers_as(host, port, index))
        if stop_when_stdin_closes:
            supervisor.stop_when_stdin_closes()
        return supervisor.run()
    finally:
        held.close()


def reserve_port(host: str, port: int) -> Any:
    """Check that ``host:port`` is free (``PortInUse`` naming the port if
    not), then hold it with a bound socket that shares it with the workers
    (``SO_REUSEPORT``) but does not listen, so it takes no connections."""
    from .http_server import open_listener

    probe = open_listener(host, port)  # without SO_REUSEPORT: refused if anyone has it
    port = probe.getsockname()[1]  # port 0: the one the system chose
    probe.close()
    return open_listener(host, port, reuse_port=True, listen=False)


def answers_as(host: str, port: int, index: int, timeout: float = 1.0) -> bool:
    """Whether the host at ``host:port`` answers ``/api/health`` as worker ``index``."""
    from game.core import protocol as P

    from .startup import local_url

    address = local_url(host, port).removeprefix("http://")
    conn = http.client.HTTPConnection(address, timeout=timeout)
    try:
        conn.request("GET", P.HTTP_HEALTH)
        reply = conn.getresponse()
        data = json.loads(reply.read()) if reply.status == 200 else {}
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return isinstance(data, dict) and data.get("worker") == index


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class Worker:
    index: int
    proc: subprocess.Popen | None = None
    started: float = 0.0
    starts: int = 0
    quick_deaths: int = 0           # deaths right after start, in a row
    restart_at: float | None = None
    done: bool = False              # stopped on its own: not started again

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Runs ``count`` workers (``command(index, first)`` gives each one's
    argv), starts again those that die, and stops them all when asked
    (``request_stop``, Ctrl-C or SIGTERM).  ``ready(1)`` says when worker 1
    is up, before the others start."""

    def __init__(self, command: Command, count: int, *,
                 ready: Callable[[int], bool] | None = None):
        self.command = command
        self.workers = [Worker(index) for index in range(1, count + 1)]
        self.ready = ready or (lambda index: True)
        self._stop = threading.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def stop_when_stdin_closes(self) -> None:
        def watch() -> None:
            with open(0, "rb", buffering=0, closefd=False) as stdin:
                while stdin.read(4096):
                    pass
            log.info("the program that started this host has ended; stopping")
            self.request_stop()
        threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.request_stop())
        first, others = self.workers[0], self.workers[1:]
        self._start(first)
        told = False
        while not self.ready(first.index):
            if self._stop.wait(POLL_S):
                return self._stop_all("asked to stop")
            if not first.alive:
                return self._failed_start(first)
            if not told and time.monotonic() - first.started > SLOW_START_S:
                told = True
                log.warning("worker 1 has not answered /api/health after %g s; still waiting",
                            SLOW_START_S)
        log.info("worker 1 is up (pid %d); %d workers in all", first.proc.pid, len(self.workers))
        for worker in others:
            self._start(worker)
        while not self._stop.wait(POLL_S):
            for worker in self.workers:
                status = self._look_after(worker)
                if status is not None:
                    return status
            if all(worker.done for worker in self.workers):
                log.info("every worker stopped on its own")
                return 0
        return self._stop_all("asked to stop")

    def _start(self, worker: Worker) -> None:
        worker.restart_at = None
        worker.starts += 1
        worker.proc = subprocess.Popen(self.command(worker.index, worker.starts == 1),
                                       stdin=subprocess.PIPE, start_new_session=True)
        worker.started = time.monotonic()
        log.debug("worker %d started (pid %d)", worker.index, worker.proc.pid)

    def _look_after(self, worker: Worker) -> int | None:
        """Start a dead worker again when its pause is over; returns an exit
        status when the parent must stop."""
        now = time.monotonic()
        if worker.done or worker.alive:
            return None
        if worker.restart_at is not None:
            if now >= worker.restart_at:
                self._start(worker)
            return None
        code = worker.proc.returncode
        worker.proc.stdin.close()
        lived = now - worker.started
        if code == 0:
            worker.done = True
            log.info("worker %d stopped on its own; not starting it again", worker.index)
            return None
        if worker.starts == 1 and code > 0 and lived < QUICK_DEATH_S:
            return self._failed_start(worker)
        worker.quick_deaths = worker.quick_deaths + 1 if lived < QUICK_DEATH_S else 0
        if worker.quick_deaths >= GIVE_UP_AFTER:
            log.error("worker %d keeps dying right after start (%s, %d times in a row); "
                      "stopping every worker", worker.index, describe_exit(code),
                      worker.quick_deaths)
            self._stop_all("giving up")
            return 1
        delay = RESTART_DELAYS_S[min(worker.quick_deaths, len(RESTART_DELAYS_S) - 1)]
        log.warning("worker %d (pid %d) died (%s) after %.1f s; starting it again in %.1f s",
                    worker.index, worker.proc.pid, describe_exit(code), lived, delay)
        worker.restart_at = now + delay
        return None

    def _failed_start(self, worker: Worker) -> int:
        """A worker's first start failed: it said why (start-up problems are
        one line), unless something killed it."""
        code = worker.proc.returncode
        if code <= 0:
            print(f"host.py: cannot start: worker {worker.index} ended before it was up "
                  f"({describe_exit(code)})", file=sys.stderr, flush=True)
        self._stop_all("stopping")
        return code if code > 0 else 1

    def _stop_all(self, why: str) -> int:
        """SIGTERM to every worker, and wait for them (each saves its
        players); kill those that take longer than ``STOP_LIMIT_S``.
        Returns 0 when every worker stopped cleanly."""
        running = [worker for worker in self.workers if worker.alive]
        if running:
            log.info("%s: stopping %s", why, ", ".join(f"worker {w.index}" for w in running))
        for worker in running:
            worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_LIMIT_S
        clean = True
        for worker in running:
            try:
                code = worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %d did not stop in %g s; killing it", worker.index,
                          STOP_LIMIT_S)
                worker.proc.kill()
                code = worker.proc.wait()
            if code != 0:
                log.error("worker %d stopped with %s", worker.index, describe_exit(code))
                clean = False
        for worker in self.workers:
            if worker.proc is not None and worker.proc.stdin is not None:
                worker.proc.stdin.close()
        return 0 if clean else 1
