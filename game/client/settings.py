"""What the game remembers between runs: the last server address and
username, and the player's choices in the settings menu (window or
fullscreen, sound volume, mute).

Kept as JSON in the user's config directory.  The password is never stored.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

APP_NAME = "pixel-commons"
DEFAULT_SERVER = "http://127.0.0.1:5000"
DEFAULT_VOLUME = 0.6


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "client.json"


@dataclass
class Settings:
    server: str = DEFAULT_SERVER
    username: str = ""
    fullscreen: bool = False
    volume: float = DEFAULT_VOLUME  # 0.0 (silent) to 1.0
    muted: bool = False

    @property
    def sound_wanted(self) -> bool:
        return not self.muted and self.volume > 0.0

    @classmethod
    def load(cls, path: Path | None = None) -> "Settings":
        """The saved settings; a missing, broken or odd value falls back to its default."""
        path = path or default_settings_path()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        server = data.get("server")
        username = data.get("username")
        volume = data.get("volume")
        volume_ok = isinstance(volume, (int, float)) and not isinstance(volume, bool) \
            and 0.0 <= volume <= 1.0
        return cls(server=server if isinstance(server, str) and server else DEFAULT_SERVER,
                   username=username if isinstance(username, str) else "",
                   fullscreen=data.get("fullscreen") is True,
                   volume=float(volume) if volume_ok else DEFAULT_VOLUME,
                   muted=data.get("muted") is True)

    def save(self, path: Path | None = None) -> None:
        """Write atomically; a failure (read-only home, full disk) is not fatal."""
        path = Path(path or default_settings_path())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
