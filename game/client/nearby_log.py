"""What the chat's Nearby conversation knows, without pixels: the lines said
aloud around us (ours included), how many came while it was not on screen,
and our own allowance of lines.

The host keeps no copy of these lines (see docs/protocol.md, section 17):
the log holds the last ``NEARBY_LOG_MAX`` heard since the game started, and
nothing more ever comes back.  Lines from players we block are never taken
in (the host does not send them either; a block made a moment ago may race
a line on its way).

Pure Python: times are passed in (``now``, seconds on any steady clock).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from game.core import protocol as P

NEARBY_LOG_MAX = 200
# Added to our own count of the host's window: the host counts when a line
# arrived, a little after we sent it.
RATE_SLACK_S = 0.3


@dataclass(frozen=True)
class Said:
    """One line heard: who said it (id and name), what, and when (Unix ms)."""

    speaker: int
    name: str
    text: str
    at: float
    mine: bool


def parse_said(data) -> Said | None:
    """A ``said`` event as a line, or None for junk."""
    if not isinstance(data, dict):
        return None
    speaker, name, text = data.get("from"), data.get("name"), data.get("text")
    if not (isinstance(speaker, int) and not isinstance(speaker, bool)
            and isinstance(name, str) and isinstance(text, str) and text):
        return None
    at = data.get("at")
    at = float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else 0.0
    return Said(speaker, name, P.visible_text(text), at, False)


class NearbyLog:
    def __init__(self, me: str):
        self.me = me
        self.lines: deque[Said] = deque(maxlen=NEARBY_LOG_MAX)
        self.unread = 0
        self.sent_times: deque[float] = deque()

    def on_said(self, data, blocked: set[str] | frozenset[str] = frozenset(),
                showing: bool = False) -> Said | None:
        """Take a ``said`` event; returns the line, or None when it is not shown
        (junk, or from a player we block).  ``showing``: the Nearby
        conversation is on screen, so the line counts as read."""
        line = parse_said(data)
        if line is None or line.name in blocked:
            return None
        mine = line.name == self.me
        line = Said(line.speaker, line.name, line.text, line.at, mine)
        self.lines.append(line)
        if not mine and not showing:
            self.unread += 1
        return line

    def read(self) -> None:
        self.unread = 0

    def forget(self, name: str) -> None:
        """Take a newly blocked player's lines out of the log."""
        kept = [line for line in self.lines if line.name != name]
        self.lines.clear()
        self.lines.extend(kept)

    # -- saying --------------------------------------------------------------------
    def allowed_at(self, now: float) -> float:
        """When the host's window of ``SAYS_PER_WINDOW`` lines lets the next one through."""
        while self.sent_times and self.sent_times[0] <= now - P.SAY_WINDOW_S - RATE_SLACK_S:
            self.sent_times.popleft()
        if len(self.sent_times) < P.SAYS_PER_WINDOW:
            return now
        return self.sent_times[-P.SAYS_PER_WINDOW] + P.SAY_WINDOW_S + RATE_SLACK_S

    def compose(self, text: str, now: float) -> dict:
        """The ``say`` payload for ``text``; raises ProtocolError when it cannot
        be said now (bad text, or over our allowance: then the text stays
        with the player, who can send it a moment later)."""
        payload = {"text": P.parse_say({"text": text}).text}
        allowed = self.allowed_at(now)
        if allowed > now:
            wait = max(1, int(allowed - now + 0.999))
            raise P.ProtocolError(P.E_RATE_LIMITED,
                                  f"at most {P.SAYS_PER_WINDOW} lines in {P.SAY_WINDOW_S:g} s; "
                                  f"wait {wait} s")
        self.sent_times.append(now)
        return payload
