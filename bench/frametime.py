"""Time the game's own world scene drawing a crowd, without a window.

    python -m bench.frametime --synthetic 200 --seconds 10
    python -m bench.frametime --synthetic 100 --map tests/maps/features/town32.tmx
    python -m bench.frametime --server http://127.0.0.1:5000 --seconds 10

Logs in one viewer through ``HostClient``, pushes the real ``WorldScene`` onto
the real ``App`` with SDL's dummy video driver, and runs frames at 60 Hz,
timing the work of each frame (network drain, fixed steps, interpolation,
drawing; not the sleep).  With ``--server`` the viewer joins a live host (run
it while bots walk around the spawn: ``python -m game.bots --crowd``); with
``--synthetic N`` no host runs at all: the scene's event queue is fed a welcome
and 20 Hz snapshots of N players walking around the spawn with the shared
rules, so only the client's own work is timed (on the bundled world, or on
``--map``).  Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

TARGET_FPS = 60.0


class SyntheticFeed:
    """Stands in for the host: a welcome, then a snapshot every tick."""

    TICK_S = 0.05

    def __init__(self, client, players: int, map_path=None):
        import random

        from game.core import protocol as P
        from game.core import rules
        from game.bots import Bot, Walker, targets_for

        self.P = P
        self.client = client
        world = rules.load_world(map_path)
        rng = random.Random(3)
        self.walker = Walker(world, targets_for(world, "crowd"), rng)
        self.bots = []
        for i in range(players):
            x, y = rng.choice(self.walker.targets)
            bot = Bot(i, f"walker{i:03d}", None, x=x, y=y)  # type: ignore[arg-type]
            bot.player_id = 1000 + i
            bot.target = self.walker.pick(x, y)
            self.bots.append(bot)
        self.next_tick = 0.0
        self.tick = 0
        sx, sy = world.spawn
        self._put(P.WELCOME, {
            "protocol": P.PROTOCOL_VERSION, "you": {"id": 1, "name": "viewer", "x": sx, "y": sy},
            "players": [{"id": b.player_id, "name": b.name, "x": b.x, "y": b.y} for b in self.bots],
            "unread": {}, "missed_messages": [],
            "world": {"width": world.width_px, "height": world.height_px,
                      "tile_size": world.tile_size, "speed": rules.WALK_SPEED},
            "tick_rate": 1.0 / self.TICK_S, "server_time": time.time() * 1000.0})

    def _put(self, kind: str, data) -> None:
        from game.client.net import NetEvent

        self.client.events.put(NetEvent(kind, data))

    def pump(self) -> None:
        now = time.monotonic()
        if now < self.next_tick:
            return
        self.next_tick = now + self.TICK_S
        self.tick += 1
        flat = []
        for bot in self.bots:
            self.walker.advance(bot, self.TICK_S)
            flat.extend((bot.player_id, bot.x, bot.y))
        self._put(self.P.SNAPSHOT, {"tick": self.tick, "t": round(time.time() * 1000.0), "p": flat})


def measure(server: str | None, seconds: float, size: tuple[int, int], name: str,
            synthetic: int = 0, map_path: str | None = None) -> dict:
    import pygame

    from game.client.app import App
    from game.client.scenes.world import WorldScene
    from game.client.net import HostClient, Session

    client = HostClient(server or "http://127.0.0.1:9", reconnect=False)
    if synthetic:
        client.session = Session("synthetic", 1, "viewer")
    else:
        client.login_or_register(name, name + "-watches")
    pygame.init()
    screen = pygame.display.set_mode(size)
    app = App(screen)
    if map_path:
        app.services["map_path"] = map_path
    feed = None
    if synthetic:
        feed = SyntheticFeed(client, synthetic, map_path)
    else:
        client.connect()
    scene = app.push(WorldScene(client))
    period = 1.0 / TARGET_FPS
    deadline = time.monotonic() + 10.0
    while scene.me_id is None and time.monotonic() < deadline:
        if feed:
            feed.pump()
        app.frame()
        time.sleep(period)
    for _ in range(int(TARGET_FPS)):  # a second to settle: snapshots, name tags
        if feed:
            feed.pump()
        app.frame()
        pygame.display.flip()
        time.sleep(period)
    times, drawn = [], []
    end = time.monotonic() + seconds
    next_frame = time.monotonic()
    while time.monotonic() < end:
        if feed:
            feed.pump()  # the stand-in host's work is not timed
        start = time.perf_counter()
        app.frame()
        pygame.display.flip()
        times.append((time.perf_counter() - start) * 1000.0)
        drawn.append(sum(1 for r in scene.remotes.values()
                         if scene.camera.sees(r.x, r.y, 48)))
        next_frame += period
        delay = next_frame - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_frame = time.monotonic()
    app.shutdown()
    pygame.quit()
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 2)
    return {"mode": f"synthetic {synthetic} walkers" if synthetic else "live host",
            "map": str(map_path or "bundled"),
            "frames": len(times), "size": f"{size[0]}x{size[1]}",
            "avatars_on_screen_min": min(drawn) if drawn else 0,
            "avatars_on_screen_mean": round(sum(drawn) / len(drawn), 1) if drawn else 0,
            "frame_p50_ms": pick(0.5), "frame_p99_ms": pick(0.99), "frame_max_ms": round(times[-1], 2),
            "fps_possible_p99": round(1000.0 / max(pick(0.99), 1e-3), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--server", default=None, metavar="URL",
                        help="host to watch (with bots walking around the spawn)")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="no host: feed the scene N walkers around the spawn")
    parser.add_argument("--map", default=None, metavar="PATH",
                        help="with --synthetic: the Tiled map to draw and walk (default: bundled)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to time frames")
    parser.add_argument("--size", default="1280x800", metavar="WxH", help="window size")
    parser.add_argument("--name", default="viewer", help="account the viewer logs in as")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    if not args.server and not args.synthetic:
        parser.error("give --server URL or --synthetic N")
    print(json.dumps(measure(args.server, args.seconds, (w, h), args.name, args.synthetic,
                             args.map)),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
