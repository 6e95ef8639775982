"""Real redis-server and PostgreSQL servers for the tests, on free localhost ports.

Both come from the system's packages (``.ci/run`` installs Debian's
``redis-server`` and ``postgresql``).  Each server lives in a temporary
folder of its own and is stopped when the test (or the session) that
started it is done.  PostgreSQL will not run as root: as root the server
runs as the unprivileged user ``nobody``.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .support import free_port

START_TIMEOUT_S = 30.0


class ServerMissing(RuntimeError):
    """The server's program is not installed."""


def _check_running(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Raise when the server has exited (``PortTaken`` when its port was in use)."""
    if proc.poll() is not None:
        text = log.read_text(errors="replace")
        kind = PortTaken if "already in use" in text else RuntimeError
        raise kind(f"server on port {port} exited with {proc.returncode}: {text[-2000:]}")


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_running(port, proc, log)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not listen within {timeout:g} s: "
                       f"{log.read_text(errors='replace')[-2000:]}")


# How often a server whose free port was taken first is started on another.
PORT_TRIES = 3


def _start_on_a_free_port(server, launch) -> None:
    """``launch()`` the server; when it was given no port and its port was
    taken by another program between being found free and being bound, try
    another free port (the server exits, or something else answers there).
    Once started, the server keeps its port."""
    for attempt in range(PORT_TRIES):
        try:
            launch()
            server.port_chosen_here = False  # a restart comes back on this port
            return
        except PortTaken:
            if not server.port_chosen_here or attempt == PORT_TRIES - 1:
                raise
            server.stop(kill=True)
            server.port = free_port()


class PortTaken(RuntimeError):
    """The server's port was in use by another program."""


class RedisServer:
    """One redis-server on a free port, with no persistence."""

    def __init__(self, port: int | None = None):
        self.program = shutil.which("redis-server")
        if self.program is None:
            raise ServerMissing("redis-server is not installed (apt-get install redis-server)")
        self.port = port or free_port()
        self.port_chosen_here = port is None
        self.dir = Path(tempfile.mkdtemp(prefix="pc-redis-"))
        self.log = self.dir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        _start_on_a_free_port(self, self._launch)
        return self

    def _launch(self) -> None:
        self.log.write_bytes(b"")
        self.proc = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir),
             "--logfile", str(self.log), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, self.log, START_TIMEOUT_S)
        # The port answering may be another program's (even another
        # redis-server): this server then stops at once, saying so in its log.
        deadline = time.monotonic() + START_TIMEOUT_S
        while self._answering_pid() != self.proc.pid:
            _check_running(self.port, self.proc, self.log)
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} is not the one started")
            time.sleep(0.05)

    def _answering_pid(self) -> int | None:
        """The process id of the redis-server answering on the port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(b"INFO server\r\n")
                answer = b""
                while b"process_id:" not in answer or not answer.endswith(b"\r\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return None
        for line in answer.decode(errors="replace").splitlines():
            if line.startswith("process_id:"):
                return int(line.split(":", 1)[1])
        return None

    def stop(self, kill: bool = False) -> None:
        """Stop the server (``kill``: at once, with SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        """Kill the server, stay down ``down_s`` seconds, start it again on
        the same port (empty: it keeps nothing)."""
        self.stop(kill=True)
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_bin(name: str) -> str:
    """The path of a PostgreSQL server program (initdb, postgres, pg_ctl)."""
    found = shutil.which(name)
    if found is None:
        versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                          key=lambda p: int(Path(p).parts[4]) if Path(p).parts[4].isdigit() else 0)
        found = versions[-1] if versions else None
    if found is None:
        raise ServerMissing(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def _as_user() -> dict:
    """Run as ``nobody`` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": "nogroup" if _group_exists("nogroup") else "nobody"}


def _group_exists(name: str) -> bool:
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


class PostgresServer:
    """One PostgreSQL server on a free port, in a fresh data folder, trusting
    local connections (user ``postgres``, database ``postgres``)."""

    def __init__(self, port: int | None = None):
        self.initdb = postgres_bin("initdb")
        self.postgres = postgres_bin("postgres")
        self.port = port or free_port()
        self.port_chosen_here = port is None
        self.dir = Path(tempfile.mkdtemp(prefix="pc-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.proc: subprocess.Popen | None = None
        self._initialised = False
        user = _as_user()
        if user:
            os.chmod(self.dir, 0o777)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _init(self) -> None:
        with open(self.log, "ab") as out:
            subprocess.run([self.initdb, "-D", str(self.data), "-U", "postgres",
                            "--auth=trust", "--encoding=UTF8", "--no-sync", "--no-locale"],
                           stdout=out, stderr=subprocess.STDOUT, check=True, **_as_user())
        self._initialised = True

    def start(self) -> "PostgresServer":
        if not self._initialised:
            self._init()
        _start_on_a_free_port(self, self._launch)
        return self

    def _launch(self) -> None:
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.postgres, "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
             "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, **_as_user())
        out.close()
        _wait_port(self.port, self.proc, self.log, START_TIMEOUT_S)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            _check_running(self.port, self.proc, self.log)  # another program may answer there
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT: PostgreSQL's fast shutdown; SIGKILL: a crash.
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
