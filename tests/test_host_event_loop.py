"""The eventlet loop serves ready sockets in bounded passes, so the tick is
never held back by a whole crowd's worth of reads, and no socket is starved."""
from __future__ import annotations

import socket

from server.transport import patches


def test_ready_sockets_are_served_in_bounded_passes_that_reach_every_socket():
    from eventlet.hubs import epolls

    patches.bound_event_loop_passes()
    hub = epolls.Hub()
    pairs = [socket.socketpair() for _ in range(5 * patches.READY_SOCKETS_PER_PASS + 3)]
    try:
        served: list[int] = []
        for ours, theirs in pairs:
            theirs.send(b"x")  # every socket is ready to read, and stays so
            hub.add(hub.READ, ours.fileno(), served.append, lambda *a: None, None)
        passes = []
        for _ in range(6):
            ready = hub.do_poll(0)
            passes.append(len(ready))
            served.extend(fd for fd, _ in ready)
        assert max(passes) == patches.READY_SOCKETS_PER_PASS
        # Level-triggered: the sockets left over come first on the next pass,
        # so six passes reach all of them.
        assert {ours.fileno() for ours, _ in pairs} <= set(served)
    finally:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()
        hub.poll.close()
