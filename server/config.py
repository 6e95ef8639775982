"""Host settings and where the host keeps its files."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from game import protocol as P
from game.rules import DEFAULT_MAP_PATH

APP_NAME = "pixel-commons"
ASYNC_MODES = ("eventlet", "threading")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return default_data_dir() / "world.db"


@dataclass
class HostConfig:
    """Everything a host run can be configured with (host.py exposes each)."""

    host: str = "127.0.0.1"
    port: int = 5000
    db_path: Path = field(default_factory=default_db_path)
    map_path: Path = DEFAULT_MAP_PATH
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

    def __post_init__(self) -> None:
        self.db_path = Path(self.db_path)
        self.map_path = Path(self.map_path)
        if self.async_mode not in ASYNC_MODES:
            raise ValueError(f"async_mode must be one of {ASYNC_MODES}")
        if not 1.0 <= self.tick_rate <= 120.0:
            raise ValueError("tick_rate must be between 1 and 120 Hz")
        self.allowed_origins = tuple(o.rstrip("/") for o in self.allowed_origins)

    def origin_allowed(self, origin: str | None, environ: dict) -> bool:
        """Whether a request's Origin may use the host: no Origin (not a
        browser), the host's own origin, or one on the allowlist."""
        if not origin:
            return True
        origin = origin.rstrip("/")
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in self.allowed_origins

    @property
    def secret_path(self) -> Path:
        """The session-signing key lives beside the database."""
        return self.db_path.with_name(self.db_path.name + ".key")


def load_or_create_secret(path: Path, replace: bool = False) -> bytes:
    """Read the session-signing key, creating it (readable by the owner only)
    when there is none yet, or a new one when ``replace`` asks for it.

    A key that is too short or cannot be read is never replaced quietly: a new
    key logs everyone out.  It raises ``StartupError`` instead.
    """
    from .startup import MIN_KEY_BYTES, StartupError

    path.parent.mkdir(parents=True, exist_ok=True)
    if not replace:
        try:
            data = path.read_bytes().strip()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StartupError(
                f"session key {path} cannot be read ({exc.strerror}): make it readable by "
                f"this user, or start with --new-key (everyone then has to log in again)"
            ) from exc
        else:
            if len(data) >= MIN_KEY_BYTES:
                return data
            raise StartupError(
                f"session key {path} is too short ({len(data)} bytes, at least "
                f"{MIN_KEY_BYTES} needed): restore it, or start with --new-key "
                f"(everyone then has to log in again)")
    key = secrets.token_hex(32).encode()
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(fresh, path)
    return key
