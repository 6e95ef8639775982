"""The load tool in bench/load: its own command, and the borders of its packages.

The demo players (game/bots) and the measuring tool (bench/load) meet only
through public names; every library internal the tool needs sits in
bench/load/transport.py.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from game.client.host_process import ROOT

# Attributes of python-socketio, python-engineio and eventlet that only
# bench/load/transport.py may touch.
INTERNALS = ("_receive_packet", "uses_binary_events", "websocket_extra_options")


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_python_m_bench_load_measures_a_host(host):
    result = subprocess.run([sys.executable, "-m", "bench.load", "--server", host.url,
                             "--players", "3", "--rate", "10", "--seconds", "1.5",
                             "--warmup", "0.5", "--report", "--prefix", "loadbot"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["joined"] == 3 and report["procs"] == 1
    assert report["pairs"] > 0 and report["delivered_pct"] > 0


def test_the_help_of_bench_load_names_itself_and_the_report_fields():
    result = subprocess.run([sys.executable, "-m", "bench.load", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m bench.load")
    assert "delivered_pct" in result.stdout


def test_no_module_uses_a_private_name_of_another():
    """``from x import _name`` and ``module._name`` across modules are refused
    in bench/ and game/bots/ (transport.py reaches into the libraries on purpose)."""
    found = []
    for path in sources("bench", "game/bots"):
        if path.name == "transport.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.asname or alias.name.split(".")[0]
                   for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found += [f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}"
                          for a in node.names if a.name.startswith("_")]
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                  and not node.attr.startswith("__")
                  and isinstance(node.value, ast.Name) and node.value.id in modules):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} uses "
                             f"{node.value.id}.{node.attr}")
    assert not found, "\n".join(found)


def test_library_internals_stay_in_the_transport_module():
    found = [f"{path.relative_to(ROOT)} touches {name}"
             for path in sources("bench", "game/bots") if path.name != "transport.py"
             for name in INTERNALS if name in path.read_text(encoding="utf-8")]
    assert not found, "\n".join(found)


def test_the_demo_players_load_without_the_bench_folder():
    """game/bots imports bench/ only inside functions, for --report and --procs."""
    found = []
    for path in sources("game/bots"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("bench")
                                                      for a in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "\n".join(found)


def test_planned_starts_are_where_the_host_places_players_joining_in_order(tmp_path):
    """The Node generator's paths start where bench.node_load plans them: the
    host's placement of players joining one after another."""
    from bench.node_load import start_positions
    from game.client.host_process import HostProcess
    from game.client.net import HostClient
    from game.core import rules

    with HostProcess(tmp_path / "world.db") as host:
        clients, seen = [], []
        try:
            for i in range(6):
                client = HostClient(host.url, reconnect=False)
                client.login_or_register(f"plan{i}", "correct-horse")
                client.connect()
                you = client.wait_for("welcome").data["you"]
                seen.append((you["x"], you["y"]))
                clients.append(client)
        finally:
            for client in clients:
                client.close()
    assert len(set(seen)) == 6  # moved aside, not on top of each other
    assert seen == start_positions(rules.load_world(), [None] * 6)


def test_observers_read_every_delta_of_players_who_joined_after_them(host):
    """The observers are drawn before anyone joins and read every snapshot
    from then on: a player that joins later appears whole in a snapshot
    once, then only as deltas (until a keyframe every 5 s), and an observer
    that skipped that snapshot could not read the deltas and counted the
    moves as late.  Players join one after another here and walk for 1.5 s."""
    result = subprocess.run([sys.executable, "-m", "bench.load", "--server", host.url,
                             "--players", "8", "--rate", "20", "--seconds", "1.5",
                             "--warmup", "0.5", "--observers", "8", "--report",
                             "--prefix", "watchbot"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["joined"] == 8 and report["pairs"] > 0
    assert report["unreadable"] == 0
