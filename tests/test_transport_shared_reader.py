"""The shared reader: one green thread reads every idle WebSocket and hands
plain moves to their connection's handler; anything else wakes the
connection's own reader, which takes it exactly as before.

These tests drive ``SharedReader`` over real socket pairs under eventlet's
loop; the host-level behaviour (order, limits, corrections, unusual frames)
is covered through real hosts by ``test_transport_read.py`` and the rest of
the suite, whose eventlet hosts read every connection this way.
"""
from __future__ import annotations

import time
import warnings

import pytest

from server.ratelimit import StallClock
from server.transport.reader import BufferedRecv, Parked, SharedReader

from .test_transport_read import frame
from .test_transport_stalls import ticking

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import eventlet
    from eventlet.green import socket as green_socket


def move(seq: int) -> str:
    return f'42["move",{{"seq":{seq},"x":1,"y":2}}]'


class Connection:
    """One end of a socket pair parked with a shared reader, as a host's
    connection would be; ``delivered`` is what reached its handler."""

    def __init__(self, shared: SharedReader, refuse: bool = False):
        self.ours, self.theirs = green_socket.socketpair()
        self.recv = BufferedRecv(self.ours.recv)
        self.delivered: list[str] = []
        self.refuse = refuse
        self.parked = Parked(self.ours.fd, self.recv, 1 << 16, self._deliver)
        self.shared = shared

    def _deliver(self, text: str) -> bool:
        if self.refuse:
            return False
        self.delivered.append(text)
        return True

    def park(self, timeout: float | None = 5.0) -> eventlet.greenthread.GreenThread:
        return eventlet.spawn(self.shared.park, self.parked, timeout)

    def close(self) -> None:
        for sock in (self.ours, self.theirs):
            sock.close()


@pytest.fixture
def shared():
    reader = SharedReader(StallClock(threshold_s=0.2))
    reader.set_hot_events({"move"})
    tick = ticking(reader.stalls)
    made: list[Connection] = []

    def connect(**kwargs) -> Connection:
        conn = Connection(reader, **kwargs)
        made.append(conn)
        return conn

    yield connect
    tick.kill()
    for conn in made:
        conn.close()


def wait_green(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        eventlet.sleep(0.005)


def test_moves_of_many_connections_reach_their_handlers_in_order_without_waking_them(shared):
    conns = [shared() for _ in range(20)]
    waiting = [conn.park() for conn in conns]
    eventlet.sleep(0.01)
    for round_ in range(5):
        for i, conn in enumerate(conns):
            conn.theirs.sendall(frame(move(round_ * 2)) + frame(move(round_ * 2 + 1)))
    wait_green(lambda: all(len(c.delivered) == 10 for c in conns))
    for conn in conns:
        assert conn.delivered == [move(seq) for seq in range(10)]
    assert not any(w.dead for w in waiting)  # nobody was woken for a move


def test_any_other_message_wakes_the_connection_with_it_and_keeps_the_rest(shared):
    conn = shared()
    waiting = conn.park()
    eventlet.sleep(0.01)
    dm = '42["dm_send",{"to":2,"text":"hi"}]'
    conn.theirs.sendall(frame(move(1)) + frame(dm) + frame(move(2)))
    assert waiting.wait() == ("text", dm)
    assert conn.delivered == [move(1)]
    # The move after it stays in the buffer for the connection's own reader.
    assert conn.recv.take_text_frame(1 << 16) == move(2)
    # Parked again, the connection is read by the shared reader again.
    waiting = conn.park()
    eventlet.sleep(0.01)
    conn.theirs.sendall(frame(move(3)))
    wait_green(lambda: conn.delivered == [move(1), move(3)])
    assert not waiting.dead


def test_a_pong_and_a_refused_move_go_to_the_connection(shared):
    conn = shared()
    waiting = conn.park()
    eventlet.sleep(0.01)
    conn.theirs.sendall(frame("3"))
    assert waiting.wait() == ("text", "3")
    refusing = shared(refuse=True)  # e.g. an upgrade still in progress
    waiting = refusing.park()
    eventlet.sleep(0.01)
    refusing.theirs.sendall(frame(move(1)))
    assert waiting.wait() == ("text", move(1))


def test_frames_it_does_not_read_whole_are_left_in_the_buffer(shared):
    conn = shared()
    waiting = conn.park()
    eventlet.sleep(0.01)
    ping = frame(b"hi", opcode=9)
    conn.theirs.sendall(frame(move(1)) + ping)
    assert waiting.wait() == ("text", None)
    assert conn.delivered == [move(1)]
    assert conn.recv.buf[conn.recv.pos:] == ping


def test_the_end_of_the_stream_wakes_the_connection(shared):
    conn = shared()
    waiting = conn.park()
    eventlet.sleep(0.01)
    conn.theirs.sendall(frame(move(1)))
    conn.theirs.shutdown(green_socket.SHUT_WR)
    assert waiting.wait() == ("end",)
    assert conn.delivered == [move(1)]


def test_a_silent_connection_times_out_while_a_talking_one_does_not(shared):
    quiet, talking = shared(), shared()
    quiet_wait = quiet.park(timeout=0.3)
    talking_wait = talking.park(timeout=0.3)
    started = time.monotonic()
    while time.monotonic() - started < 0.6:
        talking.theirs.sendall(frame(move(1)))
        eventlet.sleep(0.05)
    with pytest.raises(TimeoutError):
        quiet_wait.wait()
    assert not talking_wait.dead
    talking.theirs.sendall(frame("3"))
    assert talking_wait.wait() == ("text", "3")


def test_a_connection_waits_through_a_stall_of_the_host(shared):
    """The host stands still (inside a handler the loop ran from its socket
    dispatch, so due timers fire before sockets are looked at again) for
    longer than the read timeout while the client answers: the connection
    still gets the answer instead of timing out."""
    conn = shared()
    trigger_in, trigger_out = green_socket.socketpair()

    def stalling_handler() -> None:
        trigger_in.recv(1)
        conn.theirs.sendall(frame("3"))  # the client answers while the host is frozen
        time.sleep(0.5)  # not a green sleep: nothing of the host runs

    try:
        waiting = conn.park(timeout=0.3)
        eventlet.spawn(stalling_handler)
        eventlet.sleep(0.05)
        trigger_out.sendall(b"x")
        assert waiting.wait() == ("text", "3")
    finally:
        trigger_in.close()
        trigger_out.close()


def test_a_connection_that_stops_waiting_leaves_the_shared_set(shared):
    conn = shared()
    waiting = conn.park()
    eventlet.sleep(0.01)
    waiting.kill()
    assert conn.parked.fd not in conn.shared._parked
    conn.theirs.sendall(frame(move(1)))
    eventlet.sleep(0.05)
    assert conn.delivered == []
    assert conn.recv.buf == b""
