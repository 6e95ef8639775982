"""Limits that hold for the whole world, not per process.

A player must not get a fresh allowance by connecting to another process:
failed logins per account and per address, new accounts per address, and
per account joins, DMs, emotes, typing, away changes and moderator actions
are counted in Redis, each key a sorted set of the attempts in its sliding
window (``pc:lim:<kind>:<key>``, expiring with the window), checked and
counted in one script on Redis's own clock.

They sit behind the host's limiter interfaces (``LoginThrottle.begin`` /
``refund``, ``SlidingWindow.allow``).  While Redis is down each falls back
to the process's own limiter, as without ``--redis``; that is logged once
per outage.
"""
from __future__ import annotations

import itertools
import logging
from typing import Any

from game.core import protocol as P

from ..accounts import LoginThrottle
from ..ratelimit import SlidingWindow
from .bus import PREFIX, Bus

log = logging.getLogger("server.cluster")

# KEYS: the windows; ARGV: limit, window (ms), the attempt's member, 1 to
# count it when allowed.  Returns 0 (allowed) or the ms until it would be.
_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now, 1)
  end
end
if wait == 0 and ARGV[4] == '1' then
  for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, window)
  end
end
return wait
"""


class Limits:
    """Sliding windows in Redis, with this process's own as the fallback."""

    def __init__(self, bus: Bus):
        self.bus = bus
        self._ids = itertools.count(1)
        self._falling_back = False

    def key(self, kind: str, name: Any) -> str:
        return f"{PREFIX}lim:{kind}:{name}"

    def member(self) -> str:
        return f"{self.bus.node}:{next(self._ids)}"

    def check(self, keys: list[str], limit: int, window_s: float, member: str,
              count: bool = True) -> float | None:
        """Seconds to wait (0: allowed, and counted with ``count``); None
        while Redis is down (the caller falls back to its own limiter)."""
        wait = self.bus.command(lambda r: r.eval(_WINDOW, len(keys), *keys, limit,
                                                 int(window_s * 1000), member,
                                                 "1" if count else "0"))
        if wait is None:
            if not self._falling_back:
                self._falling_back = True
                log.warning("redis is down: login throttles and rate limits count on this "
                            "process alone until it is back")
            return None
        if self._falling_back:
            self._falling_back = False
            log.info("redis is back: login throttles and rate limits count world-wide again")
        return int(wait) / 1000.0

    def forget(self, keys: list[str], member: str) -> None:
        self.bus.command(lambda r: [r.zrem(k, member) for k in keys])

    def window(self, kind: str, name: Any, local: SlidingWindow) -> "SharedWindow":
        return SharedWindow(self, self.key(kind, name), local)


class SharedWindow:
    """``SlidingWindow.allow`` counted world-wide; ``local`` (this process's
    own window, judged at the caller's ``now``) while Redis is down."""

    __slots__ = ("limits", "key_name", "local")

    def __init__(self, limits: Limits, key: str, local: SlidingWindow):
        self.limits, self.key_name, self.local = limits, key, local

    def allow(self, now: float) -> bool:
        wait = self.limits.check([self.key_name], self.local.limit, self.local.window_s,
                                 self.limits.member())
        if wait is None:
            return self.local.allow(now)
        return wait <= 0

    def count(self, now: float) -> int:
        return self.local.count(now)


class SharedThrottle(LoginThrottle):
    """``LoginThrottle`` whose failures are counted world-wide.  Which
    attempts are still being checked (the login queue) stays per process."""

    def __init__(self, limits: Limits, kind: str, max_failures: int, window_s: float):
        super().__init__(max_failures, window_s)
        self.limits = limits
        self.kind = kind

    def _keys(self, keys: list[str]) -> list[str]:
        return [self.limits.key(self.kind, k) for k in keys]

    def blocked_for(self, keys: list[str], now: float | None = None) -> float:
        wait = self.limits.check(self._keys(keys), self.max_failures, self.window_s,
                                 "", count=False)
        return super().blocked_for(keys, now) if wait is None else wait

    def begin(self, keys: list[str], now: float | None = None) -> tuple[float, Any]:
        member = self.limits.member()
        wait = self.limits.check(self._keys(keys), self.max_failures, self.window_s, member)
        if wait is None:
            return super().begin(keys, now)
        return wait, member

    def refund(self, keys: list[str], stamp: Any) -> None:
        if isinstance(stamp, str):
            self.limits.forget(self._keys(keys), stamp)
        else:
            super().refund(keys, stamp)


class SharedJoins(dict):
    """``ctx.joins`` (see events.session._join_allowed) counted world-wide:
    every account's window is this process's own one behind a
    ``SharedWindow``."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits

    def get(self, uid: Any, default: Any = None) -> Any:
        local = super().get(uid)
        if local is None:
            if len(self) > 100_000:
                self.clear()
            local = SlidingWindow(P.JOINS_MAX, P.JOIN_WINDOW_S)
            super().__setitem__(uid, local)
        return self.limits.window("join", uid, local)


def account_window(ctx: Any, kind: str, user_id: int, local: SlidingWindow) -> Any:
    """An account's ``local`` window, counted world-wide when the host is
    one of a cluster's processes."""
    if ctx.cluster is None:
        return local
    return ctx.cluster.limits.window(kind, user_id, local)


def install(cluster: Any) -> Limits:
    ctx = cluster.ctx
    limits = Limits(cluster.bus)
    accounts = ctx.accounts
    accounts.throttle = SharedThrottle(limits, "login", accounts.throttle.max_failures,
                                       accounts.throttle.window_s)
    accounts.registrations = SharedThrottle(limits, "register",
                                            accounts.registrations.max_failures,
                                            accounts.registrations.window_s)
    ctx.joins = SharedJoins(limits)
    return limits
