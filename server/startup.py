"""Checks before the host starts, and one line for the player when it cannot.

Everything that can stop a host from starting (a port in use, a folder it
cannot write, a damaged database or one from a newer version, a missing or
broken map, a map referencing files it must not serve (outside its folder,
missing, over the size limit), a session key that is missing or unreadable,
another host already serving the same world) ends in a ``StartupError`` whose
message is one line naming the file or port and what to do.  ``host.py``
prints that line and exits with status 1; the traceback is shown only with
``--log-level DEBUG``.

The database lock (``world.db.lock`` beside ``world.db``) is held for the
host's whole life, so two hosts never serve one world; it records the pid and
address of the host holding it, which the second host names and the game uses
to find the host already running.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from game.core.bundle import MapBundle
    from game.core.tiled import TiledMap

    from .config import HostConfig

log = logging.getLogger("server.startup")

MIN_KEY_BYTES = 32
SQLITE_MAGIC = b"SQLite format 3\x00"


class StartupError(Exception):
    """The host cannot start; the message is one line meant for the player."""


# -- the lock that keeps one host per database -----------------------------------------
def lock_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


def lock_holder(db_path: Path) -> dict[str, Any]:
    """What the lock file says about the host that holds (or last held) it:
    ``{"pid": ..., "url": ...}``, or ``{}`` when there is nothing to read."""
    try:
        data = json.loads(lock_path(db_path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def local_url(host: str, port: int) -> str:
    """The address a program on this computer uses to reach the host."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class DatabaseLock:
    """A lock on ``PATH.lock``, released when the process ends: exclusive for
    a host serving its world alone, shared by the host processes of one
    cluster (``--redis``), which may share one database file on one machine."""

    def __init__(self, db_path: Path, url: str, shared: bool = False):
        self.path = lock_path(db_path)
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StartupError(folder_problem(self.path.parent, exc)) from exc
        if not _try_lock(self._fd, shared):
            os.close(self._fd)
            holder = lock_holder(db_path)
            who = ", ".join(str(holder[k]) for k in ("pid", "url") if k in holder)
            who = f"pid {who}" if "pid" in holder else (who or "address unknown")
            raise StartupError(
                f"{db_path} is already served by another host ({who}): join that host, "
                f"or stop it before starting another on this database"
                + (" (host processes sharing one database all need the same --redis)"
                   if shared else ""))
        record = json.dumps({"pid": os.getpid(), "url": url}).encode()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, record)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None


def host_running(db_path: Path) -> bool:
    """Whether a host holds the database's lock right now (probed without
    keeping it: the lock is taken and dropped at once when it is free)."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDWR)
    except OSError:
        return False  # no lock file: no host ever ran here, or it cleaned up
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)  # drops the lock if the probe took it


def admin_signal_path(db_path: Path) -> Path:
    """The file ``host.py admin`` touches after queueing a command; the
    running host looks at its time instead of asking the database."""
    return db_path.with_name(db_path.name + ".admin")


def _try_lock(fd: int, shared: bool = False) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            os.lseek(fd, 1 << 20, os.SEEK_SET)  # lock a byte past the record, which stays readable
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


# -- the checks, in the order a problem is best explained ------------------------------
class NoLock:
    """A PostgreSQL world takes no lock: several hosts serve it together."""

    def release(self) -> None:
        pass


def prepare(config: "HostConfig", new_key: bool = False) -> DatabaseLock | NoLock:
    """Check the map, the folder, the database and its key before the host
    opens anything, and take the database lock.  Raises ``StartupError``."""
    check_map(config.map_path)
    if config.db_url is not None:
        existed = check_postgres(config.db_url)
        prepare_key(config.secret_path, config.database_label, existed, new_key)
        return NoLock()
    db_path = config.db_path
    folder = db_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(folder_problem(folder, exc)) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY
        raise StartupError(folder_problem(
            folder, OSError(errno.EROFS, "") if read_only else PermissionError(errno.EACCES, "")))
    lock = DatabaseLock(db_path, local_url(config.host, config.port),
                        shared=config.redis_url is not None)
    try:
        existed = check_database(db_path)
        prepare_key(config.secret_path, db_path, existed, new_key)
    except BaseException:
        lock.release()
        raise
    return lock


def check_map(path: Path) -> "TiledMap":
    """Load the map the way the host serves it and check every file it
    references (inside the map's folder, present, within the size limit)."""
    from game.core import tiled
    from game.core.bundle import check_files
    from game.core.rules import MapError

    if not path.is_file():
        raise StartupError(f"map {path} is missing: put it back, or point --map at a Tiled "
                           f"map (.tmx or .tmj)")
    try:
        loaded = _load_once(path, tiled.load_map)
    except Exception as exc:  # the parser raises anything from ParseError to KeyError
        raise StartupError(f"map {path} cannot be read ({first_line(exc)}): fix it in Tiled, "
                           f"or point --map at another map") from exc
    try:
        check_files(loaded)
    except MapError as exc:
        raise StartupError(f"map {path} cannot be served: {first_line(exc)}") from exc
    except OSError as exc:
        raise StartupError(f"map {path} cannot be served: {exc.filename}: "
                           f"{exc.strerror or first_line(exc)}") from exc
    return loaded


# The map checked by ``prepare`` is the one ``create_host`` serves: loaded
# once, unless one of its files changed in between.
_loaded: dict[Path, tuple[tuple, "TiledMap"]] = {}


def _file_stamps(files: Any) -> tuple:
    stamps = []
    for f in files:
        try:
            st = os.stat(f)
            stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def _load_once(path: Path, load: Callable[[Path], "TiledMap"]) -> "TiledMap":
    key = Path(os.path.abspath(path))
    known = _loaded.get(key)
    if known is not None and known[0] == _file_stamps(known[1].files):
        return known[1]
    loaded = load(key)
    _loaded[key] = (_file_stamps(loaded.files), loaded)
    return loaded


def serve_map(path: Path) -> tuple["TiledMap", "MapBundle"]:
    """The map, checked, and its bundle, built once for the host's whole life."""
    from game.core.bundle import make_bundle
    from game.core.rules import MapError

    loaded = check_map(path)
    try:
        return loaded, make_bundle(loaded)
    except MapError as exc:
        raise StartupError(f"map {path} cannot be served: {first_line(exc)}") from exc
    except OSError as exc:  # a file changed or became unreadable since the check
        raise StartupError(f"map {path} cannot be served: {exc.filename}: "
                           f"{exc.strerror or first_line(exc)}") from exc


def folder_problem(folder: Path, exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        why = "is on a read-only disk"
    elif isinstance(exc, (FileExistsError, NotADirectoryError)):
        why = "cannot be created (a file is in the way)"
    else:
        why = f"is not writable by this user ({exc.strerror or 'permission denied'})"
    return (f"the world's folder {folder} {why}: choose a writable place with --db PATH, "
            f"or fix its permissions")


def schema_version() -> int:
    """The newest database version this host can read (owned by server.storage)."""
    from . import storage

    return storage.SCHEMA_VERSION


def check_database(db_path: Path) -> bool:
    """Refuse a database that is damaged, read-only or newer than this host.
    Returns whether a world was already there."""
    try:
        size = db_path.stat().st_size
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StartupError(f"database {db_path} cannot be read ({exc.strerror}): "
                           f"check its permissions") from exc
    if size == 0:
        return False
    if not os.access(db_path, os.R_OK | os.W_OK):
        raise StartupError(f"database {db_path} is read-only for this user: make it writable "
                           f"(chmod u+rw), or copy it to a writable place and use --db")
    damaged = (f"database {db_path} is damaged ({{}}): restore it from a backup, or move it "
               f"away to start a new world")
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StartupError(f"database {db_path} cannot be read ({exc.strerror}): "
                           f"check its permissions") from exc
    if not header.startswith(SQLITE_MAGIC):
        raise StartupError(f"{db_path} is not a Pixel Commons database (not SQLite): "
                           f"restore it from a backup, or point --db at another file")
    if len(header) < 100:
        raise StartupError(damaged.format(f"only {size} bytes long"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and pages and size < page_size * pages:
        raise StartupError(damaged.format(
            f"cut short: {size} of {page_size * pages} bytes"))
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StartupError(damaged.format(first_line(exc))) from exc
    newest = schema_version()
    if version > newest:
        raise StartupError(
            f"database {db_path} is version {version}, made by a newer Pixel Commons; this "
            f"host reads up to version {newest}: update the game, or use another --db")
    return True


def check_postgres(url: str) -> bool:
    """Refuse a PostgreSQL URL that is malformed, a server that cannot be
    reached or refuses us, and a schema newer than this host.  Returns
    whether a world was already there.  Errors name the URL, password masked."""
    from . import postgres

    where = postgres.masked(url)
    problem = postgres.url_problem(url)
    if problem is not None:
        raise StartupError(f"--db {where} is not a usable PostgreSQL URL ({problem}): "
                           f"write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
    try:
        db = postgres.connect(url, application_name="pixel-commons start-up check")
    except postgres.psycopg.ProgrammingError as exc:  # the URL itself
        raise StartupError(f"--db {where} is not a usable PostgreSQL URL ({first_line(exc)}): "
                           f"write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME") from exc
    except postgres.psycopg.Error as exc:
        raise StartupError(f"database {where} cannot be reached ({_pg_reason(exc)}): start "
                           f"PostgreSQL, or check the address, user, password and database "
                           f"name in --db") from exc
    try:
        version = postgres.user_version(db)
    except postgres.psycopg.Error as exc:
        raise StartupError(f"database {where} cannot be used ({_pg_reason(exc)})") from exc
    finally:
        db.close()
    newest = schema_version()
    if version > newest:
        raise StartupError(
            f"database {where} is version {version}, made by a newer Pixel Commons; this "
            f"host reads up to version {newest}: update the game, or use another --db")
    return version > 0


def _pg_reason(exc: BaseException) -> str:
    """libpq's reason, without its "connection to server at ... failed:" preamble."""
    text = " ".join(str(exc).split())
    for marker in ("FATAL: ", "failed: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return text or type(exc).__name__


def prepare_key(key_path: Path, db_path: Path | str, world_exists: bool, new_key: bool) -> None:
    """The session key must match the world's sessions: never replace one quietly."""
    from .config import load_or_create_secret

    if new_key:
        load_or_create_secret(key_path, replace=True)
        log.warning("made a new session key %s; everyone has to log in again", key_path)
        return
    if world_exists and not key_path.exists() and not key_path.is_symlink():
        beside = db_path.with_name(db_path.name + ".key")
        fix = (f"copy the world's key {beside} there" if key_path != beside and beside.exists()
               else "put the key back")
        raise StartupError(
            f"session key {key_path} is missing but the world {db_path} exists: {fix}, "
            f"or start with --new-key (everyone then has to log in again)")
    load_or_create_secret(key_path)


# -- explaining a failure in one line ----------------------------------------------------
def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def explain(exc: BaseException, host: str, port: int, db_path: Path | None = None) -> str | None:
    """The one line for a start-up failure, or None when it is not one."""
    if isinstance(exc, StartupError):
        return first_line(exc)
    from .config import SettingError
    if isinstance(exc, SettingError):
        return f"{first_line(exc)} (python host.py --help lists every setting)"
    if isinstance(exc, socket.gaierror):
        return f"address {host} is not one of this computer's: use --host 127.0.0.1 or 0.0.0.0"
    from .config import is_postgres_url
    if is_postgres_url(str(db_path)):
        from . import postgres
        if isinstance(exc, postgres.psycopg.Error):
            return (f"database {postgres.masked(str(db_path))} cannot be used "
                    f"({_pg_reason(exc)}): check --db and the PostgreSQL server")
    if isinstance(exc, sqlite3.DatabaseError):
        return (f"database {db_path} cannot be used ({first_line(exc)}): restore it from a "
                f"backup, or move it away to start a new world")
    if isinstance(exc, OSError) and exc.filename is None:
        if exc.errno == errno.EADDRINUSE:
            return (f"port {port} is already in use by another program: stop it, or start "
                    f"the host with another --port")
        if exc.errno == errno.EACCES:
            return (f"port {port} needs administrator rights on this system: "
                    f"use a port above 1023 with --port")
        if exc.errno == errno.EADDRNOTAVAIL:
            return (f"address {host} is not one of this computer's: "
                    f"use --host 127.0.0.1 or 0.0.0.0")
    if isinstance(exc, OSError) and exc.filename is not None:
        return (f"{exc.filename}: {exc.strerror or first_line(exc)}: check that this user "
                f"can read and write it")
    return None


def run_or_explain(build: Callable[[], Any], serve: Callable[[Any], None], *, host: str,
                   port: int, db_path: Path, debug: bool, who: str = "host.py") -> int:
    """Build the host and serve it; a start-up failure becomes one line on
    stderr and status 1.  Once the host is built, only a failure to listen
    counts as one: anything later is a crash and keeps its traceback."""
    try:
        built = build()
    except Exception as exc:
        return _refuse(exc, explain(exc, host, port, db_path), debug, who)
    try:
        serve(built)
    except Exception as exc:
        if isinstance(exc, StartupError) or (
                isinstance(exc, OSError) and exc.filename is None
                and not isinstance(exc, sqlite3.Error)):
            return _refuse(exc, explain(exc, host, port, db_path), debug, who)
        raise
    return 0


def _refuse(exc: Exception, message: str | None, debug: bool, who: str = "host.py") -> int:
    if message is None:
        raise exc
    if debug:
        traceback.print_exception(exc)
    print(f"{who}: cannot start: {message}", file=sys.stderr, flush=True)
    return 1


# -- ending with the game that started the host ------------------------------------------
def stop_when_stdin_closes(runtime: Any) -> None:
    """Stop the host (saving everyone, as SIGTERM does) once standard input
    reaches its end.  The game starts its host with a pipe there and never
    writes to it: however the game ends, even by kill -9, the pipe closes."""

    def watch() -> None:
        # A plain read on a real OS thread: eventlet does not patch FileIO.
        with open(0, "rb", buffering=0, closefd=False) as stdin:
            while stdin.read(4096):
                pass
        log.info("the program that started this host has ended; stopping")
        # SIGTERM saves everyone once the host has set up its handler for it.
        pause = runtime.threading.Event()
        while signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            pause.wait(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    runtime.start_thread(watch, "stop-with-parent")


# -- the addresses friends can use ------------------------------------------------------
def lan_addresses() -> list[str]:
    """This computer's IPv4 addresses on its networks (no loopback)."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # sends nothing: asks which address would route out
            found.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(info[4][0])
    except OSError:
        pass
    return [a for i, a in enumerate(found)
            if a not in found[:i] and not a.startswith(("127.", "0.", "169.254."))]


def join_addresses(host: str, port: int) -> str:
    """A log line saying where players join."""
    here = local_url(host, port)
    if host in ("127.0.0.1", "localhost", "::1"):
        return (f"players on this computer join at {here} (start with --host 0.0.0.0 to let "
                f"friends on your network join)")
    if host not in ("", "0.0.0.0", "::"):
        return f"players join at {here}"
    lan = [local_url(a, port) for a in lan_addresses()]
    if not lan:
        return (f"players on this computer join at {here}; friends use this computer's network "
                f"address (see `ip addr` or `ipconfig`) with port {port}")
    return (f"friends on your network join at {' or '.join(lan)} "
            f"(on this computer: {here})")
