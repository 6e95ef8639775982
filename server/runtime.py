"""What blocking work needs to know about the async mode.

Under eventlet the whole host shares one OS thread, so anything slow (SQLite,
password hashing) must run on a real OS thread while the green threads keep
ticking.  Under threading mode every handler already has its own thread.
``Runtime`` hides the difference from the rest of the host.

Under eventlet the locks of the ``logging`` module are green locks, and an OS
thread that takes one while the event loop holds it fails or deadlocks the
host.  OS threads therefore log through ``Runtime.log_from_thread``, which
hands the record to the event loop.
"""
from __future__ import annotations

import collections
import logging
from typing import Any, Callable, TypeVar

T = TypeVar("T")

# How often the event loop writes the records OS threads handed it (eventlet).
THREAD_LOG_INTERVAL_S = 0.2


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
            # A deque's append and popleft take no Python-level lock.
            self._thread_records: collections.deque | None = collections.deque()
            self._log_task: Any = None
        else:
            import queue
            import threading

            self.threading = threading
            self.queue = queue
            self._execute = None
            self._semaphore = threading.Semaphore
            self._thread_records = None

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

    def log_from_thread(self, logger: logging.Logger, level: int, msg: str, *args: Any,
                        exc_info: BaseException | None = None) -> None:
        """Log from an OS thread without taking a green lock.

        Under eventlet the record waits in a deque until the event loop writes
        it (within ``THREAD_LOG_INTERVAL_S``); under threading it is logged at once.
        """
        if self._thread_records is None:
            logger.log(level, msg, *args, exc_info=exc_info)
        else:
            self._thread_records.append((logger, level, msg, args, exc_info))

    def start_thread_log(self) -> None:
        """Start writing the records OS threads hand over (call on the event loop)."""
        if self._thread_records is not None and self._log_task is None:
            import eventlet

            self._log_task = eventlet.spawn(self._write_thread_records_forever)

    def write_thread_records(self) -> None:
        """Write every record handed over so far (on the event loop)."""
        records = self._thread_records
        while records:
            logger, level, msg, args, exc_info = records.popleft()
            logger.log(level, msg, *args, exc_info=exc_info)

    def _write_thread_records_forever(self) -> None:
        import eventlet

        while True:
            eventlet.sleep(THREAD_LOG_INTERVAL_S)
            try:
                self.write_thread_records()
            except Exception:  # a broken handler must not end the loop
                pass


# -- green threads, for the parts of the host that take turns under eventlet ----------
def green_spawn(fn: Callable[[], Any]) -> Any:
    """Start ``fn`` in a green thread of its own (eventlet only)."""
    import eventlet

    return eventlet.spawn(fn)


def green_event() -> Any:
    """A one-shot result a green thread waits on: ``wait()``, ``send(value)``,
    ``send_exception(exc)`` (eventlet only)."""
    from eventlet.event import Event

    return Event()


def green_yield(seconds: float = 0.0) -> None:
    """Let the event loop run everything else that is ready (and whatever
    falls due within ``seconds``), then come back."""
    import eventlet

    eventlet.sleep(seconds)
