"""Per-player rate limits."""
from __future__ import annotations

from collections import deque


class SlidingWindow:
    """Allows at most ``limit`` events in any ``window_s`` seconds."""

    __slots__ = ("limit", "window_s", "_times")

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        times = self._times
        cutoff = now - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True


class Strikes:
    """Counts refusals; a client that keeps flooding after being told is dropped."""

    __slots__ = ("limit", "window_s", "_times")

    def __init__(self, limit: int, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> bool:
        """Record a refusal; True when the client has now earned a disconnect."""
        times = self._times
        times.append(now)
        cutoff = now - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        return len(times) >= self.limit

    @property
    def recent(self) -> int:
        return len(self._times)
