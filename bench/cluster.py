"""Benchmark: what a cross-process hop costs in a cluster (one Redis, two hosts).

    python -m bench.cluster                       # 20 players, 10 s
    python -m bench.cluster --players 10,40 --seconds 8 --mode threading

Starts a redis-server and two host processes of one world (``--redis``, one
throwaway database file) on free localhost ports, joins half the players on
each process around the spawn, and has every player walk (``game.bots``'
walker, crowd targets) at 20 moves a second.  One player on each process
stands still and watches: each position it sees in a snapshot is matched to
the time its mover sent it, and counted as a *same-process* or a
*cross-process* mover.  Printed per player count: move-to-snapshot latency
p50/p99 for both (and the difference: the hop's cost), the share of
positions delivered, and the Redis messages and bytes a second each process
sent and received (from ``/api/health``'s cluster stats).

``measure(players, seconds, mode)`` returns the numbers as a dict for
``bench.run``.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from game.bots.walker import Walker, targets_for  # noqa: E402
from game.client.host_process import HostProcess  # noqa: E402
from game.client.net import HostClient  # noqa: E402
from game.core import protocol as P  # noqa: E402
from game.core import rules  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

RATE_HZ = 20.0
PASSWORD = "bench-cluster-pw"
# A position seen later than this after it was sent counts as not delivered.
DEADLINE_S = 1.0
# Positions sent in the last moments of a run may not have arrived yet.
TAIL_S = 1.5
VIEW_PX = P.AREA_GUARANTEED_PX - 32


class Observer:
    """A player who stands still and stamps each position its snapshots show."""

    def __init__(self, client: HostClient, index: int, sent: dict, lock: threading.Lock):
        self.client, self.index = client, index
        self.x, self.y = client.welcome["you"]["x"], client.welcome["you"]["y"]
        self.sent, self.lock = sent, lock
        self.seen: dict[tuple[int, int, int], float] = {}
        put = client._put

        def stamped(kind: str, data: Any) -> None:
            if kind == P.SNAPSHOT and isinstance(data, dict):
                now = time.monotonic()
                flat = data["p"]
                for i in range(0, len(flat), 3):
                    key = (int(flat[i]), P.quantise(flat[i + 1]), P.quantise(flat[i + 2]))
                    self.seen.setdefault(key, now)
            else:
                put(kind, data)
        client._put = stamped  # snapshots are stamped, not queued


def join(url: str, name: str) -> HostClient:
    client = HostClient(url, reconnect=False)
    client.login_or_register(name, PASSWORD)
    client.connect()
    client.welcome = client.wait_for(P.WELCOME).data  # type: ignore[attr-defined]
    return client


def cluster_stats(url: str) -> dict:
    return requests.get(url + P.HTTP_HEALTH, timeout=5).json()["cluster"]


def bus_stats(url: str) -> dict:
    return cluster_stats(url)["bus"]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100.0 * len(values)))]


def measure(players: int = 20, seconds: float = 10.0, mode: str = "eventlet",
            seed: int = 1) -> dict:
    """One run: ``players`` walkers (half on each process) and two watchers."""
    folder = Path(tempfile.mkdtemp(prefix="pc-bench-cluster-"))
    redis_server = RedisServer().start()
    hosts: list[HostProcess] = []
    clients: list[HostClient] = []
    try:
        for i in range(2):
            hosts.append(HostProcess(folder / "world.db", async_mode=mode,
                                     log_path=folder / f"process{i}.log", stop_with_parent=True,
                                     extra_args=("--redis", redis_server.url,
                                                 "--login-failures", "1000000")).start())
        sent: dict[tuple[int, int, int], tuple[float, int, float, float]] = {}
        lock = threading.Lock()
        observers = [Observer(join(hosts[i].url, f"watch{i}"), i, sent, lock) for i in range(2)]
        clients += [o.client for o in observers]
        walkers = []
        for n in range(players):
            client = join(hosts[n % 2].url, f"walk{n:03d}")
            clients.append(client)
            walkers.append((client, n % 2))
        world = rules.load_world()
        walker = Walker(world, targets_for(world, "crowd"), random.Random(seed))
        states = []
        for client, process in walkers:
            you = client.welcome["you"]
            state = _Walking(you["x"], you["y"])
            state.target = walker.pick(state.x, state.y)
            states.append(state)
        wait_for_everyone(hosts, players + 2)
        before = [bus_stats(h.url) for h in hosts]
        started = time.monotonic()
        dt = 1.0 / RATE_HZ
        # Each walker sends at its own moment of the period, as real players
        # do: none is in step with the hosts' ticks.
        gap = dt / max(1, players)
        sends = 0
        while True:
            index = sends % players
            due = started + sends * gap
            if due - started >= seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            (client, process), state = walkers[index], states[index]
            walker.advance(state, dt)  # type: ignore[arg-type]
            key = (client.session.user_id, P.quantise(round(state.x, 2)),
                   P.quantise(round(state.y, 2)))
            if key not in sent:
                sent[key] = (time.monotonic(), process, state.x, state.y)
            client.send_move(state.x, state.y)
            sends += 1
        elapsed = time.monotonic() - started
        time.sleep(DEADLINE_S)
        after = [bus_stats(h.url) for h in hosts]
        result = {"players": players, "seconds": round(elapsed, 1), "mode": mode,
                  **latencies(observers, sent, started + elapsed - TAIL_S)}
        result["redis"] = [rates(b, a, elapsed) for b, a in zip(before, after)]
        # Ticks that gave up waiting for the other process's movers.
        result["late_marks"] = [cluster_stats(h.url)["late_marks"] for h in hosts]
        return result
    finally:
        for client in clients:
            threading.Thread(target=client.close, daemon=True).start()
        for host in hosts:
            host.stop()
        redis_server.close()
        shutil.rmtree(folder, ignore_errors=True)


class _Walking:
    def __init__(self, x: float, y: float):
        self.x, self.y, self.target = x, y, (x, y)


def wait_for_everyone(hosts: list[HostProcess], count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        online = [requests.get(h.url + P.HTTP_HEALTH, timeout=5).json()["players_online"]
                  for h in hosts]
        if all(n == count for n in online):
            return
        time.sleep(0.1)
    raise SystemExit(f"the processes did not all see {count} players within {timeout:g} s")


def latencies(observers: list[Observer], sent: dict, until: float) -> dict:
    """Move-to-snapshot latency and delivery, same process and across."""
    out: dict[str, dict] = {}
    for label in ("same", "cross"):
        values: list[float] = []
        expected = delivered = 0
        for obs in observers:
            for key, (at, process, x, y) in sent.items():
                if at > until or (process == obs.index) != (label == "same"):
                    continue
                if abs(x - obs.x) > VIEW_PX or abs(y - obs.y) > VIEW_PX:
                    continue
                expected += 1
                seen = obs.seen.get(key)
                if seen is not None and seen - at <= DEADLINE_S:
                    delivered += 1
                    values.append((seen - at) * 1000.0)
        out[label] = {"p50_ms": _r(percentile(values, 50)), "p99_ms": _r(percentile(values, 99)),
                      "delivered_pct": _r(100.0 * delivered / expected if expected else None),
                      "positions": expected}
    same, cross = out["same"], out["cross"]
    out["hop_ms"] = {q: _r(cross[q] - same[q]) if cross[q] is not None and same[q] is not None
                     else None for q in ("p50_ms", "p99_ms")}
    return out


def rates(before: dict, after: dict, seconds: float) -> dict:
    return {k + "_per_s": round((after[k] - before[k]) / seconds, 1)
            for k in ("sent", "sent_bytes", "received", "received_bytes")}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--players", default="20", help="walkers per run, comma-separated "
                        "(half on each process; default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="walking time per run")
    parser.add_argument("--mode", default="eventlet", choices=("eventlet", "threading"))
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = [measure(int(n), args.seconds, args.mode) for n in args.players.split(",")]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("players  same p50/p99 ms  cross p50/p99 ms  hop p50/p99 ms  delivered same/cross %"
          "  redis msgs/s out,in (per process)  bytes/s out,in")
    for r in results:
        same, cross, hop = r["same"], r["cross"], r["hop_ms"]
        msgs = " ".join(f"{x['sent_per_s']:g},{x['received_per_s']:g}" for x in r["redis"])
        size = " ".join(f"{x['sent_bytes_per_s']:g},{x['received_bytes_per_s']:g}"
                        for x in r["redis"])
        print(f"{r['players']:>7}  {same['p50_ms']}/{same['p99_ms']:<10}  "
              f"{cross['p50_ms']}/{cross['p99_ms']:<10}  {hop['p50_ms']}/{hop['p99_ms']:<9}  "
              f"{same['delivered_pct']}/{cross['delivered_pct']:<19}  {msgs:<34}  {size}"
              f"   (late marks {r['late_marks']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
