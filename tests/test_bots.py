"""The load tool: a handful of bots join a real host, walk, and report.

No timing is asserted here; the benchmark (bench/run.py) measures speed.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench import load
from game import bots
from game.core import protocol as P
from game.client.host_process import ROOT

REPORT_FIELDS = {
    "players", "rate", "mode", "seconds", "procs", "joined", "p50_ms", "p99_ms", "max_ms",
    "delivered_pct", "deadline_ms", "pairs", "snapshots_per_s", "bytes_per_s", "tool_cpu_pct",
    "tool_cpu_max_proc_pct", "host_cpu_pct", "machine_cpu_pct", "host_tick_lateness_p99_ms",
    "send_lag_p99_ms", "host_tick_lateness_last_5s_max_ms", "corrections", "errors", "disconnects", "saturated", "warning",
}


def run_bots(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "game.bots", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_help_explains_every_flag():
    result = run_bots("--help")
    assert result.returncode == 0
    for flag in ("--server", "--players", "--rate", "--seconds", "--spread", "--crowd",
                 "--report", "--procs", "--observers", "--deadline-ms", "--warmup",
                 "--prefix", "--first", "--map", "--seed", "--log-level"):
        assert flag in result.stdout
    assert "default" in result.stdout
    assert "delivered_pct" in result.stdout  # the report's fields are explained


def test_report_is_one_json_line_with_the_promised_fields(host):
    result = run_bots("--server", host.url, "--players", "4", "--rate", "10",
                      "--seconds", "2", "--warmup", "1", "--crowd", "--report",
                      "--prefix", "crowdbot")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert REPORT_FIELDS <= set(report)
    assert report["players"] == 4 and report["joined"] == 4 and report["mode"] == "crowd"
    # The bots saw each other walk: moves were expected and delivered.
    assert report["pairs"] > 0
    assert report["delivered_pct"] > 0
    assert report["p50_ms"] is not None and report["p50_ms"] <= report["p99_ms"]
    assert report["snapshots_per_s"] > 0 and report["bytes_per_s"] > 0
    # The host runs on this machine, so the tool found it and measured it.
    assert report["host_cpu_pct"] is not None
    # Walking respects walls and speed: the host refused nothing.
    assert report["corrections"] == {}
    assert report["errors"] == 0


@pytest.mark.slow
def test_accounts_are_reused_and_processes_can_share_the_work(host):
    # Two runs with the same prefix: the second logs the same accounts in.
    for _ in range(2):
        result = run_bots("--server", host.url, "--players", "4", "--procs", "2",
                          "--seconds", "1", "--warmup", "0.5", "--spread", "--report",
                          "--prefix", "spreadbot")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["procs"] == 2 and report["joined"] == 4 and report["mode"] == "spread"


def test_refuses_a_host_that_is_not_there():
    from .support import free_port

    result = run_bots("--server", f"http://127.0.0.1:{free_port()}", "--players", "1",
                      "--seconds", "1", "--report", timeout=30)
    assert result.returncode == 2
    assert "no Pixel Commons host" in result.stderr


def test_crowd_targets_stay_around_the_spawn():
    from game.core import rules

    world = rules.load_world()
    sx, sy = world.spawn
    crowd = bots.targets_for(world, "crowd")
    assert crowd and all(abs(x - sx) <= bots.CROWD_HALF_W and abs(y - sy) <= bots.CROWD_HALF_H
                         for x, y in crowd)
    assert all(world.box_free(x, y) for x, y in crowd)
    assert len(bots.targets_for(world, "spread")) > len(crowd)


def test_the_naive_benchmark_host_sends_every_move_to_everyone_at_once(tmp_path):
    """The comparison design must really be the naive one: a move comes back
    to everyone at once as a one-player snapshot with tick 0, not in a tick."""
    from bench.run import NaiveHost
    from game.client.net import HostClient

    from .conftest import PASSWORD, unique_name

    with NaiveHost(tmp_path / "naive.db") as naive:
        clients = []
        try:
            for _ in range(2):
                client = HostClient(naive.url, reconnect=False)
                clients.append(client)
                client.login_or_register(unique_name("naive"), PASSWORD)
                client.connect()
                client.welcome = client.wait_for(P.WELCOME).data
            watcher, mover = clients
            x, y = mover.welcome["you"]["x"], mover.welcome["you"]["y"]
            mover.send_move(x, y + 4.0)
            seen = watcher.wait_for(P.SNAPSHOT, 5.0,
                                    match=lambda d: d["p"][0] == mover.session.user_id)
            assert seen.data["tick"] == 0
            assert seen.data["p"] == [mover.session.user_id, x, y + 4.0]
        finally:
            for client in clients:
                client.close()


def test_a_run_is_judged_invalid_when_the_tool_measured_itself():
    fine = dict(busiest_cpu_pct=40.0, send_lag_p99_ms=3.0, machine_cpu_pct=60.0, joined=10,
                players=10, expected=100, busiest="a load process")
    assert load.judge_run(**fine) == (False, [])
    saturated, warnings = load.judge_run(**{**fine, "busiest_cpu_pct": 95.0},
                                         advice="; use more --procs")
    assert saturated and warnings == ["a load process used 95% of a core: the figures measure "
                                      "the load tool, not the host; use more --procs"]
    saturated, warnings = load.judge_run(**{**fine, "send_lag_p99_ms": 80.0})
    assert saturated and "80 ms late" in warnings[0]
    saturated, warnings = load.judge_run(**{**fine, "machine_cpu_pct": 99.0, "joined": 7,
                                            "expected": 0})
    assert not saturated and len(warnings) == 3
