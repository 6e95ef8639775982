"""Start and stop ``host.py`` as a child process.

The game uses it to run an embedded host when none answers; the tests and the
benchmarks use it to run a real host on a free localhost port.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .net import probe

ROOT = Path(__file__).resolve().parents[2]  # the project folder, where host.py is


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_port(pid: int) -> int:
    """The TCP port process ``pid`` listens on, or 0 while it listens on none."""
    import psutil

    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0
    return next((c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN), 0)


class HostStartError(RuntimeError):
    """The host did not start; ``reason`` is its own one-line explanation."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class HostProcess:
    """``python host.py`` on a free localhost port with its own database.

    Without a ``port`` the host is started on port 0, so the system gives it
    a free port as it binds (no other program can take it in between), and
    ``port`` is read back from the host's listening socket.  A second
    ``start`` reuses that port.

    With ``stop_with_parent`` the host gets a pipe on its standard input that
    this process never writes to; when this process ends, however it ends,
    the pipe closes and the host stops, saving everyone.
    """

    script = ROOT / "host.py"  # any entry point that takes host.py's flags
    # Tests and benchmarks register hundreds of accounts from 127.0.0.1 and
    # read /api/stats; ``lab=False`` runs the host with its real defaults.
    LAB_ARGS = ("--public-stats", "--registrations", "1000000")

    def __init__(self, db_path: Path, *, async_mode: str = "eventlet", port: int | None = None,
                 extra_args: tuple[str, ...] = (), log_path: Path | None = None,
                 log_level: str = "WARNING", lab: bool = True,
                 stop_with_parent: bool = False):
        # A SQLite file, or a postgresql:// URL (then give log_path).
        url = isinstance(db_path, str) and db_path.startswith("postgresql://")
        self.db_path = db_path if url else Path(db_path)
        self.async_mode = async_mode
        self.port = port or 0  # the port it listens on, once started
        self.extra_args = (self.LAB_ARGS if lab else ()) + tuple(extra_args)
        if url and log_path is None:
            raise ValueError("a host on PostgreSQL needs a log_path")
        self.log_path = log_path or self.db_path.with_suffix(".log")
        self.log_level = log_level
        self.stop_with_parent = stop_with_parent
        self.proc: subprocess.Popen | None = None
        self.killed = False  # stopped by SIGKILL, so its exit code says nothing

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the host has no port until it has started")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "HostProcess":
        cmd = [sys.executable, str(self.script), "--port", str(self.port),
               "--db", str(self.db_path), "--async-mode", self.async_mode,
               "--log-level", self.log_level, *self.extra_args]
        if self.stop_with_parent:
            cmd.append("--stop-when-stdin-closes")
        self.killed = False
        self._log = open(self.log_path, "ab")
        self._log_start = self._log.tell()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env,
            stdin=subprocess.PIPE if self.stop_with_parent else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HostStartError(f"host exited with {self.proc.returncode}:\n{self.log()}",
                                     self.refusal())
            if not self.port:
                self.port = listening_port(self.proc.pid)
            if self.port and probe(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"host did not answer within {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait: the host saves everyone before it exits."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(f"host ignored SIGTERM:\n{self.log()}")
        finally:
            self._log.close()
            self._close_stdin()

    def _close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()

    def kill(self) -> None:
        """SIGKILL: no chance to save anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.killed = True
            self.proc.wait(10)
        self._close_stdin()

    def refusal(self) -> str:
        """The host's one-line reason for not starting (its last line of output)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_start)
                lines = fh.read().decode(errors="replace").strip().splitlines()
        except (OSError, AttributeError):
            return ""
        last = lines[-1] if lines else ""
        return last.split("cannot start: ", 1)[-1]

    @property
    def log_start(self) -> int:
        """Where this run's output begins in the log (it may hold earlier runs)."""
        return getattr(self, "_log_start", 0)

    def log_since(self, offset: int) -> str:
        """What the host wrote to its log from byte ``offset`` on."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def __enter__(self) -> "HostProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            self.kill()
