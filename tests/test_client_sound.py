"""Sound cues: generated assets, a silent start on a computer without sound,
volume and mute, and the cues the world plays (a real host for a message)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import pygame
import pytest

from game.core import protocol as P
from game.client.scenes.world import WorldScene
from game.client.sound import ENTERED, MESSAGE, Sound
from game.client.net import HostClient

from .conftest import unique_name
from .helpers_client import PASSWORD, Harness, StandIn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def audio():
    """A working mixer on SDL's dummy audio driver (it plays into nothing)."""
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    pygame.mixer.quit()
    yield
    pygame.mixer.quit()


def test_the_cues_are_small_soft_and_made_by_the_generator(tmp_path):
    # The generator writes beside itself: run a copy of it in a scratch folder.
    shutil.copy(ROOT / "assets" / "make_ui_assets.py", tmp_path)
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    subprocess.run([sys.executable, str(tmp_path / "make_ui_assets.py")], env=env, check=True,
                   capture_output=True, timeout=60)
    for name in ("message.wav", "entered.wav", "icon.png"):
        assert (tmp_path / name).read_bytes() == (ROOT / "assets" / name).read_bytes(), name
    for name in ("message.wav", "entered.wav"):
        with wave.open(str(ROOT / "assets" / name)) as cue:
            assert (cue.getnchannels(), cue.getsampwidth(), cue.getframerate()) == (1, 2, 22050)
            seconds = cue.getnframes() / cue.getframerate()
            frames = cue.readframes(cue.getnframes())
        assert 0.2 < seconds < 0.6
        peak = max(abs(int.from_bytes(frames[i:i + 2], "little", signed=True))
                   for i in range(0, len(frames), 2))
        assert 0.2 * 32767 < peak <= 0.35 * 32767  # heard, but soft


def test_starting_the_game_without_a_sound_device_prints_nothing(tmp_path):
    """The real start-up (game.run) with the system's own audio driver, for a
    few frames.  On a computer without a sound card pygame.init() made ALSA
    print 'cannot find card' lines here."""
    env = {k: v for k, v in os.environ.items() if k != "SDL_AUDIODRIVER"}
    env.update(SDL_VIDEODRIVER="dummy", XDG_CONFIG_HOME=str(tmp_path), PYGAME_HIDE_SUPPORT_PROMPT="1",
               HOME=str(tmp_path))
    script = (
        "import game.client.app as a\n"
        "frame = a.App.frame\n"
        "def few(self):\n"
        "    frame(self)\n"
        "    self.running = self.frames < 20\n"
        "a.App.frame = few\n"
        "from game.client.game import run\n"
        "run(server='http://127.0.0.1:9', embedded=False)\n"
        "print('ran')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ran")
    assert done.stderr == ""


def test_no_sound_device_means_silence_not_errors(capfd):
    os.environ["SDL_AUDIODRIVER"] = "no-such-driver"
    pygame.mixer.quit()
    try:
        cues = Sound()
        assert cues.available is False
        assert cues.play(MESSAGE) is False
        cues.close()
    finally:
        os.environ["SDL_AUDIODRIVER"] = "dummy"
    assert capfd.readouterr().err == ""


def test_volume_and_mute(audio):
    clock = [0.0]
    muted = Sound(volume=0.6, muted=True, clock=lambda: clock[0])
    assert pygame.mixer.get_init() is None  # muted: the mixer is never opened
    assert muted.play(MESSAGE) is False
    muted.set_muted(False)
    assert pygame.mixer.get_init() is not None
    assert muted.play(MESSAGE) is True
    assert muted.sounds[MESSAGE].get_volume() == pytest.approx(0.6, abs=0.01)
    assert muted.play(MESSAGE) is False  # a burst chimes once
    clock[0] += 1.0
    muted.set_volume(0.25)
    assert muted.sounds[ENTERED].get_volume() == pytest.approx(0.25, abs=0.01)
    assert muted.play(MESSAGE) is True
    clock[0] += 1.0
    muted.set_volume(0.0)
    assert muted.play(MESSAGE) is False  # volume 0 is silence too
    assert muted.played == [MESSAGE, MESSAGE]
    muted.close()


@pytest.fixture
def world(tmp_path, audio):
    h = Harness(tmp_path)
    h.sound = h.app.services["sound"] = Sound(volume=0.5, clock=lambda: h.clock[0])
    client = StandIn()
    scene = h.enter_world(client)
    yield h, scene, client
    h.close()


def test_a_new_message_and_someone_entering_the_conversation_chime(world):
    h, scene, client = world
    client.put(P.DM_UNREAD, {"peer": "bob", "unread": 1})
    h.frames(1)
    assert h.sound.played == [MESSAGE]
    h.frames(30)
    scene.chat.set_visible(True)
    scene.chat.open("bob")
    client.put(P.DM_MESSAGE, {"id": 5, "from": "me", "to": "bob", "text": "hi", "at": 1.0})
    h.frames(1)
    assert h.sound.played == [MESSAGE]  # our own message is silent
    client.put(P.DM_PRESENCE, {"peer": "carol", "state": "entered"})  # not our conversation
    client.put(P.DM_PRESENCE, {"peer": "bob", "state": "entered"})
    h.frames(1)
    assert h.sound.played == [MESSAGE, ENTERED]
    h.frames(30)
    client.put(P.DM_MESSAGE, {"id": 6, "from": "bob", "to": "me", "text": "hey", "at": 2.0})
    h.frames(1)
    assert h.sound.played == [MESSAGE, ENTERED, MESSAGE]
    h.sound.set_muted(True)
    h.frames(30)
    client.put(P.DM_MESSAGE, {"id": 7, "from": "bob", "to": "me", "text": "there?", "at": 3.0})
    h.frames(1)
    assert h.sound.played == [MESSAGE, ENTERED, MESSAGE]


def test_a_message_from_a_real_player_chimes(tmp_path, audio, host, make_player):
    h = Harness(tmp_path)
    h.sound = h.app.services["sound"] = Sound(volume=0.5)
    try:
        me = HostClient(host.url)
        me.register(unique_name("snd"), PASSWORD)
        me.connect()
        scene = h.app.push(WorldScene(me))
        bob = make_player()
        deadline = time.monotonic() + 10
        while scene.me_id is None:
            assert time.monotonic() < deadline, "no welcome"
            h.frames(1)
            time.sleep(0.01)
        bob.call(P.DM_SEND, {"to": me.session.name, "text": "ding?"})
        deadline = time.monotonic() + 10
        while not h.sound.played:
            assert time.monotonic() < deadline, "no chime"
            h.frames(1)
            time.sleep(0.01)
        assert h.sound.played == [MESSAGE]
    finally:
        h.close()
