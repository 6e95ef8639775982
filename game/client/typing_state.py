""""X is typing…" in a conversation, both ways, without pixels.

``TypingSender`` decides when to tell the host that we type: ``true`` when a
key changes the text (at most once per ``P.TYPING_REFRESH_S``), ``false``
once the text is sent or emptied, we leave the conversation, or no key has
changed it for ``P.TYPING_IDLE_S``.  ``TypingBoard`` remembers who told us
they type, and forgets it after ``P.TYPING_EXPIRE_S`` without a refresh, so a
lost ``false`` never leaves the line up.  Times are passed in (seconds on any
steady clock).
"""
from __future__ import annotations

from game.core import protocol as P


class TypingSender:
    def __init__(self) -> None:
        self.to: str | None = None  # whom we last said "typing" to, until we say "false"
        self.sent_at = float("-inf")
        self.last_key = float("-inf")

    def update(self, now: float, peer: str | None, text: str, typed: bool) -> list[tuple[str, bool]]:
        """What to send this frame, ``[(peer, typing), ...]``.  ``peer``: the
        conversation the keys go to (None: none shown); ``text``: what is in
        the box; ``typed``: a key changed it since the last call."""
        out: list[tuple[str, bool]] = []
        has_text = bool(text.strip())
        if typed and has_text and peer is not None:
            self.last_key = now
        if self.to is not None and (peer != self.to or not has_text
                                    or now - self.last_key >= P.TYPING_IDLE_S):
            out.append((self.to, False))
            self.to = None
        if typed and has_text and peer is not None and \
                (self.to != peer or now - self.sent_at >= P.TYPING_REFRESH_S):
            out.append((peer, True))
            self.to, self.sent_at = peer, now
        return out

    def stop(self) -> list[tuple[str, bool]]:
        """The message went (or the connection dropped): no longer typing."""
        if self.to is None:
            return []
        to, self.to = self.to, None
        return [(to, False)]


class TypingBoard:
    def __init__(self) -> None:
        self.until: dict[str, float] = {}  # name -> when to stop showing it

    def on_typing(self, name: str, typing: bool, now: float) -> None:
        if typing:
            self.until[name] = now + P.TYPING_EXPIRE_S
        else:
            self.until.pop(name, None)

    def clear(self, name: str) -> None:
        """A message from them arrived: what they typed is here."""
        self.until.pop(name, None)

    def is_typing(self, name: str | None, now: float) -> bool:
        until = self.until.get(name) if name is not None else None
        if until is None:
            return False
        if now >= until:
            del self.until[name]
            return False
        return True
