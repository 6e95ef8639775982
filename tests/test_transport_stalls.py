"""A host that stood still longer than Engine.IO's read timeout keeps its
websocket clients.

The timer of a waiting read is due the moment the host runs again, and when
the host stood still inside a packet handler (eventlet runs those from its
socket dispatch) eventlet fires due timers before it looks at the sockets
again: the read timed out although the client's packet was waiting, and
every player of a thawed host was dropped at once (about one run in four of
test_faults_wire.py::test_a_frozen_host_judges_its_backlog_by_what_clients_sent).
"""
from __future__ import annotations

import time
import warnings

from server.ratelimit import StallClock
from server.transport.patches import recv_through_stalls

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
    from eventlet.green import socket as green_socket

READ_TIMEOUT_S = 0.3
STALL_S = 0.6
TICK_S = 0.05


def ticking(stalls: StallClock):
    """What the host's tick does for the stall clock."""
    def tick() -> None:
        while True:
            stalls.alive(time.monotonic())
            eventlet.sleep(TICK_S)
    return eventlet.spawn(tick)


def read(recv, got: list) -> None:
    try:
        got.append(recv(16))
    except TimeoutError:
        got.append("timed out")


def read_across_a_stall(wrap) -> object:
    """Start a read with a timeout on a green socket; then a handler, run from
    the loop's socket dispatch, stands the whole loop still for longer than
    that timeout while the peer sends.  Returns what the read got."""
    ours, theirs = green_socket.socketpair()
    trigger_in, trigger_out = green_socket.socketpair()
    ours.settimeout(READ_TIMEOUT_S)
    stalls = StallClock(threshold_s=0.2)
    got: list[object] = []

    def stalling_handler() -> None:
        trigger_in.recv(1)
        theirs.sendall(b"pong")  # the client answers while the host is frozen
        time.sleep(STALL_S)  # not a green sleep: nothing of the host runs

    tick = ticking(stalls)
    try:
        reader = eventlet.spawn(read, wrap(ours.recv, stalls), got)
        eventlet.spawn(stalling_handler)
        eventlet.sleep(TICK_S)  # the reader waits, its timeout timer set
        trigger_out.sendall(b"x")
        reader.wait()
    finally:
        tick.kill()
        for sock in (ours, theirs, trigger_in, trigger_out):
            sock.close()
    return got[0]


def test_without_the_stall_rule_the_read_times_out_with_its_data_waiting():
    assert read_across_a_stall(lambda recv, stalls: recv) == "timed out"


def test_a_read_waits_through_a_stall_of_the_host():
    assert read_across_a_stall(recv_through_stalls) == b"pong"


def test_a_read_that_times_out_with_the_host_running_still_times_out():
    ours, theirs = green_socket.socketpair()
    ours.settimeout(READ_TIMEOUT_S)
    stalls = StallClock(threshold_s=0.2)
    tick = ticking(stalls)
    got: list[object] = []
    started = time.monotonic()
    try:
        eventlet.spawn(read, recv_through_stalls(ours.recv, stalls), got).wait()
    finally:
        tick.kill()
        ours.close()
        theirs.close()
    assert got == ["timed out"]
    assert time.monotonic() - started < READ_TIMEOUT_S + 1.0
