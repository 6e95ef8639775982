"""A host that cannot keep up halves its tick rate, tells everyone (``pace``,
``/api/stats``, one log line) and goes back when the load is gone."""
from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from game.client.host_process import HostProcess
from game.client.net import HostClient, clock_ms
from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD

NORMAL_HZ = 20.0
STALL_S = 0.15  # each freeze makes the next few ticks late by up to this


@pytest.fixture(params=ASYNC_MODES)
def fresh_host(request, tmp_path):
    host = HostProcess(tmp_path / "world.db", async_mode=request.param).start()
    yield host
    if host.proc is not None and host.proc.poll() is None:
        os.kill(host.proc.pid, signal.SIGCONT)
    host.stop()


def stats(host: HostProcess) -> dict:
    return requests.get(host.url + P.HTTP_STATS, timeout=5).json()


def joined(host: HostProcess, name: str) -> HostClient:
    client = HostClient(host.url, reconnect=False)
    client.register(name, PASSWORD)
    client.connect()
    client.welcome = client.wait_for(P.WELCOME).data
    return client


def pace(client: HostClient, overloaded: bool, timeout: float, while_waiting=None) -> dict:
    """Wait for a ``pace`` event saying ``overloaded``, calling
    ``while_waiting()`` between looks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in client.drain():
            if event.kind == P.PACE and event.data["overloaded"] is overloaded:
                return event.data
        if while_waiting is not None:
            while_waiting()
        else:
            time.sleep(0.05)
    raise TimeoutError(f"no pace with overloaded={overloaded} within {timeout} s")


def test_an_overloaded_host_slows_down_says_so_and_recovers(fresh_host):
    alice = joined(fresh_host, "pace_alice")
    try:
        assert alice.welcome["tick_rate"] == NORMAL_HZ and alice.welcome["overloaded"] is False
        before = stats(fresh_host)
        assert before["overloaded"] is False and before["tick_rate"] == NORMAL_HZ
        assert before["tick_rate_normal"] == NORMAL_HZ

        def freeze_the_host_now_and_then() -> None:
            # The machine is too busy for the host: it stands still for
            # STALL_S every 2 * STALL_S.
            os.kill(fresh_host.proc.pid, signal.SIGSTOP)
            time.sleep(STALL_S)
            os.kill(fresh_host.proc.pid, signal.SIGCONT)
            time.sleep(STALL_S)

        slow = pace(alice, True, timeout=15.0, while_waiting=freeze_the_host_now_and_then)
        assert slow == {"tick_rate": NORMAL_HZ / 2, "overloaded": True}
        assert alice.tick_rate == NORMAL_HZ / 2 and alice.overloaded
        during = stats(fresh_host)
        assert during["overloaded"] is True and during["tick_rate"] == NORMAL_HZ / 2
        assert during["times_overloaded"] == 1
        # Someone joining now learns the rate from the welcome.
        bob = joined(fresh_host, "pace_bob")
        try:
            assert bob.welcome["tick_rate"] == NORMAL_HZ / 2 and bob.welcome["overloaded"]
            assert bob.tick_rate == NORMAL_HZ / 2
        finally:
            bob.close()

        back = pace(alice, False, timeout=45.0)  # the load is gone
        assert back == {"tick_rate": NORMAL_HZ, "overloaded": False}
        after = stats(fresh_host)
        log = fresh_host.log_since(fresh_host.log_start)
        # One line when it became overloaded and one when it recovered, not
        # one per tick.  (A busy test machine may overload it again by itself.)
        entered, left = after["times_overloaded"], after["times_overloaded"] - after["overloaded"]
        assert log.count("overloaded: falling behind") == entered, log
        assert log.count("no longer overloaded") == left, log
        if not after["overloaded"]:
            assert after["tick_rate"] == NORMAL_HZ and alice.tick_rate == NORMAL_HZ
    finally:
        alice.close()


def test_moves_read_late_make_the_host_overloaded(fresh_host):
    # A host short of CPU fires its ticks on time but reads moves late; here
    # the moves of a client say so (reached 200 ms before the host reads them,
    # against a first move read at once).
    alice = joined(fresh_host, "pace_late")
    try:
        you = alice.welcome["you"]
        alice.send_move(you["x"], you["y"], clock_ms())
        alice.wait_for(P.SNAPSHOT)  # read at once: the connection's usual gap

        def send_a_late_move() -> None:
            time.sleep(0.05)  # 20 moves a second
            alice.send_move(you["x"], you["y"], clock_ms() - 200)

        assert pace(alice, True, timeout=15.0, while_waiting=send_a_late_move) == {
            "tick_rate": NORMAL_HZ / 2, "overloaded": True}
        assert stats(fresh_host)["overloaded"] is True
    finally:
        alice.close()
