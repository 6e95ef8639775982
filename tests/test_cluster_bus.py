"""The cluster's bus on a real redis-server: messages between processes'
buses, channels, and a Redis that restarts."""
from __future__ import annotations

import threading

import pytest

from server.cluster.bus import Bus

from .conftest import wait_until


def started(url: str) -> Bus:
    bus = Bus(url, "threading")
    bus.start(lambda fn: threading.Thread(target=fn, daemon=True).start())
    wait_until(lambda: bus.up, timeout=10)
    return bus


@pytest.fixture
def two_buses(redis_server):
    a, b = started(redis_server.url), started(redis_server.url)
    yield a, b
    a.close()
    b.close()


def test_a_message_reaches_the_other_process_and_not_its_sender(two_buses):
    a, b = two_buses
    got_a, got_b = [], []
    a.on("hello", lambda payload, node: got_a.append((payload, node)))
    b.on("hello", lambda payload, node: got_b.append((payload, node)))
    assert a.send("hello", {"x": 1})
    wait_until(lambda: got_b, timeout=5)
    assert got_b == [({"x": 1}, a.node)]
    b.send("hello", {"x": 2}, to=a.node)
    wait_until(lambda: got_a, timeout=5)
    assert got_a == [({"x": 2}, b.node)]
    assert got_b == [({"x": 1}, a.node)]  # its own message never came back


def test_channels_come_and_go(two_buses):
    a, b = two_buses
    got = []
    b.subscribe("pc:test", got.append)
    wait_until(lambda: a.command(lambda r: r.pubsub_numsub("pc:test"))[0][1] == 1, timeout=5)
    assert a.publish_many([("pc:test", b"one"), ("pc:test", b"two")])
    wait_until(lambda: len(got) == 2, timeout=5)
    assert got == [b"one", b"two"]
    b.unsubscribe("pc:test")
    wait_until(lambda: a.command(lambda r: r.pubsub_numsub("pc:test"))[0][1] == 0, timeout=5)
    synced = []
    b.on("sync", lambda payload, node: synced.append(1))
    a.publish("pc:test", b"three")
    a.send("sync", {})  # Redis keeps the order on b's one connection
    wait_until(lambda: synced, timeout=5)
    assert got == [b"one", b"two"]


def test_a_restarted_redis_is_rejoined_with_the_same_subscriptions(redis_server, caplog):
    a, b = started(redis_server.url), started(redis_server.url)
    try:
        ups = []
        b.on_up(lambda: ups.append(1))
        got = []
        b.on("hello", lambda payload, node: got.append(payload))
        redis_server.stop(kill=True)
        wait_until(lambda: not a.up and not b.up, timeout=10)
        assert a.send("hello", {"lost": True}) is False  # dropped, never raised
        assert a.command(lambda r: r.get("k"), default="down") == "down"
        assert b.health()["redis"] == "down" and b.health()["down_since"] is not None
        redis_server.start()
        wait_until(lambda: a.up and b.up, timeout=15)
        assert ups == [1]
        assert a.send("hello", {"after": True})
        wait_until(lambda: got, timeout=5)
        assert got == [{"after": True}]
        assert "unreachable" in caplog.text and "is back" in caplog.text
    finally:
        a.close()
        b.close()
