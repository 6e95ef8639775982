"""A host on this computer, started by the game when no host answers.

``python main.py`` with no ``--server`` tries localhost:5000; when nothing
answers there, it runs ``host.py`` as a child process with its database in the
user's data directory, and stops it (saving everyone) when the game quits.
Starting happens on a thread so the window stays responsive meanwhile.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import platformdirs

from game.host_process import HostProcess, free_port
from game.net import probe

APP_NAME = "pixel-commons"
DEFAULT_PORT = 5000


def default_db_path() -> Path:
    """Where the embedded host keeps its world (the same place host.py uses)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "world.db"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmbeddedHost:
    """Finds or starts a host in the background; poll ``state``.

    ``state`` is "checking", "starting", "ready" (``url`` is set) or
    "failed" (``error`` says why).
    """

    def __init__(self, url: str = f"http://127.0.0.1:{DEFAULT_PORT}",
                 db_path: Path | None = None, port: int = DEFAULT_PORT):
        self.url = url
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
        if probe(self.url, timeout=1.0):
            self.state = "ready"
            return
        self.state = "starting"
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        port = self.port if port_is_free(self.port) else free_port()
        process = HostProcess(self.db_path, port=port, lab=False)
        with self._lock:
            if self._stopping:
                return
            self.process = process
        try:
            process.start()
        except (OSError, RuntimeError) as exc:
            self.error = str(exc).splitlines()[0] if str(exc) else "the host did not start"
            self.state = "failed"
            return
        self.url = process.url
        self.state = "ready"

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
