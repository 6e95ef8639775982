"""Stopping: Ctrl-C sets a flag that every wait of the scripted players checks."""
from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable


class Stopped(Exception):
    """Ctrl-C (or a parent process) asked the players to stop."""


class Stop:
    """Set by Ctrl-C; every wait checks it at least every 0.2 s.

    The handler only sets a flag: it runs on whatever green thread the
    signal interrupts, where raising or blocking (as python-socketio's own
    SIGINT handler does, closing every client in place) hangs the process.
    """
    requested = False


def _on_sigint(signum: int, frame: Any) -> None:
    if Stop.requested:
        raise KeyboardInterrupt  # a second Ctrl-C: stop at once
    Stop.requested = True


def take_sigint() -> None:
    """Make Ctrl-C set the stop flag (again after socketio.Client, which
    installs its own handler when the first client is made)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def check(stop: Callable[[], bool] | None = None) -> None:
    """Raise Stopped on Ctrl-C or when ``stop()`` says so."""
    if Stop.requested or (stop is not None and stop()):
        raise Stopped


def sleep_until(t: float, stop: Callable[[], bool] | None = None) -> None:
    """Sleep until monotonic time ``t``; raises Stopped on Ctrl-C or when
    ``stop()`` says so."""
    while True:
        check(stop)
        delay = t - time.monotonic()
        if delay <= 0:
            return
        time.sleep(min(delay, 0.2))


def parallel(fn: Callable[[Any], Any], items: list, workers: int,
             stop: Callable[[], bool] | None = None) -> list:
    """``[fn(item) for item in items]`` on ``workers`` threads; raises Stopped
    on Ctrl-C or when ``stop()`` says so (threads still running are left)."""
    results: list = [None] * len(items)
    order = iter(range(len(items)))
    lock = threading.Lock()
    stopped = False

    def work() -> None:
        while not Stop.requested and not stopped:
            with lock:
                i = next(order, None)
            if i is None:
                return
            results[i] = fn(items[i])

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(items)))]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            try:
                check(stop)
            except Stopped:
                stopped = True
                raise
            t.join(0.1)
    return results
