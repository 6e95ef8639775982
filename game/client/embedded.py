"""A host on this computer, started by the game when no host answers.

``python main.py`` with no ``--server`` asks localhost:5000 (``/api/health``)
and, when no host answers there, looks for a host already serving its world
(the database lock names it, whatever its port); only then does it run
``host.py`` as a child process with its database in the user's data directory.
That host stops (saving everyone) when the game quits, and ends with the game
however the game ends: it watches a pipe from the game that closes when the
game's process does.  Starting happens on a thread so the window stays
responsive meanwhile.
"""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import platformdirs

from game.client.host_process import HostProcess, HostStartError, free_port
from game.client.net import probe
from server.startup import lock_holder

APP_NAME = "pixel-commons"
DEFAULT_PORT = 5000


def default_db_path() -> Path:
    """Where the embedded host keeps its world (the same place host.py uses)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "world.db"


def port_taken(port: int) -> bool:
    """Whether some program accepts connections on the port (a host that did
    not answer /api/health, or not a host at all).  Closing connections
    (TIME_WAIT) do not count: a new host can listen beside them."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _alive(pid: object) -> bool:
    """Whether the process that wrote the lock record still runs (a record
    left by a host that was killed names an address someone else may use)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name != "posix":
        return True  # the health check alone decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedHost:
    """Finds or starts a host in the background; poll ``state``.

    ``state`` is "checking", "starting", "ready" (``url`` is set) or
    "failed" (``error`` says why).
    """

    def __init__(self, url: str = f"http://127.0.0.1:{DEFAULT_PORT}",
                 db_path: Path | None = None, port: int = DEFAULT_PORT,
                 host_args: tuple[str, ...] = ()):
        self.url = url
        self.host_args = tuple(host_args)
        self.port = port
        self.db_path = Path(db_path or default_db_path())
        self.state = "checking"
        self.error = ""
        self.process: HostProcess | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def start(self) -> "EmbeddedHost":
        self._thread = threading.Thread(target=self._run, name="embedded-host", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> str:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state

    def _run(self) -> None:
        if probe(self.url, timeout=1.0) or self._use_host_serving_world():
            self.state = "ready"
            return
        self.state = "starting"
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        port = free_port() if port_taken(self.port) else self.port
        process = HostProcess(self.db_path, port=port, extra_args=self.host_args,
                              stop_with_parent=True, lab=False)
        with self._lock:
            if self._stopping:
                return
            self.process = process
        try:
            process.start()
        except HostStartError as exc:
            if self._use_host_serving_world():  # another game started it meanwhile
                self.process = None
                self.state = "ready"
                return
            self.error = exc.reason or f"the host did not start ({exc.args[0].splitlines()[0]})"
            self.state = "failed"
            return
        except (OSError, RuntimeError) as exc:
            self.error = str(exc).splitlines()[0] if str(exc) else "the host did not start"
            self.state = "failed"
            return
        self.url = process.url
        self.state = "ready"

    def _use_host_serving_world(self) -> bool:
        """A host already serving this database (on any port) is the one to join."""
        holder = lock_holder(self.db_path)
        url, pid = holder.get("url"), holder.get("pid")
        if isinstance(url, str) and _alive(pid) and probe(url, timeout=1.0):
            self.url = url
            return True
        return False

    def stop(self) -> None:
        """Stop the host if the game started it; everyone's position is saved."""
        with self._lock:
            self._stopping = True
            process = self.process
        if process is None:
            return
        if self._thread is not None:
            self._thread.join(25)
        try:
            process.stop()
        except RuntimeError:
            pass
        finally:
            process.kill()
