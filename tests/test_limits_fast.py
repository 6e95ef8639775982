"""The connection guard's short way for packets of fast events (moves): it
takes only plain events of exactly those names, and everything else is read
in full and refused or delivered as before."""
from __future__ import annotations

import pytest

from game.core import protocol as P
from server.limits import ConnectionGuard


class Transport:
    """What the guard calls, recorded."""

    def __init__(self) -> None:
        self.fast: list[tuple[str, str]] = []
        self.usual: list[str] = []

    def intercept(self, on_message) -> None:
        pass

    def deliver_fast(self, eio_sid: str, name: str, data: str) -> bool:
        self.fast.append((name, data))
        return name == P.MOVE and data.startswith(f'2["{name}",')

    def deliver(self, eio_sid: str, data) -> None:
        self.usual.append(data)

    def sid_of(self, eio_sid: str) -> None:
        return None  # not connected to the namespace: no notices to send


class Server:
    def start_background_task(self, fn, *args) -> None:
        fn(*args)


@pytest.fixture
def guard():
    transport = Transport()
    made = ConnectionGuard(Server(), transport, connect_timeout_s=5.0, outbox_max=10,
                           on_flood=lambda sid: None, on_notice=lambda *a: None)
    made.fast_events = frozenset({P.MOVE})
    made.beside_events = frozenset({P.DM_SEND})
    return made, transport


MOVE = '2["move",{"seq":1,"x":1,"y":2}]'


def test_a_plain_move_goes_the_fast_way(guard):
    g, transport = guard
    g._on_message("e1", MOVE)
    assert transport.fast == [(P.MOVE, MOVE)] and transport.usual == []


@pytest.mark.parametrize("data", [
    '21["move",{"seq":1,"x":1,"y":2}]',        # an ack id
    '2/other,["move",{"seq":1,"x":1,"y":2}]',  # a namespace
    '2["move"]',                               # no payload: the fast handler declines
    '2["ping",{"t":1}]',                       # not a fast event
])
def test_other_events_are_delivered_the_usual_way(guard, data):
    g, transport = guard
    g._on_message("e1", data)
    assert transport.usual == [data]


@pytest.mark.parametrize("data", [
    '2["mo\\"ve",{}]', '2["move\\u0000",{}]', '2["connect",{}]', '2["*",{}]', '2[5,{}]',
    b"binary", '51-["move",{"_placeholder":true,"num":0}]',
])
def test_packets_the_guard_refuses_stay_refused(guard, data):
    g, transport = guard
    g._on_message("e1", data)
    assert transport.fast == [] and transport.usual == []


def test_fast_packets_count_against_the_packet_limit(guard):
    g, transport = guard
    for _ in range(P.PACKETS_PER_SECOND + 5):
        g._on_message("e1", MOVE)
    assert len(transport.fast) == P.PACKETS_PER_SECOND
