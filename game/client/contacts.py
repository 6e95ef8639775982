"""The people a player has talked to, remembered between runs so the players
list can show them while they are offline.

Kept as JSON next to the settings file (``contacts.json``), one list of names
per host and account.  A failure to read or write it is not fatal: the list
then holds who is online and who wrote since the game started.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .settings import default_settings_path

CONTACTS_MAX = 500  # names kept per host and account (the most recent)
KEYS_MAX = 50       # hosts and accounts kept in one file


def contacts_path(services: dict) -> Path:
    """Beside the settings file the game was given, else in the user's config directory."""
    if services.get("contacts_path"):
        return Path(services["contacts_path"])
    settings = services.get("settings_path")
    return Path(settings or default_settings_path()).with_name("contacts.json")


class ContactBook:
    def __init__(self, path: Path, key: str):
        self.path = Path(path)
        self.key = key

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self) -> list[str]:
        names = self._read().get(self.key)
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def save(self, names) -> None:
        data = self._read()
        data.pop(self.key, None)
        data[self.key] = sorted(names, key=str.lower)[-CONTACTS_MAX:]
        data = dict(list(data.items())[-KEYS_MAX:])  # the most recently used keys last
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass
