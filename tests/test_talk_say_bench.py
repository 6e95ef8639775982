"""Talking bots and the load benchmark's talk variant.

The bots (``python -m game.bots --talk``) say lines aloud on a real host and
a player standing among them hears them; the Node generator's plan carries
the talk settings, and a short run of ``bench.node_load --talk`` on a real
host says and hears lines; ``bench.talk`` judges runs by the crowd goal and
writes its table between its markers.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from bench import node_load, talk
from game.client.host_process import ROOT
from game.core import protocol as P

from .conftest import wait_until


def test_bots_say_lines_aloud_to_players_near_them(host, make_player):
    listener = make_player()  # at the spawn, where the crowd walks
    prefix = "talkbot"
    bots = subprocess.Popen(
        [sys.executable, "-m", "game.bots", "--server", host.url, "--players", "4",
         "--crowd", "--talk", "0.5", "--talk-every", "1", "--seconds", "4", "--warmup", "0",
         "--prefix", prefix], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        heard: list[dict] = []

        def two_talkers() -> bool:
            heard.extend(e.data for e in listener.drain() if e.kind == P.SAID)
            return len({d["name"] for d in heard}) >= 2

        wait_until(two_talkers, timeout=30, interval=0.1)
        assert all(d["name"].startswith(prefix) and d["text"] for d in heard)
    finally:
        _, err = bots.communicate(timeout=60)
    assert bots.returncode == 0, err[-2000:]


def test_the_bots_explain_the_talk_flags():
    result = subprocess.run([sys.executable, "-m", "game.bots", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "--talk " in result.stdout and "--talk-every" in result.stdout
    refused = subprocess.run([sys.executable, "-m", "game.bots", "--talk", "1.5"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--talk" in refused.stderr


def test_the_node_plan_carries_the_talk_settings(tmp_path):
    plan = node_load.make_plan("http://127.0.0.1:1", 3, 20.0, 1.0, "crowd", "p",
                               tmp_path / "none.db", warmup=0.5, deadline_ms=500.0,
                               observers=2, seed=1, talk=0.1, talk_every=10.0)
    assert plan["talk"] == {"fraction": 0.1, "every_s": 10.0}
    quiet = node_load.make_plan("http://127.0.0.1:1", 3, 20.0, 1.0, "crowd", "p",
                                tmp_path / "none.db", warmup=0.5, deadline_ms=500.0,
                                observers=2, seed=1)
    assert quiet["talk"]["fraction"] == 0.0


@pytest.mark.skipif(not node_load.node_available() or
                    not (node_load.LOADGEN / "node_modules" / "socket.io-client").is_dir(),
                    reason="needs node and the generator's packages")
def test_the_node_generator_says_and_hears_lines(host):
    result = subprocess.run(
        [sys.executable, "-m", "bench.node_load", "--server", host.url, "--db",
         str(host.db_path), "--players", "10", "--seconds", "2", "--warmup", "0.5",
         "--talk", "0.5", "--talk-every", "1", "--prefix", "nodetalk"],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["talk"] == 0.5 and report["talkers"] == 5
    assert report["said_per_s"] == pytest.approx(5.0, rel=0.5)
    # Everyone stands in one crowd near the spawn: each line reaches several players.
    assert report["heard_per_s"] > 2 * report["said_per_s"]
    assert report["errors"] == 0 and report["joined"] == 10


def test_bench_talk_judges_by_the_crowd_goal_and_writes_between_its_markers(tmp_path):
    good = {"p50_ms": 30.0, "p99_ms": 60.0, "delivered_pct": 100.0, "host_cpu_pct": 50.0}
    slow = dict(good, p99_ms=140.0)
    assert talk.meets_goal(good) is True
    assert talk.meets_goal(slow) is False
    assert talk.meets_goal({"error": "x"}) is None
    args = argparse.Namespace(players=200, rate=20.0, talk=0.1, talk_every=10.0)
    results = {"without": good, "with": dict(slow, talk=0.1, said_per_s=2.0, heard_per_s=380.0)}
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nbefore\n", encoding="utf-8")
    talk.write_doc(doc, talk.markdown(args, results, "python -m bench.talk"))
    talk.write_doc(doc, talk.markdown(args, results, "python -m bench.talk"))  # replaced, not added
    text = doc.read_text(encoding="utf-8")
    assert text.count(talk.DOC_START) == 1 and text.startswith("# Benchmarks\n\nbefore\n")
    assert "| 10% talking | 30.0 | 140.0 | 100.0 % | 50.0 % | **no** |" in text
    assert "| walking only | 30.0 | 60.0 | 100.0 % | 50.0 % | yes |" in text
