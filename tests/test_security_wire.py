"""Security on the wire: what an outside attacker sends below the game's events.

Polling requests that are too large or malformed, binary Socket.IO packets,
and requests sent one byte at a time, against real host processes in both
async modes.
"""
from __future__ import annotations

import json
import signal
import socket
import time

import pytest
import requests

from game.core import protocol as P
from game.client.host_process import HostProcess

from .conftest import ASYNC_MODES
from .helpers_wire import RawClient, read_db, register_many



@pytest.fixture(params=ASYNC_MODES)
def fresh_host(request, tmp_path):
    """A host of its own (the tests stop it), under each async mode."""
    host = HostProcess(tmp_path / "world.db", async_mode=request.param,
                       log_level="INFO").start()
    yield host
    host.stop()


# -- raw HTTP -------------------------------------------------------------------------
def open_polling_session(url: str) -> str:
    """An Engine.IO polling session's id (its open packet is consumed)."""
    reply = requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert reply.status_code == 200 and reply.text.startswith("0"), reply.text
    return json.loads(reply.text[1:])["sid"]


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, timeout: float) -> tuple[bytes, bool, float]:
    """(everything the host sent, whether it closed the connection, seconds
    until it closed or the timeout)."""
    started = time.monotonic()
    data = b""
    while True:
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            return data, False, time.monotonic() - started
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True, time.monotonic() - started
        if not chunk:
            return data, True, time.monotonic() - started
        data += chunk


def polling_post(port: int, sid: str, body: bytes, content_length: int | None = None,
                 send_all: bool = True) -> socket.socket:
    sock = connect(port)
    length = len(body) if content_length is None else content_length
    head = (f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Type: text/plain;charset=UTF-8\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()
    sock.sendall(head + (body if send_all else body[:200]))
    return sock


def long_poll(port: int, sid: str) -> socket.socket:
    sock = connect(port)
    sock.sendall((f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{port}\r\n\r\n").encode())
    return sock


# -- 3. a request that holds a socket -------------------------------------------------------
@pytest.mark.parametrize("with_long_poll", [False, True])
def test_an_oversized_polling_post_is_answered_400_at_once_and_closed(fresh_host,
                                                                       with_long_poll):
    sid = open_polling_session(fresh_host.url)
    getter = long_poll(fresh_host.port, sid) if with_long_poll else None
    if getter is not None:
        time.sleep(0.2)  # the long-poll is waiting in the host
    # 200 bytes sent, 65537 announced: one over the limit.
    sock = polling_post(fresh_host.port, sid, b"4" + b"x" * 199,
                        content_length=P.MAX_FRAME_BYTES + 1, send_all=False)
    answer, closed, took = read_answer(sock, 5.0)
    print(f"\noversized POST ({fresh_host.async_mode}, long-poll open: {with_long_poll}): "
          f"answered and closed in {took:.2f} s")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert closed and took < 2.0
    # The session is gone: the next request for it is refused at once too.
    reply = requests.get(fresh_host.url + f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                         timeout=5)
    assert reply.status_code == 400
    if getter is not None:
        read_answer(getter, 5.0)
        getter.close()
    sock.close()
    # The host still stops at once, saving and exiting.
    started = time.monotonic()
    assert fresh_host.stop(timeout=10) == 0
    assert time.monotonic() - started < 5.0
    assert "host stopped" in fresh_host.log()


@pytest.mark.parametrize("body", [b"9nonsense", b"\xff\xfe4hello", b"4\x1e"],
                         ids=["unknown packet", "not utf-8", "empty packet"])
def test_a_malformed_polling_post_is_answered_400_at_once_and_closed(fresh_host, body):
    sid = open_polling_session(fresh_host.url)
    sock = polling_post(fresh_host.port, sid, body)
    answer, closed, took = read_answer(sock, 5.0)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert closed and took < 2.0
    assert requests.get(fresh_host.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True


def test_one_signal_stops_the_host_whatever_requests_hang(fresh_host):
    """Half-sent requests of every kind, a long-poll and a player in the
    world: SIGINT still saves and exits within seconds."""
    session = register_many(fresh_host.url, ["stuck_pia"])[0]
    player = RawClient(fresh_host.url)
    player.join(session)
    sid = open_polling_session(fresh_host.url)
    hanging = [
        long_poll(fresh_host.port, sid),
        # headers never finished
        connect(fresh_host.port),
        # a body shorter than announced, under the limit
        polling_post(fresh_host.port, open_polling_session(fresh_host.url), b"4" * 5000,
                     content_length=6000, send_all=False),
        # over the limit, no long-poll open for its session
        polling_post(fresh_host.port, open_polling_session(fresh_host.url), b"4" * 100,
                     content_length=P.MAX_FRAME_BYTES + 1, send_all=False),
    ]
    hanging[1].sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.3)
    started = time.monotonic()
    fresh_host.proc.send_signal(signal.SIGINT)
    assert fresh_host.proc.wait(10) == 0
    took = time.monotonic() - started
    print(f"\nSIGINT with hanging requests ({fresh_host.async_mode}): exited in {took:.2f} s")
    assert took < 5.0
    assert "saved 1 players; host stopped" in fresh_host.log()
    for sock in hanging:
        sock.close()
    player.close()


# -- 5. slow requests ---------------------------------------------------------------------
def test_a_request_sent_a_byte_at_a_time_is_cut_at_its_deadline(fresh_host):
    sock = connect(fresh_host.port)
    request = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
    started = time.monotonic()
    closed_after = None
    for i, byte in enumerate(request):
        try:
            sock.send(bytes([byte]))
        except OSError:
            closed_after = time.monotonic() - started
            break
        answer, closed, _ = read_answer(sock, 1.0)  # one byte a second
        if closed:
            closed_after = time.monotonic() - started
            break
        assert time.monotonic() - started < P.HTTP_REQUEST_DEADLINE_S + 4.0, \
            "the slow request is still open"
    sock.close()
    print(f"\nbyte-a-second request ({fresh_host.async_mode}): cut after {closed_after:.1f} s")
    assert closed_after is not None
    assert P.HTTP_REQUEST_DEADLINE_S - 1.0 <= closed_after <= P.HTTP_REQUEST_DEADLINE_S + 2.0
    assert requests.get(fresh_host.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True


# -- 4. binary packets -----------------------------------------------------------------------
def test_binary_packets_are_refused_and_the_connection_stays_in_step(fresh_host):
    alice_s, bob_s = register_many(fresh_host.url, ["bin_alice", "bin_bob"])
    alice, bob = RawClient(fresh_host.url), RawClient(fresh_host.url)
    alice.join(alice_s)
    bob.join(bob_s)
    placeholder = '{"_placeholder":true,"num":0}'
    # Two binary dm_sends back to back (each announces one attachment).
    for _ in range(2):
        alice.send_raw(f'451-["dm_send",{{"to":"bin_bob","text":{placeholder}}}]')
    assert alice.call(P.PING, {"t": 1})["t"] == 1
    # A binary event, then a ping: the ping is answered.
    alice.send_raw(f'451-["dm_send",{placeholder}]')
    assert alice.call(P.PING, {"t": 2})["t"] == 2
    # A binary event that asks for an ack gets it, refused.
    alice.send_raw(f'451-77["dm_send",{placeholder}]')
    # A binary ack, and an attachment frame on its own, then a normal message.
    alice.send_raw(f"461-5[{placeholder}]")
    alice.ws.send_binary(b"\x04raw attachment")
    reply = alice.call(P.DM_SEND, {"to": "bin_bob", "text": "plain words"})
    assert reply["ok"] is True, reply
    assert reply["message"]["text"] == "plain words"
    deadline = time.monotonic() + 5
    while 77 not in alice.acks:
        assert time.monotonic() < deadline, "the binary event's ack was not answered"
        alice.pump(0.2)
    assert alice.acks[77]["ok"] is False and alice.acks[77]["error"] == P.E_BAD_PAYLOAD
    errors = alice.named(P.ERROR)
    assert errors and all(e["code"] == P.E_BAD_PAYLOAD for e in errors), errors
    assert "binary" in errors[0]["message"]
    # Nothing odd stored: the one plain message and nothing else.
    stored = read_db(fresh_host.db_path, "SELECT text FROM messages WHERE sender_id = ?",
                     (alice_s["user"]["id"],))
    assert stored == [("plain words",)]
    bob.wait_for(P.DM_UNREAD, 5, lambda d: d["message"]["text"] == "plain words")
    assert not alice.closed
    alice.close()
    bob.close()
