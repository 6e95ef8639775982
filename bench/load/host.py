"""Measuring the host from outside: its process's CPU, the machine's, its /api/stats."""
from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

from game.core import protocol as P
from game.bots.stop import Stopped, sleep_until


def normalise_url(url: str) -> str:
    from game.client.net import normalise_url as normalise  # after a worker went green

    return normalise(url)


def host_process(server: str) -> Any:
    """The local process (psutil) listening on the server's port, if there is one."""
    import psutil

    parts = urlsplit(normalise_url(server))
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    port = parts.port or 80
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port \
                    and conn.pid:
                return psutil.Process(conn.pid)
    except (psutil.Error, OSError):
        return None
    return None


def host_stats(server: str) -> dict:
    """The host's /api/stats, or {} when it has none to give."""
    import requests

    try:
        reply = requests.get(normalise_url(server) + P.HTTP_STATS, timeout=2.0)
        return reply.json() if reply.ok else {}
    except (requests.RequestException, ValueError):
        return {}


def cpu_seconds(proc: Any) -> float:
    """User plus system CPU seconds of a psutil process."""
    t = proc.cpu_times()
    return t.user + t.system


def measure_host(host: Any, window: tuple[float, float], holder: dict, server: str) -> None:
    """CPU of the host (a psutil process, or None) and of the machine over the
    monotonic ``window``, and the host's tick figures as the window ends, into
    ``holder`` (``done`` set last).  Run it on a thread of its own."""
    import psutil

    try:
        sleep_until(window[0])
        psutil.cpu_percent(None)
        h0 = cpu_seconds(host) if host else None
        sleep_until(window[1])
    except Stopped:
        if threading.current_thread() is threading.main_thread():
            raise
        return
    holder["machine_cpu_pct"] = psutil.cpu_percent(None)
    if host is not None:
        try:
            holder["host_cpu_pct"] = 100.0 * (cpu_seconds(host) - h0) / (window[1] - window[0])
        except Exception:
            pass
    holder["stats"] = host_stats(server)
    holder["done"] = True


def wait_measured(holder: dict, timeout: float = 5.0) -> None:
    """Wait for ``measure_host`` to finish (it ends with the window)."""
    for _ in range(int(timeout / 0.1)):
        if holder.get("done"):
            break
        time.sleep(0.1)
