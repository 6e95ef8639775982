"""The client reads the host's messages one after another, in order.

python-engineio's client would hand each message to a thread of its own; a
binary event (snapshot, area) is two messages, and read out of order its
attachment is taken for a packet and the event is lost (with it the base the
next snapshots' deltas build on)."""
from __future__ import annotations

import threading

import socketio

from game.client import net
from game.core import protocol as P
from tests.conftest import wait_until


def test_messages_are_handled_on_the_reading_thread_in_order():
    client = net.HostClient("http://127.0.0.1:9", reconnect=False)
    eio = client.sio.eio
    seen: list[tuple[object, threading.Thread]] = []
    eio.on("message", lambda data: seen.append((data, threading.current_thread())))
    for i in range(50):
        eio._trigger_event("message", f"4{i}", run_async=True)
    assert [d for d, _ in seen] == [f"4{i}" for i in range(50)]
    assert {t for _, t in seen} == {threading.current_thread()}


def test_a_binary_event_read_in_order_arrives_whole():
    """The placeholder and its attachment, fed as the reading thread feeds
    them, make one event with the bytes."""
    client = net.HostClient("http://127.0.0.1:9", reconnect=False)
    got = []
    client.sio.on("snapshot", lambda data: got.append(data))
    for _ in range(20):
        client.sio.eio._trigger_event(
            "message", '51-["snapshot",{"_placeholder":true,"num":0}]', run_async=True)
        client.sio.eio._trigger_event("message", b"\x01\x00\x05", run_async=True)
    assert got == [b"\x01\x00\x05"] * 20


def test_the_libraries_still_offer_what_the_client_relies_on():
    assert hasattr(socketio.Client, "_engineio_client_class")
    assert callable(getattr(net._InOrderEngineIO, "_trigger_event"))


def test_a_disconnect_from_the_host_still_ends_the_connection(players):
    """A Socket.IO DISCONNECT packet read from the host ends the connection,
    and the game hears of it (the packet, handled apart from the reading
    thread, stops that thread)."""
    client = players()
    # The packet goes in as the reading thread would hand it on: on that
    # thread, after a whole packet (never between a binary event's two
    # messages, which the host never splits either).
    eio, original = client.sio.eio, client.sio.eio._trigger_event
    injected = threading.Event()

    def trigger(event, *args, **kwargs):
        result = original(event, *args, **kwargs)
        if (event == "message" and not injected.is_set()
                and threading.current_thread() is eio.read_loop_task
                and client.sio._binary_packet is None):
            injected.set()
            original("message", "1", run_async=True)
        return result

    eio._trigger_event = trigger
    client.request(P.PING, {"t": 1})  # its answer is a message to follow
    assert injected.wait(10)
    assert client.wait_for(net.DISCONNECTED, timeout=10).data["reason"]
    assert wait_until(lambda: not client.connected, timeout=10)
