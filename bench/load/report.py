"""The report line: its fields, the statistics merged over processes, and the verdict.

A load tool that runs out of CPU measures itself rather than the host: when
any of its processes used more than ``SATURATED_CPU_PCT`` of a core, or sent
its moves more than ``SEND_LAG_LIMIT_MS`` late (p99), the report says
``"saturated": true`` and the figures are not valid (``judge_run``, shared
with the Node generator's driver, ``bench/node_load.py``).
"""
from __future__ import annotations

import argparse
from typing import Iterable

# A load process above this share of one core is measuring itself.
SATURATED_CPU_PCT = 90.0
# Sends later than this against their schedule (p99) mean the tool is
# starved of CPU; a machine busier than this is reported as a warning.
SEND_LAG_LIMIT_MS = 50.0
MACHINE_BUSY_PCT = 95.0

REPORT = """fields of the --report line:
  players, rate, mode, seconds, procs   what was run
  joined                                bots that joined the world
  p50_ms, p99_ms, max_ms                move-to-delivery latency of delivered pairs
  delivered_pct                         expected (move, observer) pairs seen within
                                        --deadline-ms; deadline_ms says which
  pairs                                 how many expected pairs were counted
  snapshots_per_s                       snapshots one client receives a second (mean)
  bytes_per_s                           bytes one client receives a second (mean;
                                        Socket.IO text plus WebSocket header)
  unreadable                            deltas the observers could not read (a mover
                                        missing from their table of positions); 0
  tool_cpu_pct                          the tool's CPU, summed over its processes
                                        (100 = one core); tool_cpu_max_proc_pct the
                                        busiest process
  host_cpu_pct                          CPU of the process listening on the port,
                                        when the host runs on this machine
  machine_cpu_pct                       the whole machine (100 = all cores)
  host_tick_lateness_p99_ms             from the host's /api/stats as the window ends
                                        (its recent ticks, logins included), when
                                        it has one; ..._last_5s_max_ms the worst
                                        tick of the window's last five seconds
  send_lag_p99_ms                       how late the tool's own sends left (p99)
  corrections                           moves the host refused, by reason
  errors, disconnects                   what else the host pushed back
  saturated, warning                    true / a message when the figures are invalid"""


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of sorted ``values``; None when empty."""
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def merge_counts(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counts by key, summed over ``dicts``."""
    total: dict[str, int] = {}
    for d in dicts:
        for key, n in d.items():
            total[key] = total.get(key, 0) + n
    return total


def judge_run(*, busiest_cpu_pct: float, send_lag_p99_ms: float | None,
              machine_cpu_pct: float | None, joined: int, players: int, expected: int,
              busiest: str, advice: str = "") -> tuple[bool, list[str]]:
    """(whether the load tool measured itself rather than the host, and every
    reason to doubt the figures), for any load tool: ``busiest`` names its
    busiest process in the message, ``advice`` follows it."""
    lag = send_lag_p99_ms or 0.0
    saturated = busiest_cpu_pct > SATURATED_CPU_PCT or lag > SEND_LAG_LIMIT_MS
    warnings = []
    if busiest_cpu_pct > SATURATED_CPU_PCT:
        warnings.append(f"{busiest} used {busiest_cpu_pct:.0f}% of a core: the figures measure "
                        f"the load tool, not the host{advice}")
    if lag > SEND_LAG_LIMIT_MS:
        warnings.append(f"the tool sent moves up to {lag:.0f} ms late (p99): it did "
                        f"not get enough CPU, so the latencies include its own backlog")
    if machine_cpu_pct is not None and machine_cpu_pct > MACHINE_BUSY_PCT:
        warnings.append(f"the machine was {machine_cpu_pct:.0f}% busy: the tool and the host "
                        f"competed for CPU")
    if joined < players:
        warnings.append(f"only {joined} of {players} players joined")
    if expected == 0:
        warnings.append("no expected deliveries were measured")
    return saturated, warnings


def held(r: dict | None, rate: float | None = None) -> bool:
    """Whether a run met the speed goal: p99 at most 100 ms, at least 99 %
    delivered, the host (every process of it) on at most one core, the load
    tool not out of CPU, and, given ``rate``, snapshots still at that rate at
    the end (a host that slowed its tick because it was overloaded did not
    hold the load at ``rate``)."""
    if not r or "error" in r or r.get("saturated"):
        return False
    per_proc = r.get("host_cpu_max_proc_pct") or r.get("host_cpu_pct") or 1e9
    tick_rate = r.get("host_tick_rate")
    return ((r.get("p99_ms") or 1e9) <= 100 and (r.get("delivered_pct") or 0) >= 99
            and per_proc <= 100 and (rate is None or tick_rate is None or tick_rate >= rate))


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def build_report(args: argparse.Namespace, stats_list: list[dict], holder: dict) -> dict:
    """The report line from every process's figures (``MeasuringSwarm.tally``
    plus cpu_pct, snapshots and bytes) and the host's (``host.measure_host``)."""
    latencies = sorted(v for s in stats_list for v in s["latencies"])
    expected = sum(s["expected"] for s in stats_list)
    delivered = sum(s["delivered"] for s in stats_list)
    joined = sum(s["joined"] for s in stats_list)
    cpus = [s["cpu_pct"] for s in stats_list]
    tick = holder.get("stats") or {}
    round_ = lambda v, n=1: None if v is None else round(v, n)  # noqa: E731
    # p99 of how late sends left against their schedule, over all processes
    # (each process passes on its slowest 1%).
    lags = sorted(v for s in stats_list for v in s["send_lag"])
    sends = sum(s["sends"] for s in stats_list)
    send_lag_p99 = lags[-min(len(lags), max(1, sends // 100))] * 1000.0 if lags else None
    saturated, warnings = judge_run(
        busiest_cpu_pct=max(cpus), send_lag_p99_ms=send_lag_p99,
        machine_cpu_pct=holder.get("machine_cpu_pct"), joined=joined, players=args.players,
        expected=expected, busiest="a load process", advice="; use more --procs")
    return {
        "players": args.players, "rate": args.rate, "mode": args.mode,
        "seconds": args.seconds, "procs": len(stats_list), "joined": joined,
        "p50_ms": round_(percentile(latencies, 0.50)),
        "p99_ms": round_(percentile(latencies, 0.99)),
        "max_ms": round_(latencies[-1] if latencies else None),
        "delivered_pct": round_(100.0 * delivered / expected if expected else None, 2),
        "deadline_ms": args.deadline_ms, "pairs": expected,
        "snapshots_per_s": round_(sum(s["snapshots"] for s in stats_list) / max(1, joined)),
        "bytes_per_s": round_(sum(s["bytes"] for s in stats_list) / max(1, joined), 0),
        "bytes_per_mover": round_(_ratio(sum(s.get("observer_bytes", 0) for s in stats_list),
                                         sum(s.get("observer_entries", 0) for s in stats_list)),
                                  2),
        "unreadable": sum(s.get("unreadable", 0) for s in stats_list),
        "tool_cpu_pct": round_(sum(cpus)), "tool_cpu_max_proc_pct": round_(max(cpus)),
        "host_cpu_pct": round_(holder.get("host_cpu_pct")),
        "machine_cpu_pct": round_(holder.get("machine_cpu_pct")),
        "host_tick_lateness_p99_ms": tick.get("lateness_p99_ms"),
        "host_tick_lateness_last_5s_max_ms": tick.get("lateness_last_5s_max_ms"),
        "send_lag_p99_ms": round_(send_lag_p99),
        "corrections": merge_counts(s["corrections"] for s in stats_list),
        "errors": sum(s["errors"] for s in stats_list),
        "disconnects": sum(s["disconnects"] for s in stats_list),
        "saturated": saturated,
        "warning": "; ".join(warnings) or None,
    }
