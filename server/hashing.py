"""Password hashing in worker processes.

An argon2id hash is ~35 ms of pure CPU.  Run in threads of the host, a burst
of logins competes with the tick for the interpreter and the cores; run in
worker processes, the host only waits for answers.

A worker is ``server/hash_worker.py`` run as a script: it imports argon2 and
nothing of the host, so it costs a few hundredths of a second of CPU to
start, and the pool starts it at the first hash, not with the host (a host
nobody logs in to starts none).  It then stays, warm, until the host stops.
The host talks to it over two pipes, one JSON line each way; under eventlet
the request's green thread waits for the answer on the hub like on a socket,
so no OS thread, lock or queue of the host is involved.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .transport.pipes import green_pipe

log = logging.getLogger(__name__)

# argon2id at OWASP's minimum (Password Storage Cheat Sheet: m=19 MiB, t=2,
# p=1): ~35 ms a hash on a 2-core machine.  Never lower these; hashes made
# with other parameters still verify and are redone with these at login.
HASH_MEMORY_KIB = 19456
HASH_TIME_COST = 2
HASH_LANES = 1

WORKER_SCRIPT = Path(__file__).with_name("hash_worker.py")
# How long a stopping host waits for a worker to finish its hash and exit.
WORKER_EXIT_TIMEOUT_S = 5.0
READ_CHUNK = 4096


def hash_workers() -> int:
    """Worker processes: one per core but one (left to the host), at least 1.

    Measured on 2 cores (``python -m bench.login_burst --logins 200``): one
    worker answers 200 logins in ~4 s with ticks mostly within 10 ms; two
    answer in ~2.8 s but let ticks run 20-25 ms late."""
    return max(1, (os.cpu_count() or 1) - 1)


def password_hasher() -> PasswordHasher:
    """The one hasher of the host and of ``host.py admin reset-password``."""
    return PasswordHasher(time_cost=HASH_TIME_COST, memory_cost=HASH_MEMORY_KIB,
                          parallelism=HASH_LANES)


_HASHER = password_hasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(pw_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``pw_hash`` (any argon2 parameters)."""
    try:
        return _HASHER.verify(pw_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class WorkerGone(Exception):
    """A worker process ended or broke its pipe before answering."""


class HashWorker:
    """One running ``hash_worker.py`` and the host's ends of its two pipes."""

    def __init__(self, green: bool):
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER_SCRIPT),
                 str(HASH_MEMORY_KIB), str(HASH_TIME_COST), str(HASH_LANES)],
                stdin=to_worker_r, stdout=from_worker_w, close_fds=True)
        except BaseException:
            os.close(self._to_worker)
            os.close(self._from_worker)
            raise
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._os = os
        self._wait_readable = None
        if green:
            # eventlet's own os.write waits forever on a pipe whose reader
            # died: plain calls, and only the wait for the answer on the hub.
            self._os, self._wait_readable = green_pipe(self._from_worker)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, request: list) -> object:
        """Send one request and wait for its answer (green under eventlet)."""
        try:
            if self._to_worker is None:
                raise OSError("the worker was finished")
            self._os.write(self._to_worker, json.dumps(request).encode() + b"\n")
        except OSError as exc:
            raise WorkerGone(f"hash worker {self.pid}: {exc}") from None
        answer = b""
        while not answer.endswith(b"\n"):
            try:
                chunk = self._os.read(self._from_worker, READ_CHUNK)
            except BlockingIOError:
                self._wait_readable()
                continue
            except OSError as exc:
                raise WorkerGone(f"hash worker {self.pid}: {exc}") from None
            if not chunk:
                raise WorkerGone(f"hash worker {self.pid} exited with {self.proc.poll()}")
            answer += chunk
        return json.loads(answer)

    def finish(self) -> None:
        """Close its stdin: it exits once it has answered what it was asked."""
        if self._to_worker is not None:
            fd, self._to_worker = self._to_worker, None
            os.close(fd)

    def close(self, timeout: float = WORKER_EXIT_TIMEOUT_S) -> None:
        """Finish it and wait for it to exit; kill it if it lingers."""
        self.finish()
        if self._from_worker is not None:
            fd, self._from_worker = self._from_worker, None
            os.close(fd)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class HashPool:
    """Worker processes that hash and verify passwords, at most ``workers`` at
    once; a request waits for a free worker without stalling the event loop."""

    def __init__(self, runtime, workers: int | None = None):
        self.runtime = runtime
        self.workers = workers or hash_workers()
        self._green = runtime.async_mode == "eventlet"
        self._slots = runtime.semaphore(self.workers)
        self._idle: list[HashWorker] = []  # started and waiting for work
        self._busy: set[HashWorker] = set()
        self._stopped = False

    def hash(self, password: str) -> str:
        return self._run(["hash", password], hash_password, password)

    def verify(self, pw_hash: str, password: str) -> bool:
        return self._run(["verify", pw_hash, password], verify_password, pw_hash, password)

    def _run(self, request: list, fn, *args):
        with self._slots:
            worker = None
            try:
                if self._stopped:
                    raise WorkerGone("the host is stopping")
                # A slot guarantees a worker: idle ones and busy ones are
                # never more than the slots.
                try:
                    worker = self._idle.pop()
                except IndexError:
                    worker = HashWorker(self._green)
                self._busy.add(worker)
                answer = worker.ask(request)
            except (WorkerGone, OSError) as exc:
                if worker is not None:
                    self._busy.discard(worker)
                    worker.close(timeout=0)
                if not self._stopped:
                    log.warning("password hashing falls back to the host: %s", exc)
                # The host is stopping or a worker died: hash here instead.
                return self.runtime.run_blocking(fn, *args)
            self._busy.discard(worker)
            if self._stopped:
                worker.close()
            else:
                self._idle.append(worker)
            return answer

    def stop(self) -> None:
        """End every worker: an idle one now, a busy one once it has answered."""
        self._stopped = True
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
        for worker in list(self._busy):
            worker.finish()
