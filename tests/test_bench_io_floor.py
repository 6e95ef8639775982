"""The floor benchmark (bench/io_floor.py): its frame cutting, and its own
command against its own players process on localhost."""
from __future__ import annotations

import json
import subprocess
import sys

from bench import io_floor
from game.client.host_process import ROOT


def test_frames_are_cut_unmasked_and_decoded_across_reads():
    texts = ["42[\"move\",{\"x\":1}]", "é" * 70, "x" * 200]  # 7-bit and 16-bit lengths
    stream = b"".join(io_floor.masked_frame(t) for t in texts)
    for cut in range(1, len(stream)):
        first, left = io_floor.take_frames(stream[:cut])
        second, rest = io_floor.take_frames(left + stream[cut:])
        assert first + second == texts
        assert rest == b""


def test_python_m_bench_io_floor_reports_the_packets_it_moved():
    result = subprocess.run([sys.executable, "-m", "bench.io_floor", "--players", "20",
                             "--rate", "20", "--seconds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # 20 players, 20 ticks and 20 moves each a second: 400 of each.
    assert 300 <= report["sends_per_s"] <= 440
    assert 300 <= report["moves_per_s"] <= 440
    assert report["short_sends"] == 0
    assert report["cpu_pct"] > 0
    assert report["players_side"]["moves_sent_per_s"] > 0
    lines = io_floor.markdown({"runs": [report]})
    assert any(line.startswith("| 20 | 20.0 |") for line in lines)
