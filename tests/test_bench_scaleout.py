"""The cluster section of the benchmark: what counts as held, and its table."""
from __future__ import annotations

from bench import scaleout


def run(**fields):
    base = {"kind": "crowd", "players": 300, "processes": 2, "p50_ms": 30.0, "p99_ms": 80.0,
            "delivered_pct": 99.5, "host_cpu_pct": 150.0, "host_cpu_max_proc_pct": 80.0,
            "host_cpu_per_proc": [80.0, 70.0], "saturated": False}
    return {**base, **fields}


def test_a_run_holds_only_within_every_goal():
    assert scaleout.held(run())
    assert not scaleout.held(run(p99_ms=101.0))
    assert not scaleout.held(run(delivered_pct=98.9))
    assert not scaleout.held(run(host_cpu_max_proc_pct=101.0))  # one process past a core
    assert not scaleout.held(run(saturated=True))
    assert not scaleout.held({"players": 300, "error": "no host"})
    # One process: its own CPU is what counts.
    assert not scaleout.held(run(processes=1, host_cpu_max_proc_pct=None, host_cpu_pct=120.0))
    # A host that slowed its snapshots to half the rate asked did not hold that rate.
    assert scaleout.held(run(host_tick_rate=20.0), 20.0)
    assert not scaleout.held(run(host_tick_rate=10.0), 20.0)


def test_the_table_names_every_run_and_the_counts_held():
    result = {"rate": 20.0, "seconds": 10.0, "crowd_held_1": 300, "crowd_held_2": None,
              "spread_held_1": None, "spread_held_2": None,
              "runs": [run(processes=1, host_cpu_per_proc=None),
                       run(across_pairs=10, across_p50_ms=40.0, across_p99_ms=90.0,
                           redis_published_per_s=1200.0, redis_in_per_s=5e5,
                           redis_out_per_s=6e5),
                       {"kind": "spread", "players": 500, "processes": 2, "error": "boom"}]}
    text = "\n".join(scaleout.markdown(result))
    assert "| crowd | 300 | – |" in text
    assert "| crowd 300 | 2 | 30.0 | 80.0 | 99.5 % | 40.0 / 90.0 | 150.0 % (80.0 % + 70.0 %) | – " \
           "| 1,200.0 |" in text
    assert "| spread 500 | 2 | failed: boom" in text
