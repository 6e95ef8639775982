"""The bus used from several threads at once, as the host uses it (the
tick publishes, the heartbeat runs commands, the listener reads): a thread
that finds Redis gone never pulls the listener's connection from under it,
and the bus comes back by itself (a real redis-server)."""
from __future__ import annotations

import logging
import threading

from server.cluster.bus import Bus

from .conftest import wait_until


def started(url: str) -> Bus:
    bus = Bus(url, "threading")
    bus.start(lambda fn: threading.Thread(target=fn, daemon=True).start())
    wait_until(lambda: bus.up, timeout=10)
    return bus


def test_redis_going_while_another_thread_publishes_leaves_the_listener_whole(
        redis_server, caplog):
    bus = started(redis_server.url)
    try:
        caplog.set_level(logging.WARNING, logger="server.cluster")
        redis_server.stop(kill=True)
        # Another thread finds Redis gone first, as the tick or the heartbeat would.
        wait_until(lambda: not bus.publish("pc:test", b"x") and not bus.up, timeout=5)
        redis_server.start()
        wait_until(lambda: bus.up, timeout=10)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        got = []
        bus.subscribe("pc:test", got.append)
        wait_until(lambda: bus.command(lambda r: r.pubsub_numsub("pc:test"))[0][1] == 1)
        assert bus.publish("pc:test", b"again")
        wait_until(lambda: got == [b"again"])
    finally:
        bus.close()


def test_a_command_that_fails_while_redis_is_up_does_not_leave_the_bus_down(
        redis_server, caplog):
    bus = started(redis_server.url)
    try:
        caplog.set_level(logging.WARNING, logger="server.cluster")
        for _ in range(5):  # each time the listener is most likely waiting on its socket
            reconnects = bus.reconnects
            assert bus.command(lambda r: r.execute_command("NO-SUCH-COMMAND"), "no") == "no"
            wait_until(lambda: bus.up and bus.reconnects == reconnects + 1, timeout=5)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        bus.close()


def test_a_command_cut_short_by_the_bus_closing_is_no_error(redis_server):
    """The host stopping closes the bus's connections; a thread in the middle
    of a command then meets a closed socket (seen: ValueError from redis-py's
    reader). That is the stop, not a fault: the command gives its default.
    The same error while the bus runs is a fault and is raised."""
    bus = started(redis_server.url)

    def cut_short(client):
        bus.close()
        raise ValueError("I/O operation on closed file.")

    try:
        try:
            bus.command(lambda client: (_ for _ in ()).throw(ValueError("not stopping")))
        except ValueError as exc:
            assert str(exc) == "not stopping"
        else:
            raise AssertionError("a fault while the bus runs was swallowed")
        assert bus.command(cut_short, default="stopped") == "stopped"
        assert bus.publish("pc:test", b"late") is False
    finally:
        bus.close()
