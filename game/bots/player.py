"""One scripted player: an account, a ``game.client.net.HostClient`` and where it stands."""
from __future__ import annotations

import logging
import queue
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

# game.client.net, imported by load_net() once eventlet has patched the standard
# library: each player's HostClient then runs on green threads, so hundreds
# of players cost one OS thread instead of two each.
net: Any = None

log = logging.getLogger("game.bots")

DEFAULT_PASSWORD_SUFFIX = "-walks-around"
LOGIN_ATTEMPTS = 3
# A player whose session the host no longer accepts logs in again, waiting
# this long between failed attempts (doubling up to the maximum).
RELOGIN_DELAY_S = 0.5
RELOGIN_DELAY_MAX_S = 5.0


def load_net(green: bool = True) -> Any:
    """Import game.client.net, first switching the process to green threads
    (the process that runs players; a parent that only coordinates stays plain)."""
    global net
    if net is None:
        if green:
            import warnings

            warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
            import eventlet

            eventlet.monkey_patch()
        from game.client import net as module

        net = module
    return net


class Inbox:
    """Stands in for HostClient's queue: tags each event with its player."""

    def __init__(self, index: int, shared: deque):
        self.index = index
        self.shared = shared

    def put(self, event: Any) -> None:
        self.shared.append((self.index, event))

    def get(self, timeout: float | None = None):  # HostClient.wait_for is not used
        raise queue.Empty

    def get_nowait(self):
        raise queue.Empty


@dataclass(eq=False)
class Bot:
    """A scripted player; ``client`` is None for one that only walks (no host)."""
    index: int
    name: str
    client: Any  # game.client.net.HostClient
    x: float = 0.0
    y: float = 0.0
    target: tuple[float, float] = (0.0, 0.0)
    player_id: int | None = None
    last_step: float = 0.0
    joined: bool = False
    last_seq: int = 0  # the newest move sent
    resync_seq: int = 0  # the newest move sent when the player last took a correction
    relogging: bool = False  # logging in again after the host refused the session
    map_name: str = ""  # the map the player is on ("": the swarm's start map)

    @property
    def password(self) -> str:
        return self.name + DEFAULT_PASSWORD_SUFFIX

    def log_in(self) -> bool:
        """Log in (registering the account the first time) and connect."""
        for attempt in range(LOGIN_ATTEMPTS):
            try:
                self.client.login_or_register(self.name, self.password)
                self.client.connect(timeout=20.0)
                return True
            except net.HostError as exc:
                log.warning("%s: %s (attempt %d)", self.name, exc.message, attempt + 1)
                time.sleep(0.5 + attempt)
        return False

    def log_in_again(self, keep_trying: Callable[[], bool]) -> bool:
        """The host no longer accepts the session (a new database, an expired
        or revoked token): log in again, as a player would, while
        ``keep_trying()``.  The client's own reconnect attempts then carry the
        new token."""
        delay = RELOGIN_DELAY_S
        while keep_trying():
            try:
                self.client.login_or_register(self.name, self.password)
                return True
            except net.HostError as exc:
                log.debug("%s: logging in again failed: %s", self.name, exc.message)
            time.sleep(delay)
            delay = min(2 * delay, RELOGIN_DELAY_MAX_S)
        return False
