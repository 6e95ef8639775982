"""Host settings and where the host keeps its files."""
from __future__ import annotations

import errno
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from game.core import protocol as P
from game.core.rules import DEFAULT_MAP_PATH

APP_NAME = "pixel-commons"
ASYNC_MODES = ("eventlet", "threading")
# The most host processes ``host.py --workers`` runs on one machine.
MAX_WORKERS = 64


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return default_data_dir() / "world.db"


def is_postgres_url(value: object) -> bool:
    """Whether ``--db`` names a PostgreSQL database (postgresql://...)."""
    return isinstance(value, str) and value.lower().startswith(("postgresql://", "postgres://"))


class SettingError(ValueError):
    """A host setting out of its range; the message names the flag."""


@dataclass
class HostConfig:
    """Everything a host run can be configured with (host.py exposes each)."""

    host: str = "127.0.0.1"
    port: int = 5000
    # The world's database: a SQLite file (db_path), or a PostgreSQL server
    # (db_url, postgresql://...; db_path is then None).  A URL given as
    # db_path moves to db_url.
    db_path: Path | None = field(default_factory=default_db_path)
    db_url: str | None = None
    map_path: Path = DEFAULT_MAP_PATH
    # Every map of the world, the start map (where new players appear) first;
    # empty: the world is map_path alone.  See world_map_paths.
    map_paths: tuple[Path, ...] = ()
    tick_rate: float = 20.0
    async_mode: str = "eventlet"
    token_ttl_s: int = P.TOKEN_TTL_S
    # Positions of connected players are written at least this often, so a
    # crash loses at most this much walking.
    save_interval_s: float = P.SAVE_INTERVAL_S
    # A silent client is dropped after ping_interval + ping_timeout seconds.
    ping_interval_s: float = P.PING_INTERVAL_S
    ping_timeout_s: float = P.PING_TIMEOUT_S
    # Browser Origins allowed besides the host's own (same-origin by default).
    allowed_origins: tuple[str, ...] = ()
    # Login failures allowed per account and per address in one minute.
    login_failures_per_minute: int = P.LOGIN_FAILURES_MAX
    # Connections without a session (no valid token yet, or ended) are closed
    # after connect_timeout_s; logged-in ones that never join after join_timeout_s.
    connect_timeout_s: float = P.CONNECT_TIMEOUT_S
    join_timeout_s: float = P.JOIN_TIMEOUT_S
    # Packets queued for a client that does not read before it is dropped.
    outbox_max_packets: int = P.OUTBOX_MAX_PACKETS
    # Registrations allowed per address in one minute.
    registrations_per_minute: int = P.REGISTRATIONS_MAX
    # Host names (besides loopback ones) this host answers to, for a host
    # behind a reverse proxy; see host_allowed.
    public_names: tuple[str, ...] = ()
    # Addresses (or networks) of reverse proxies whose X-Forwarded-For is
    # believed for per-address limits; see client_address.
    trusted_proxies: tuple[str, ...] = ()
    # Whether /api/stats answers everyone (otherwise only with stats_token).
    public_stats: bool = False
    stats_token: str = ""
    # The owner's account name (--owner); None: the first account registered.
    owner: str | None = None
    # Who may register: "open", "invite_only" (names on the allow-list kept
    # with ``host.py admin invite``) or "closed" (P.REGISTRATION_MODES).
    registration: str = P.REGISTRATION_OPEN
    # How long a deleted account's name stays retired (RETIRED_NAME_DAYS; the
    # hidden --retired-name-seconds shortens it for tests).
    retired_name_s: float = P.RETIRED_NAME_DAYS * 86400.0
    # How often the host looks for changes written by ``host.py admin``.
    admin_poll_s: float = 0.25
    # The world's Redis (--redis): this process is one of several serving
    # one world (server.cluster); None: the host serves its world alone.
    redis_url: str | None = None
    # The session-signing key's file (--secret-file), shared by every process
    # of one world; None: beside the database.  See secret_path.
    secret_file: Path | None = None
    # This process's number among ``host.py --workers N`` (1 to N); None: the
    # host is a single process.
    worker: int | None = None

    def __post_init__(self) -> None:
        if self.db_url is None and is_postgres_url(self.db_path):
            self.db_url = str(self.db_path)
        self.db_path = None if self.db_url is not None else Path(self.db_path)
        self.map_paths = tuple(Path(p) for p in self.map_paths) or (Path(self.map_path),)
        self.map_path = self.map_paths[0]
        if self.async_mode not in ASYNC_MODES:
            raise SettingError(f"--async-mode must be one of {', '.join(ASYNC_MODES)}")
        if self.redis_url is not None and not self.redis_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise SettingError(f"--redis {self.redis_url!r} is not a Redis URL "
                               "(redis://HOST:PORT/N)")
        if self.registration not in P.REGISTRATION_MODES:
            raise SettingError(f"registration must be one of {', '.join(P.REGISTRATION_MODES)}")
        if not 1.0 <= self.tick_rate <= 120.0:
            raise SettingError(f"--tick-rate {self.tick_rate:g} is out of range: give 1 to 120 Hz")
        self.allowed_origins = tuple(o.rstrip("/") for o in self.allowed_origins)
        self.public_names = tuple(n.strip().rstrip(".").lower() for n in self.public_names)
        for name in self.public_names:
            if not name or "/" in name or ":" in name.strip("[]"):
                raise SettingError(f"--public-name {name!r} must be a host name, without port")
        self._proxy_networks = tuple(ipaddress.ip_network(p, strict=False)
                                     for p in self.trusted_proxies)

    @property
    def listens_on_loopback(self) -> bool:
        return _is_loopback_name(self.host)

    def host_allowed(self, environ: dict) -> bool:
        """Whether a request's Host header names this host.

        A host listening on loopback answers only to loopback names and
        addresses (``localhost``, ``*.localhost``, 127.0.0.0/8, ``[::1]``) and
        the ``public_names``: a web page whose own name an attacker points
        at 127.0.0.1 (DNS rebinding) is refused.  A host listening on a
        network address answers to any Host unless public names are given;
        then to those, loopback names and IP addresses.
        """
        name = _host_name(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
        if name is None:
            return False
        if _is_loopback_name(name) or name in self.public_names:
            return True
        if self.listens_on_loopback:
            return False
        return not self.public_names or _is_ip(name)

    def client_address(self, environ: dict) -> str:
        """The address a request came from, for per-address limits.

        ``X-Forwarded-For`` is believed only when the connection comes from a
        trusted proxy: the client is the rightmost address in it that is not
        itself a trusted proxy (entries further left were written by the
        client and may be anything).
        """
        remote = environ.get("REMOTE_ADDR") or "?"
        if not self._proxy_networks or not self._trusted(remote):
            return remote
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return remote  # a proxy wrote something that is not an address
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else remote

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self._proxy_networks)

    def origin_allowed(self, origin: str | None, environ: dict) -> bool:
        """Whether a request's Origin may use the host: no Origin (not a
        browser), the host's own origin, or one on the allowlist."""
        if not origin:
            return True
        origin = origin.rstrip("/")
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in self.allowed_origins

    @property
    def database(self) -> str | Path:
        """What ``Storage`` opens: the PostgreSQL URL or the SQLite file."""
        return self.db_url if self.db_url is not None else self.db_path

    @property
    def database_label(self) -> str:
        """The database for messages: the file, or the URL with its password masked."""
        from .postgres import masked

        return masked(self.db_url) if self.db_url is not None else str(self.db_path)

    @property
    def secret_path(self) -> Path:
        """The session-signing key: the --secret-file; else beside a SQLite
        database (``world.db.key``); for PostgreSQL, ``DBNAME.key`` in the user
        data folder (every host process of the world needs the same key)."""
        if self.secret_file is not None:
            return Path(self.secret_file)
        if self.db_url is not None:
            from .postgres import database_name

            name = "".join(c if c.isalnum() or c in "._-" else "_"
                           for c in database_name(self.db_url)).lstrip(".")
            return default_data_dir() / f"{name or 'postgres'}.key"
        return self.db_path.with_name(self.db_path.name + ".key")


# A world folder's start map, when --start-map does not name one: the first of
# these names present, else the first map alphabetically.
START_MAP_NAMES = ("world", "start", "main")
MAP_SUFFIXES = (".tmx", ".tmj", ".json")


def world_map_paths(values: list[str | Path], start_map: str | None = None) -> tuple[Path, ...]:
    """The map files of the world given with ``--map`` (each a map file or a
    world folder, whose every .tmx, .tmj and Tiled .json map is in the world),
    the start map first.

    The start map is the one ``start_map`` names; else the first ``--map``
    when it is a file; else (only folders) the map named world, start or main,
    else the first alphabetically.  Raises ``StartupError`` naming the file.
    """
    from .startup import StartupError

    found: list[Path] = []
    first_file: Path | None = None
    for value in values:
        path = Path(value)
        if path.is_dir():
            maps = sorted((p for p in path.iterdir() if _is_map_file(p)),
                          key=lambda p: (p.name.lower(), p.name))
            if not maps:
                raise StartupError(f"world folder {path} has no Tiled maps (.tmx, .tmj or .json): "
                                   f"put the world's maps in it, or point --map at a map file")
            found.extend(maps)
        elif path.is_file():
            found.append(path)
            first_file = first_file or path
        else:
            raise StartupError(f"map {path} is missing: point --map at a Tiled map "
                               f"(.tmx, .tmj, .json) or a world folder")
    if not found:
        return (Path(DEFAULT_MAP_PATH),)
    names = {p.stem: p for p in reversed(found)}  # the first of a name (duplicates: see worlds)
    if start_map:
        wanted = Path(start_map).stem if Path(start_map).suffix.lower() in MAP_SUFFIXES \
            else start_map
        if wanted not in names:
            raise StartupError(f"--start-map {start_map} is not one of the world's maps "
                               f"({', '.join(sorted(names))})")
        start = names[wanted]
    elif first_file is not None and Path(values[0]) == first_file:
        start = first_file
    else:
        start = next((names[n] for n in START_MAP_NAMES if n in names), found[0])
    return (start, *(p for p in found if p is not start))


def _is_map_file(path: Path) -> bool:
    """A map of a world folder: .tmx and .tmj files, and .json files that are
    Tiled maps (not tilesets or anything else)."""
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in MAP_SUFFIXES:
        return False
    if suffix != ".json":
        return True
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return True  # looks like one; loading it explains what is wrong
    return isinstance(data, dict) and (data.get("type") == "map" or "layers" in data)


def _host_name(header: str) -> str | None:
    """The name in a Host header, lower case, without port or brackets;
    None when it is not a plausible host."""
    header = header.strip().lower()
    if header.startswith("["):
        end = header.find("]")
        if end < 0 or header[end + 1:] and not header[end + 1:].startswith(":"):
            return None
        return header[1:end]
    name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    name = name.rstrip(".")
    return name or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback_name(name: str) -> bool:
    name = name.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# What os.link raises on a file system without hard links.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}


def load_or_create_secret(path: Path, replace: bool = False) -> bytes:
    """Read the session-signing key, creating it (readable by the owner only)
    when there is none yet, or a new one when ``replace`` asks for it.

    Several processes may share one key file (``--secret-file``): one that
    finds no key creates it without ever replacing a key another process
    wrote meanwhile, so they all end up with the same key.

    A key that is too short or cannot be read is never replaced quietly: a new
    key logs everyone out.  It raises ``StartupError`` instead.
    """
    from .startup import StartupError

    if not replace:
        key = _read_secret(path)
        if key is not None:
            return key
    key = secrets.token_hex(32).encode()
    fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(fresh, path)
            return key
        try:
            os.link(fresh, path)  # never over a key another process just wrote
        except FileExistsError:
            key = _read_secret(path) or key  # theirs (a short one was refused above)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            os.replace(fresh, path)  # a file system without hard links (FAT)
    except OSError as exc:
        raise StartupError(
            f"session key {path} cannot be created ({exc.strerror or exc}): choose a "
            f"writable place with --secret-file PATH, or fix its folder's permissions") from exc
    finally:
        try:
            os.unlink(fresh)
        except OSError:
            pass
    return key


def _read_secret(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no file.  Raises
    ``StartupError`` naming the file when it cannot serve as the key."""
    from .startup import MIN_KEY_BYTES, StartupError

    if path.is_dir():
        raise StartupError(f"session key {path} cannot be read (it is a folder): point "
                           f"--secret-file at a file, or move the folder away and start with "
                           f"--new-key (everyone then has to log in again)")
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StartupError(
            f"session key {path} cannot be read ({exc.strerror}): make it readable by "
            f"this user, or start with --new-key (everyone then has to log in again)"
        ) from exc
    if len(data) >= MIN_KEY_BYTES:
        return data
    raise StartupError(
        f"session key {path} is too short ({len(data)} bytes, at least "
        f"{MIN_KEY_BYTES} needed): restore it, or start with --new-key "
        f"(everyone then has to log in again)")
