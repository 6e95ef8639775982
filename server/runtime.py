"""What blocking work needs to know about the async mode.

Under eventlet the whole host shares one OS thread, so anything slow (SQLite,
password hashing) must run on a real OS thread while the green threads keep
ticking.  Under threading mode every handler already has its own thread.
``Runtime`` hides the difference from the rest of the host.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Runtime:
    def __init__(self, async_mode: str):
        self.async_mode = async_mode
        if async_mode == "eventlet":
            from eventlet import patcher, tpool

            from eventlet.semaphore import Semaphore

            self.threading = patcher.original("threading")
            self.queue = patcher.original("queue")
            self._execute = tpool.execute
            self._semaphore = Semaphore
        else:
            import queue
            import threading

            self.threading = threading
            self.queue = queue
            self._execute = None
            self._semaphore = threading.Semaphore

    def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` without stalling the event loop and return its result."""
        if self._execute is None:
            return fn(*args, **kwargs)
        return self._execute(fn, *args, **kwargs)

    def semaphore(self, slots: int) -> Any:
        """A semaphore the handlers can wait on without stalling the loop
        (a green one under eventlet, so waiting holds no OS thread)."""
        return self._semaphore(slots)

    def start_thread(self, target: Callable[[], None], name: str) -> Any:
        """Start a real OS thread (never a green one)."""
        thread = self.threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread
