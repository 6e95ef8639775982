"""Faults at the host's edges: a port another host holds, a host frozen and
thawed, requests dropped by the packet limit, and the host stopping with
players in the world.  Real host processes, both async modes.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from game.core import protocol as P
from game.client.host_process import ROOT, HostProcess

from .conftest import ASYNC_MODES
from .helpers_wire import (RawClient, Swarm, Walker, read_db, register_many,
                                  snapshot_positions)


@pytest.fixture(params=ASYNC_MODES)
def fresh_host(request, tmp_path):
    """A host of its own (the tests stop or freeze it), under each async mode."""
    host = HostProcess(tmp_path / "world.db", async_mode=request.param,
                       log_level="INFO").start()
    yield host
    if host.proc is not None and host.proc.poll() is None:
        os.kill(host.proc.pid, signal.SIGCONT)
    host.stop()


def stats(host: HostProcess) -> dict:
    return requests.get(host.url + P.HTTP_STATS, timeout=5).json()


# -- 3. two hosts on one port -------------------------------------------------------------
@pytest.mark.parametrize("second_mode", ASYNC_MODES)
def test_a_second_host_on_a_taken_port_refuses_to_start_in_one_line(fresh_host, tmp_path,
                                                                     second_mode):
    second = subprocess.run(
        [sys.executable, str(ROOT / "host.py"), "--port", str(fresh_host.port),
         "--db", str(tmp_path / "second.db"), "--async-mode", second_mode,
         "--log-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    lines = [line for line in (second.stdout + second.stderr).splitlines() if line.strip()]
    print(f"\nsecond host ({second_mode}) beside a {fresh_host.async_mode} one: "
          f"exit {second.returncode}: {lines}")
    assert second.returncode == 1
    assert len(lines) == 1 and str(fresh_host.port) in lines[0]
    assert not (tmp_path / "second.db").exists(), "the refused host touched its database"
    # Every request still reaches the first host.
    for _ in range(10):
        assert requests.get(fresh_host.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True


def test_a_host_restarts_at_once_on_the_port_it_just_left(fresh_host):
    session = register_many(fresh_host.url, ["again_ada"])[0]
    player = RawClient(fresh_host.url)
    player.join(session)
    assert fresh_host.stop() == 0  # the host closes the connection: its side waits (TIME_WAIT)
    player.close()
    again = HostProcess(fresh_host.db_path, async_mode=fresh_host.async_mode,
                        port=fresh_host.port).start()
    try:
        assert requests.get(again.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True
    finally:
        again.stop()


# -- 4 and 6. a frozen host ------------------------------------------------------------------
PLAYERS = 4
MOVE_HZ = 20.0
STALL_S = 3.0


@pytest.fixture(params=ASYNC_MODES)
def quick_ping_host(request, tmp_path):
    """A host of its own whose clients must answer a ping within 2 s."""
    host = HostProcess(tmp_path / "world.db", async_mode=request.param, log_level="INFO",
                       extra_args=("--ping-interval", "1", "--ping-timeout", "2")).start()
    yield host
    if host.proc is not None and host.proc.poll() is None:
        os.kill(host.proc.pid, signal.SIGCONT)
    host.stop()


def test_a_frozen_host_judges_its_backlog_by_what_clients_sent(quick_ping_host):
    """Frozen for longer than the ping timeout: the clients' pongs and moves
    and messages wait in the host's socket buffers meanwhile."""
    fresh_host = quick_ping_host
    names = [f"frz_{fresh_host.async_mode[:3]}_{i}" for i in range(PLAYERS)]
    sessions = register_many(fresh_host.url, names)
    clients = [RawClient(fresh_host.url) for _ in names]
    walkers = []
    for i, (client, session) in enumerate(zip(clients, sessions)):
        you = client.join(session)["you"]
        walkers.append(Walker((you["x"], you["y"]), i))
    dm_acks: list[tuple[RawClient, int, str]] = []
    with Swarm(clients):
        started = time.monotonic()
        stopped_at = resumed_at = None
        step = 0
        while time.monotonic() - started < 2.0 + STALL_S + 2.0:
            now = time.monotonic() - started
            if stopped_at is None and now >= 2.0:
                os.kill(fresh_host.proc.pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
            if resumed_at is None and now >= 2.0 + STALL_S:
                os.kill(fresh_host.proc.pid, signal.SIGCONT)
                resumed_at = time.monotonic()
            for client, walker in zip(clients, walkers):
                client.emit(P.MOVE, walker.step(1.0 / MOVE_HZ))
            if step % 10 == 0:  # a message every half second, frozen host or not
                sender = clients[step % PLAYERS]
                text = f"sent at {now:.2f}"
                dm_acks.append((sender, sender.emit(
                    P.DM_SEND, {"to": names[(step + 1) % PLAYERS], "text": text}, ack=True), text))
            step += 1
            time.sleep(max(0.0, started + step / MOVE_HZ - time.monotonic()))
        deadline = time.monotonic() + 10
        while not all(ack in sender.acks for sender, ack, _ in dm_acks):
            assert time.monotonic() < deadline, "a message sent to the frozen host got no answer"
            time.sleep(0.05)
        time.sleep(0.5)  # the last snapshots
        still_connected = not any(c.closed for c in clients)
    errors = [e for c in clients for e in c.named(P.ERROR)]
    corrections = [e for c in clients for e in c.named(P.CORRECTION)]
    replies = [sender.acks[ack] for sender, ack, _ in dm_acks]
    after = stats(fresh_host)
    print(f"\nfrozen {STALL_S:g} s ({fresh_host.async_mode}): {len(replies)} messages, "
          f"{sum(r['ok'] for r in replies)} accepted; {len(errors)} errors, "
          f"{len(corrections)} corrections; worst tick {after.get('lateness_worst_ms')} ms, "
          f"{after.get('ticks_skipped')} ticks skipped")
    assert not errors, errors[:3]
    assert not corrections, corrections[:3]
    assert all(r["ok"] for r in replies), [r for r in replies if not r["ok"]][:3]
    assert still_connected
    stored = {text for (text,) in read_db(fresh_host.db_path, "SELECT text FROM messages")}
    assert stored == {text for _, _, text in dm_acks}
    # Every player stands where its last move took it.
    seen = snapshot_positions(clients)
    for walker, session in zip(walkers, sessions):
        assert seen[session["user"]["id"]][-1][1:] == (walker.x, walker.y)
    # 6: the stall shows in the tick statistics.
    assert after["lateness_worst_ms"] >= (STALL_S - 0.5) * 1000.0
    assert after["ticks_skipped"] >= (STALL_S - 0.5) * 20
    histogram = after["lateness_histogram_ms"]
    assert histogram["<=5000"] + histogram[">5000"] >= 1  # the frozen one
    assert sum(after["lateness_histogram_ms"].values()) == after["ticks"]
    for client in clients:
        client.close()


# -- 5. requests dropped by the packet limit ----------------------------------------------------
def test_every_request_dropped_by_the_packet_limit_is_answered(fresh_host):
    session = register_many(fresh_host.url, [f"burst_{fresh_host.async_mode[:3]}"])[0]
    client = RawClient(fresh_host.url)
    client.join(session)
    burst = P.PACKETS_PER_SECOND + 50
    acks = [client.emit(P.PING, {"t": i}, ack=True) for i in range(burst)]
    deadline = time.monotonic() + 10
    while not all(a in client.acks for a in acks):
        assert time.monotonic() < deadline, \
            f"{sum(a not in client.acks for a in acks)} of {burst} requests got no answer"
        client.pump(0.5)
    replies = [client.acks[a] for a in acks]
    refused = [r for r in replies if not r.get("ok")]
    print(f"\nburst of {burst} pings ({fresh_host.async_mode}): {len(replies) - len(refused)} "
          f"answered, {len(refused)} refused")
    assert len(refused) >= burst - P.PACKETS_PER_SECOND
    assert all(r["error"] == P.E_RATE_LIMITED for r in refused)
    client.close()


# -- 10. goodbye -------------------------------------------------------------------------------
def test_stopping_the_host_says_goodbye_to_everyone_and_counts_the_saved(fresh_host):
    names = [f"bye_{fresh_host.async_mode[:3]}_{i}" for i in range(5)]
    sessions = register_many(fresh_host.url, names)
    clients = [RawClient(fresh_host.url) for _ in names]
    for client, session in zip(clients, sessions):
        client.join(session)
    lurker = RawClient(fresh_host.url)  # connected, not yet in the world
    lurker.connect(register_many(fresh_host.url, [f"lurk_{fresh_host.async_mode[:3]}"])[0]["token"])
    with Swarm(clients + [lurker]):
        assert fresh_host.stop() == 0
        deadline = time.monotonic() + 5
        while not all(c.closed for c in clients + [lurker]):
            assert time.monotonic() < deadline, "the host left connections open"
            time.sleep(0.05)
    for client in clients + [lurker]:
        assert client.named(P.SESSION_ENDED) == [
            {"reason": P.END_HOST_SHUTDOWN, "message": "the host was stopped"}]
    assert "saved 5 players; host stopped" in fresh_host.log()


# -- the stall arithmetic, without a host ---------------------------------------------------------
def test_packets_read_after_a_stall_are_judged_at_their_senders_pace():
    from server.limits import CATCH_UP_MIN_RATE, Pace, SlidingWindow, StallClock

    t = 1000.0
    clock, pace, moves = StallClock(now=t), Pace(), SlidingWindow(P.MOVES_PER_SECOND, 1.0)
    clock.alive(t)
    for _ in range(20):  # a second of moves at 20 a second
        t += 0.05
        clock.alive(t)
        assert moves.allow(pace.judge(t, clock, len(moves._times)))
    froze = t
    t += 10.0  # frozen for 10 s; 200 moves wait in the socket
    clock.alive(t)
    assert clock.last_stall == (froze, t) and clock.stalls == 1
    judged = []
    for _ in range(200):  # all read within 20 ms
        t += 0.0001
        judged.append(pace.judge(t, clock, len(moves._times)))
        assert moves.allow(judged[-1])
    gaps = {round(b - a, 6) for a, b in zip(judged, judged[1:])}
    assert gaps == {0.05} and judged[0] > froze and judged[-1] <= t
    # Once the stall is caught up with, packets are judged when read again.
    for _ in range(200):  # 10 s of ticks
        t += 0.05
        clock.alive(t)
    assert pace.judge(t, clock, 0) == t
    # A connection that had been quiet is paced at the minimum rate.
    quiet = Pace()
    assert quiet.judge(t, clock, 0) == t
    clock.alive(t + 5.0)  # another stall of 5 s
    first = quiet.judge(t + 5.0, clock, 0)
    assert quiet.judge(t + 5.0, clock, 0) - first == pytest.approx(1.0 / CATCH_UP_MIN_RATE)


def test_a_busy_host_is_not_taken_for_a_stalled_one():
    from server.limits import Pace, StallClock

    t = 50.0
    clock, pace = StallClock(now=t), Pace()
    for _ in range(100):  # alive every 0.3 s (a slow tick), packets in between
        t += 0.3
        clock.alive(t)
        assert pace.judge(t + 0.01, clock, 100) == t + 0.01
    assert clock.stalls == 0 and clock.last_stall is None
