"""The speed benchmark's header (how fast the machine itself was over the run)
and its verdicts against the goals."""
from __future__ import annotations

from bench import run


def test_the_header_says_how_fast_the_machine_was(tmp_path):
    note = run.speed_note((80.0, 96.5), ((100, 10_000), (400, 16_000)))
    assert "took 80.0 ms at the start and 96.5 ms at the end" in note
    assert "took 5.0 % of the CPUs' time" in note  # 300 of 6,000 jiffies
    assert "steal" not in run.speed_note((80.0, 80.0), (None, (1, 2)))
    out = tmp_path / "benchmarks.md"
    args = run.parse_args(["--out", str(out)])
    run.write_markdown(out, args, "python -m bench.run", "today", ("0", "0"), {}, {}, [], [], 60.0,
                       speed_line=note)
    assert note in out.read_text().splitlines()


def test_the_loop_and_the_cpu_times_are_read_here():
    assert run.loop_ms() > 0
    steal, total = run.cpu_times()
    assert 0 <= steal <= total and total > 0


def test_a_run_slowed_by_overload_does_not_meet_a_goal_at_the_full_rate():
    args = run.parse_args(["--counts", "500", "--spread", "1000"])
    good = {"players": 500, "p99_ms": 80.0, "delivered_pct": 100.0, "host_cpu_pct": 70.0,
            "host_tick_rate": 20.0}
    slowed = {**good, "players": 1000, "host_tick_rate": 10.0}
    rows = run.goal_rows(args, {500: good}, [slowed], [])
    assert rows[0].startswith("| crowd: 500 players at 20 Hz") and rows[0].endswith("| yes |")
    assert rows[1].startswith("| spread: 1000 players") and rows[1].endswith("| **no** |")
    assert run.ceiling({500: good, 600: {**good, "players": 600, "host_tick_rate": 10.0}},
                       20.0) == 500


def test_every_run_says_how_fast_the_machine_was_just_before(tmp_path):
    out = tmp_path / "benchmarks.md"
    args = run.parse_args(["--out", str(out), "--counts", "10"])
    crowd = {"players": 10, "p99_ms": 50.0, "delivered_pct": 100.0, "host_cpu_pct": 8.0,
             "snapshots_per_s": 20.0, "loop_ms": 61.3}
    run.write_markdown(out, args, "python -m bench.run", "today", ("0", "0"), {}, {10: crowd}, [],
                       [], 60.0)
    row = next(line for line in out.read_text().splitlines() if line.startswith("| host | 10 |"))
    assert row.split(" | ")[7] == "61.3"


def test_an_overload_the_host_kept_up_with_shows_nothing():
    from bench import speed

    def row(overloaded: bool) -> str:
        runs = [{"too_fast": 0, "delivered_pct": 100.0, "host_overloaded": overloaded,
                 "host_tick_rate": 10.0 if overloaded else 20.0}]
        return speed.goal_rows({"overload": {"players": 600, "ceiling": 400, "runs": runs}})[0]

    assert row(True).endswith("| yes |")
    assert row(False).endswith("not an overload) | – |")
