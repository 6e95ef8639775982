"""Render a screenshot of the game with a few players and the chat panel open.

    python -m game.client.screenshot docs/screenshot.png [--size 1280x800]

Starts a host with a throwaway database, logs in some scripted players who
walk to spots around the spawn and send messages, logs in as one more
player, opens the chat panel on a conversation and saves one rendered frame.  Runs without
a window (SDL's dummy video driver).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from game.core import protocol as P  # noqa: E402
from game.core import rules  # noqa: E402
from game.client.host_process import HostProcess  # noqa: E402
from game.client.net import HostClient  # noqa: E402

from .app import App  # noqa: E402
from .scenes.world import WorldScene  # noqa: E402

PASSWORD = "screenshot-pass"
ME = "wren"
# (name, offset from the spawn in pixels): where each scripted player walks to.
FRIENDS = [("mira", (-150, 70)), ("oskar", (140, -90)), ("juno", (-90, -120)),
           ("tala", (200, 110)), ("pip", (30, 170)), ("bram", (-250, -20))]
CONVERSATION = [("mira", "hey wren! are you coming to the lake?"),
                (ME, "on my way, just picking up the others"),
                ("mira", "bring oskar, he knows the path past the trees"),
                (ME, "will do. meet at the bridge?"),
                ("mira", "see you there :)")]
STEP_S = 0.05


def walk_to(world: rules.WorldMap, x: float, y: float, tx: float, ty: float) -> tuple[float, float]:
    """One 20 Hz step towards (tx, ty), sliding along walls."""
    dx, dy = tx - x, ty - y
    dist = math.hypot(dx, dy)
    if dist < 2:
        return x, y
    speed = min(rules.WALK_SPEED, dist / STEP_S)
    return rules.step(world, x, y, dx / dist, dy / dist, STEP_S, speed)


def nearest_free(world: rules.WorldMap, x: float, y: float) -> tuple[float, float]:
    for radius in range(0, 400, 8):
        for angle in range(0, 360, 20):
            px = x + radius * math.cos(math.radians(angle))
            py = y + radius * math.sin(math.radians(angle))
            if world.box_free(px, py):
                return px, py
    return world.spawn


def take(out: Path, size: tuple[int, int]) -> None:
    world = rules.load_world()
    sx, sy = world.spawn
    with tempfile.TemporaryDirectory() as tmp, HostProcess(Path(tmp) / "world.db") as host:
        friends: dict[str, HostClient] = {}
        spots = {}
        for name, (ox, oy) in FRIENDS:
            client = HostClient(host.url, reconnect=False)
            client.login_or_register(name, PASSWORD)
            client.connect()
            client.wait_for(P.WELCOME)
            friends[name] = client
            spots[name] = nearest_free(world, sx + ox, sy + oy)
        # An earlier chat between us and mira, in order.
        earlier = HostClient(host.url, reconnect=False)
        earlier.register(ME, PASSWORD)
        earlier.connect()
        earlier.wait_for(P.WELCOME)
        for sender, text in CONVERSATION:
            if sender == ME:
                earlier.call(P.DM_SEND, {"to": "mira", "text": text})
            else:
                friends[sender].call(P.DM_SEND, {"to": ME, "text": text})
        earlier.close()
        me = HostClient(host.url, reconnect=False)
        me.login(ME, PASSWORD)
        # Walk everyone to their spots (the host checks every step).
        pos = {name: (sx, sy) for name in friends}
        for _ in range(60):
            for name, client in friends.items():
                x, y = walk_to(world, *pos[name], *spots[name])
                if (x, y) != pos[name]:
                    client.send_move(x, y)
                    pos[name] = (x, y)
            time.sleep(STEP_S)

        pygame.init()
        screen = pygame.display.set_mode(size)
        clock = [0.0]
        app = App(screen, clock=lambda: clock[0])
        me.connect()
        scene = app.push(WorldScene(me))

        def frames(n: int, walkers: bool = False) -> None:
            rng = random.Random(7)
            for i in range(n):
                clock[0] += 1 / 60
                if walkers and i % 3 == 0:  # two friends stroll while the frame is taken
                    for name, (dx, dy) in (("oskar", (1, 0.3)), ("tala", (-1, 0))):
                        x, y = pos[name]
                        x, y = rules.step(world, x, y, dx / math.hypot(dx, dy),
                                          dy / math.hypot(dx, dy), STEP_S)
                        friends[name].send_move(x, y)
                        pos[name] = (x, y)
                app.frame()
                time.sleep(1 / 60 + rng.random() * 0.001)

        deadline = time.monotonic() + 10
        while scene.me_id is None and time.monotonic() < deadline:
            frames(1)
        # Our side of the conversation, then open the panel on it.
        scene.chat.set_visible(True)
        frames(10)
        scene.chat.open("mira")
        frames(10)
        for text in ("found a shortcut!", "wait for me"):
            friends["juno"].call(P.DM_SEND, {"to": ME, "text": text})
        friends["pip"].call(P.DM_SEND, {"to": ME, "text": "hi!"})
        frames(30)
        scene.chat.manager.set_focus_set(scene.chat.entry)
        scene.chat.entry.set_text("race you there")
        frames(40, walkers=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(app.surface, str(out))
        app.shutdown()
        for client in friends.values():
            client.close()
        pygame.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Save a screenshot of the game with several "
                                                 "players and the chat panel open.")
    parser.add_argument("out", type=Path, help="PNG file to write, e.g. docs/screenshot.png")
    parser.add_argument("--size", default="1280x800", metavar="WxH",
                        help="size of the picture (default: 1280x800)")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    take(args.out, (w, h))
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
