"""Generate the window icon and the sound cues.

Writes, into the folder that holds this script:

* ``icon.png``     - the 64x64 window icon: two villagers chatting on a
  patch of grass, drawn on a 32x32 pixel grid and doubled.
* ``message.wav``  - the cue for a new message: two soft bell notes.
* ``entered.wav``  - the cue for a player entering your conversation: a
  soft rising three-note arpeggio.

The sounds are 22050 Hz, 16-bit mono, synthesised from decaying sine
partials; nothing is random, so the output is identical on every run.
Regenerate from the project root with::

    SDL_VIDEODRIVER=dummy python assets/make_ui_assets.py
"""

import math
import os
import struct
import sys
import wave

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

ASSET_DIR = os.path.dirname(os.path.abspath(__file__))
ICON_FILE = "icon.png"
MESSAGE_FILE = "message.wav"
ENTERED_FILE = "entered.wav"
RATE = 22050
PEAK = 0.32  # of full scale: a cue, not an alarm

OUTLINE = (38, 32, 42)
GRASS = (112, 178, 84)
GRASS_DARK = (74, 134, 62)
GRASS_LIGHT = (138, 198, 98)
SKIN = (241, 194, 150)
SKIN_DARK = (141, 85, 36)
HAIR_A = (92, 58, 34)
HAIR_B = (232, 196, 92)
SHIRT_A = (70, 120, 200)
SHIRT_B = (214, 88, 88)
LEGS = (60, 56, 72)
BUBBLE = (250, 250, 244)
ACCENT = (94, 170, 255)


# --------------------------------------------------------------------------
# Icon
# --------------------------------------------------------------------------
def _villager(surface, x, y, hair, shirt, skin, facing_right):
    """A 7x12 villager whose top-left is (x, y)."""
    px = surface.fill
    px(OUTLINE, (x + 1, y, 5, 6))           # head outline
    px(skin, (x + 2, y + 1, 3, 4))
    px(hair, (x + 1, y, 5, 2))              # hair on top
    px(hair, (x + (1 if facing_right else 5), y + 2, 1, 2))  # back of the head
    eye = x + (4 if facing_right else 2)
    px(OUTLINE, (eye, y + 3, 1, 1))
    px(OUTLINE, (x, y + 6, 7, 5))           # body outline
    px(shirt, (x + 1, y + 6, 5, 4))
    px(skin, (x + (5 if facing_right else 1), y + 8, 1, 1))  # a hand
    px(LEGS, (x + 2, y + 10, 1, 2))
    px(LEGS, (x + 4, y + 10, 1, 2))


def draw_icon() -> pygame.Surface:
    small = pygame.Surface((32, 32), pygame.SRCALPHA)
    pygame.draw.rect(small, OUTLINE, (0, 0, 32, 32), border_radius=7)
    pygame.draw.rect(small, GRASS, (1, 1, 30, 30), border_radius=6)
    for gx, gy in ((4, 5), (9, 3), (5, 13), (26, 24), (3, 25), (28, 16), (13, 27)):
        small.fill(GRASS_LIGHT, (gx, gy, 1, 2))
        small.fill(GRASS_DARK, (gx + 1, gy + 1, 1, 1))
    pygame.draw.ellipse(small, GRASS_DARK, (5, 26, 22, 4))  # their shadow
    _villager(small, 6, 16, HAIR_A, SHIRT_A, SKIN, True)
    _villager(small, 19, 16, HAIR_B, SHIRT_B, SKIN_DARK, False)
    # A speech bubble between them with three dots.
    pygame.draw.rect(small, OUTLINE, (8, 4, 17, 10), border_radius=3)
    pygame.draw.rect(small, BUBBLE, (9, 5, 15, 8), border_radius=2)
    small.fill(OUTLINE, (11, 14, 3, 1))
    small.fill(OUTLINE, (11, 15, 1, 1))
    small.fill(BUBBLE, (12, 13, 2, 1))
    for dx in (12, 16, 20):
        small.fill(ACCENT, (dx, 8, 2, 2))
    return pygame.transform.scale(small, (64, 64))


# --------------------------------------------------------------------------
# Sounds
# --------------------------------------------------------------------------
def bell(freq: float, start: float, length: float, gain: float = 1.0):
    """One note for ``render``: it sounds as a fundamental and two quiet
    partials, with a 6 ms rise and an exponential fade to silence at ``length``."""
    return (freq, start, length, gain)


def render(notes, total: float) -> list[float]:
    samples = [0.0] * int(total * RATE)
    for freq, start, length, gain in notes:
        first = int(start * RATE)
        for i in range(int(length * RATE)):
            if first + i >= len(samples):
                break
            t = i / RATE
            attack = min(1.0, t / 0.006)
            fade = math.exp(-5.0 * t / length) * (1.0 - t / length)
            wave_ = (math.sin(2 * math.pi * freq * t)
                     + 0.25 * math.sin(2 * math.pi * 2 * freq * t)
                     + 0.08 * math.sin(2 * math.pi * 3 * freq * t))
            samples[first + i] += gain * attack * fade * wave_
    top = max(abs(s) for s in samples) or 1.0
    return [s / top * PEAK for s in samples]


def write_wav(path: str, samples: list[float]) -> None:
    frames = b"".join(struct.pack("<h", int(round(s * 32767))) for s in samples)
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


def message_cue() -> list[float]:
    # A5 then E6, overlapping: a light "ding-dong" upwards.
    return render([bell(880.0, 0.0, 0.30), bell(1318.5, 0.09, 0.34, 0.8)], 0.44)


def entered_cue() -> list[float]:
    # C5 E5 G5, quieter and rounder than the message cue.
    return render([bell(523.3, 0.0, 0.26, 0.8), bell(659.3, 0.07, 0.26, 0.8),
                   bell(784.0, 0.14, 0.32, 0.9)], 0.48)


def main(argv=None) -> int:
    pygame.init()
    pygame.image.save(draw_icon(), os.path.join(ASSET_DIR, ICON_FILE))
    write_wav(os.path.join(ASSET_DIR, MESSAGE_FILE), message_cue())
    write_wav(os.path.join(ASSET_DIR, ENTERED_FILE), entered_cue())
    pygame.quit()
    print(f"wrote {ICON_FILE}, {MESSAGE_FILE}, {ENTERED_FILE} into {ASSET_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
