"""Waiting on a pipe to another process without blocking the event loop.

Under eventlet a plain blocking read of a pipe would stop every green thread
of the host, and eventlet's own ``os.write`` waits for a pipe to drain when
its reader has died (EPIPE), which is forever.  The hashing workers
(``server.hashing``) therefore use the unpatched ``os`` calls on a
non-blocking read end and wait for it on eventlet's hub.
"""
from __future__ import annotations

import os
from typing import Any, Callable


def green_pipe(read_fd: int) -> tuple[Any, Callable[[], None]]:
    """``(os module, wait_readable)`` for talking over ``read_fd`` (and its
    write end) under eventlet: the unpatched ``os`` and a wait on the hub
    until ``read_fd`` has something to read."""
    from eventlet.hubs import trampoline
    from eventlet.patcher import original

    os.set_blocking(read_fd, False)
    return original("os"), lambda: trampoline(read_fd, read=True)
