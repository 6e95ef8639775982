"""The soak script (bench/soak.py) runs end to end, so it cannot rot.

The full run takes ten minutes plus the faults; here it churns for six
seconds without faults, against a real host, and its accounting of losses is
checked on its own.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import threading

import pytest

from bench import soak
from game.core import rules
from game.bots import Walker, targets_for
from game.client.host_process import ROOT


@pytest.mark.slow
def test_a_short_soak_without_faults_loses_nothing():
    result = subprocess.run([sys.executable, "-m", "bench.soak", "--minutes", "0.1",
                             "--players", "3", "--no-faults", "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["players"] == 3 and report["faults"] is False
    churn = report["phases"][0]
    assert churn["phase"] == "churn"
    assert churn["joins"] >= 3
    assert churn["dms_sent"] >= 1 and churn["dms_acked"] == churn["dms_sent"]
    assert churn["acked_lost"] == 0 and churn["no_answer"] == 0
    assert churn["visits_failed"] == 0 and churn["drops"] == 0
    assert churn["errors"] == {} and churn["refused"] == {}
    assert [p["phase"] for p in report["phases"]] in (["churn"], ["churn", "after"])
    growth = report["host_growth"]
    for key in ("rss_mb", "fds", "threads", "wal_kb"):
        assert len(growth[key]) == 3  # first, last, max
    assert report["sigterm"].startswith("stopped in")


def test_the_table_names_every_loss():
    result = subprocess.run([sys.executable, "-m", "bench.soak", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for flag in ("--minutes", "--players", "--no-faults", "--stall", "--disk-mb", "--json"):
        assert flag in result.stdout


def make_player(ledger: soak.Ledger) -> soak.Player:
    world = rules.load_world()
    walker = Walker(world, targets_for(world, "spread"), random.Random(1))
    return soak.Player(0, "http://127.0.0.1:1", ["a", "b"], walker, ledger,
                       threading.Event(), 10.0, 1)


def test_positions_lost_are_the_seconds_walked_after_the_saved_one():
    ledger = soak.Ledger()
    player = make_player(ledger)
    for i in range(10):  # walked east 1 px every 0.1 s
        player.sent.append((100.0 + i / 10, 50.0 + i, 60.0))
    player.left_in = ledger.begin("kill -9")
    player.check_rejoin(53.0, 60.0)  # the host had saved the position of t = 100.3
    phase = ledger.phases[-1]
    assert phase.rejoins_checked == 1
    assert abs(phase.positions_lost_s[0] - 0.6) < 1e-9
    player.check_rejoin(500.0, 500.0)  # a spot the player never sent
    assert phase.rejoins_unmatched == 1


def test_growth_compares_the_first_and_last_sample_of_one_host_process():
    samples = [{"t": t, "pid": 7 if t < 5 else 8, "rss_mb": 50.0 + t, "fds": 10, "threads": 4,
                "wal_kb": 100.0 * t, "db_kb": 4.0} for t in range(8)]
    g = soak.growth(samples, 1, 4)
    assert g["seconds"] == 3
    assert g["rss_mb"] == [51.0, 54.0, 54.0]
    assert g["wal_kb"] == [100.0, 400.0, 400.0]
    assert soak.growth(samples, 6, 6) == {}


def test_the_doc_section_is_replaced_and_the_rest_of_the_file_kept(tmp_path):
    phase = soak.Phase("churn").summary()
    phase["acked_lost"] = 0
    result = {"phases": [phase], "sigterm": "stopped in 0.1 s (status 0)"}
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nthe speed tables\n")
    soak.write_doc(doc, result, ["--minutes", "1", "--doc", str(doc)], "then", 1.0, "a label")
    soak.write_doc(doc, result, ["--minutes", "2"], "later", 2.0)
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nthe speed tables\n")
    assert text.count(soak.DOC_START) == 1 and text.count(soak.DOC_END) == 1
    assert "`python -m bench.soak --minutes 2`" in text and "--minutes 1" not in text
    assert "| churn | 0 | 0 | 0 | 0 | 0 |" in text


@pytest.mark.slow
def test_ctrl_c_stops_the_soak_and_its_host(tmp_path):
    import signal
    import time

    import psutil

    from .conftest import wait_until

    err = tmp_path / "soak.err"
    with open(err, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "bench.soak", "--minutes", "1",
                                 "--players", "2"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=f)
    try:
        wait_until(lambda: "players churning" in err.read_text() or proc.poll() is not None, 60)
        hosts = [child for child in psutil.Process(proc.pid).children()
                 if "host.py" in " ".join(child.cmdline())]
        assert hosts
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        proc.wait(15)
        assert time.monotonic() - sent < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "stopped (Ctrl-C)" in err.read_text() and "Traceback" not in err.read_text()
    assert not any(h.is_running() and h.status() != psutil.STATUS_ZOMBIE for h in hosts)


def test_the_speed_benchmark_keeps_the_soak_section(tmp_path):
    from bench import run

    out = tmp_path / "benchmarks.md"
    out.write_text("# Old\n\n" + soak.DOC_START + "\nsoak figures\n" + soak.DOC_END + "\n")
    args = run.parse_args(["--out", str(out)])
    run.write_markdown(out, args, "python -m bench.run", "today", ("0", "0"), {}, {}, [], [], 60.0)
    text = out.read_text()
    assert text.startswith("# Benchmarks") and "# Old" not in text
    assert soak.DOC_START + "\nsoak figures\n" + soak.DOC_END in text
