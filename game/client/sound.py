"""Sound cues: a soft chime for a new message and for a player entering your
conversation (``assets/message.wav``, ``assets/entered.wav``, made by
``assets/make_ui_assets.py``).

The mixer is only opened when sound is wanted (not muted, volume above 0),
and quietly: on a computer without a sound device the audio libraries print
complaints straight to the terminal (ALSA's "cannot find card"), so the
process's stderr is pointed at /dev/null while the mixer opens.  If it cannot
open, the game stays silent and says nothing.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import pygame

ASSETS = Path(__file__).resolve().parents[2] / "assets"
MESSAGE, ENTERED = "message", "entered"
CUES = {MESSAGE: "message.wav", ENTERED: "entered.wav"}
REPEAT_GAP_S = 0.35  # one chime for a burst (a message can arrive as an answer and a badge)


@contextlib.contextmanager
def quiet_stderr():
    """Silence whatever C libraries write to stderr (file descriptor 2) meanwhile."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Sound:
    """The game's cues, at the volume and mute state in the settings."""

    def __init__(self, volume: float = 0.6, muted: bool = False, clock=time.monotonic):
        self.volume = volume
        self.muted = muted
        self.clock = clock
        self.available: bool | None = None  # None: the mixer has not been tried yet
        self.sounds: dict[str, pygame.mixer.Sound] = {}
        self.played: list[str] = []  # the cues played, newest last (tests and tools read it)
        self._last: dict[str, float] = {}
        if self.wanted:
            self.start()

    @property
    def wanted(self) -> bool:
        return not self.muted and self.volume > 0.0

    def start(self) -> bool:
        """Open the mixer and load the cues, once; False when there is no sound device."""
        if self.available is not None:
            return self.available
        self.available = False
        try:
            with quiet_stderr():
                if not pygame.mixer.get_init():
                    pygame.mixer.init(frequency=22050, size=-16, channels=2, buffer=512)
                self.sounds = {name: pygame.mixer.Sound(str(ASSETS / file))
                               for name, file in CUES.items()}
        except (pygame.error, OSError, FileNotFoundError):
            self.sounds = {}
            return False
        self.available = True
        self._apply_volume()
        return True

    def set_volume(self, volume: float) -> None:
        self.volume = min(1.0, max(0.0, round(volume, 2)))
        if self.wanted:
            self.start()
        self._apply_volume()

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.wanted:
            self.start()
        else:
            self.stop_all()

    def _apply_volume(self) -> None:
        for sound in self.sounds.values():
            sound.set_volume(self.volume)

    def stop_all(self) -> None:
        if self.available:
            pygame.mixer.stop()

    def play(self, cue: str) -> bool:
        """Play a cue unless muted, silent or just played; True if it sounded."""
        if not self.wanted:
            return False
        now = self.clock()
        if now - self._last.get(cue, -1e9) < REPEAT_GAP_S:
            return False
        if not self.start() or cue not in self.sounds:
            return False
        self._last[cue] = now
        self.sounds[cue].play()
        self.played.append(cue)
        return True

    def close(self) -> None:
        if self.available:
            with quiet_stderr():
                pygame.mixer.quit()
        self.available = None
        self.sounds = {}
