"""Password hashing in worker processes.

An argon2id hash is ~35 ms of pure CPU.  Run in threads of the host, a burst
of logins competes with the tick for the interpreter and the cores; run in
worker processes, the host only waits for answers.  The pool uses the
``spawn`` start method, so a worker never inherits the host's green threads,
sockets or database connection, under eventlet or threading alike.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at OWASP's minimum (Password Storage Cheat Sheet: m=19 MiB, t=2,
# p=1): ~35 ms a hash on a 2-core machine.  Never lower these; hashes made
# with other parameters still verify and are redone with these at login.
HASH_MEMORY_KIB = 19456
HASH_TIME_COST = 2
HASH_LANES = 1


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


class HashPool:
    """Worker processes that hash and verify passwords; ``run`` waits for the
    answer without stalling the event loop."""

    def __init__(self, runtime, workers: int | None = None):
        self.runtime = runtime
        self.workers = workers or hash_workers()
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def start(self) -> None:
        self._executor = concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"))
        # Start the workers now, not at the first login.
        for future in [self._executor.submit(os.getpid) for _ in range(self.workers)]:
            future.result()

    def run(self, fn, *args):
        executor = self._executor
        if executor is None:  # not started (a host being built, a unit test)
            return self.runtime.run_blocking(fn, *args)
        # Under eventlet the executor's threads, locks and pipes are green
        # (the host is monkey-patched before it is imported), so this wait
        # yields to the event loop; under threading each request has its own
        # thread.  (An OS thread from run_blocking waiting on the green
        # future would deadlock.)
        try:
            return executor.submit(fn, *args).result()
        except (concurrent.futures.CancelledError, BrokenProcessPool, RuntimeError):
            # The host is stopping (the pool is shut down, this hash was
            # dropped from its queue) or a worker died: hash here instead.
            return self.runtime.run_blocking(fn, *args)

    def hash(self, password: str) -> str:
        return self.run(hash_password, password)

    def verify(self, pw_hash: str, password: str) -> bool:
        return self.run(verify_password, pw_hash, password)

    def stop(self) -> None:
        """Drop queued work, let each worker finish its hash, end them all."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
