"""Hardening: too much.  A client that stops reading, a client that floods,
and a thousand connections that never log in."""
from __future__ import annotations

import resource
import selectors
import socket
import threading
import time

import psutil
import pytest
import requests
import websocket

from game.core import protocol as P
from game.client.host_process import HostProcess
from game.client.net import HostClient

from .helpers_wire import (PASSWORD, RawClient, Swarm, Walker, percentile, read_db,
                           register, register_many, ws_url)

pytestmark = pytest.mark.slow  # load: hundreds of players for tens of seconds


def rss_mb(host: HostProcess) -> float:
    return psutil.Process(host.proc.pid).memory_info().rss / 1e6


def stats(host: HostProcess) -> dict:
    return requests.get(host.url + P.HTTP_STATS, timeout=10).json()


def walk_all(clients, walkers, seconds: float, hz: float = 10.0, sent_at: dict | None = None):
    """Everyone walks for ``seconds``; remembers when each position was sent."""
    start = time.monotonic()
    step = 0
    while time.monotonic() - start < seconds:
        for client, walker in zip(clients, walkers):
            move = walker.step(1.0 / hz)
            if sent_at is not None:
                sent_at[(client.user["id"], move["x"])] = time.monotonic()
            client.emit(P.MOVE, move)
        step += 1
        time.sleep(max(0.0, start + step / hz - time.monotonic()))


def joined_walkers(url: str, names: list[str]) -> tuple[list[RawClient], list[Walker]]:
    sessions = register_many(url, names)
    clients, walkers = [], []
    for i, session in enumerate(sessions):
        client = RawClient(url)
        you = client.join(session)["you"]
        clients.append(client)
        walkers.append(Walker((you["x"], you["y"]), i, span=10_000))
    return clients, walkers


# -- 4. a client that stops reading --------------------------------------------------------
def test_a_client_that_stops_reading_is_cut_off_and_memory_stays_flat(tmp_path):
    with HostProcess(tmp_path / "world.db") as host:
        clients, walkers = joined_walkers(host.url, [f"slow_w{i}" for i in range(8)])
        sleeper_session, pen = register(host.url, "slow_sam"), clients[0]
        for i in range(P.DMS_PER_WINDOW):  # a conversation worth paging through
            pen.call(P.DM_SEND, {"to": "slow_sam", "text": f"{i} " + "z" * 480})
        sleeper = RawClient(host.url, rcvbuf=4096)
        sleeper.join(sleeper_session)
        with Swarm(clients):
            walk_all(clients, walkers, 1.0)
            baseline = rss_mb(host)
            # From now on it asks for history (about 10 KB an answer) and reads nothing.
            stopped_at = time.monotonic()
            peak = baseline
            while time.monotonic() - stopped_at < 20:
                try:
                    for _ in range(8):  # 80 requests a second, under the packet limit
                        sleeper.emit(P.DM_HISTORY, {"peer": "slow_w0", "limit": P.HISTORY_PAGE_MAX},
                                     ack=True)
                except (websocket.WebSocketException, OSError):
                    break  # the host has hung up on it
                walk_all(clients, walkers, 0.1)
                peak = max(peak, rss_mb(host))
                if "not reading" in stats(host)["closed_by_guard"]:
                    break
            cut_after = time.monotonic() - stopped_at
            walk_all(clients, walkers, 1.0)
            after = rss_mb(host)
            watcher = clients[1]
            gaps = _snapshot_gaps(watcher, stopped_at)
            assert watcher.call(P.PING, {})["ok"] is True
            assert not any(c.closed for c in clients)
        closed = stats(host)["closed_by_guard"]
        print(f"\nslow reader: cut after {cut_after:.1f} s; host memory {baseline:.1f} MB -> "
              f"peak {peak:.1f} MB -> {after:.1f} MB; longest snapshot gap for others "
              f"{max(gaps) * 1000:.0f} ms")
        assert closed.get("not reading") == 1, closed
        assert peak - baseline < 40.0
        assert max(gaps) < 0.5
        sleeper.close()


def _snapshot_gaps(client: RawClient, since: float) -> list[float]:
    times = [at for at, name, _ in client.received if name == P.SNAPSHOT and at >= since]
    return [b - a for a, b in zip(times, times[1:])] or [0.0]


# -- 5. floods -------------------------------------------------------------------------
def test_a_flooding_client_is_limited_then_cut_while_fifty_others_play_on(tmp_path):
    with HostProcess(tmp_path / "world.db") as host:
        clients, walkers = joined_walkers(host.url, [f"calm_{i:02d}" for i in range(50)])
        flooder = RawClient(host.url)
        flood_session = register(host.url, "flood_fred")
        you = flooder.join(flood_session)["you"]
        sent_at: dict = {}
        with Swarm(clients + [flooder]):
            walk_all(clients, walkers, 2.0, sent_at=sent_at)
            quiet_until = time.monotonic()
            counts = {"moves": 0, "dms": 0}

            def flood() -> None:
                start, seq = time.monotonic(), 0
                while not flooder.closed and time.monotonic() - start < 5.0:
                    for _ in range(20):  # 1,000 moves a second ...
                        seq += 1
                        flooder.emit(P.MOVE, {"seq": seq, "x": you["x"], "y": you["y"]})
                    counts["moves"] += 20
                    if seq % 20 == 0:  # ... and 50 messages a second
                        flooder.emit(P.DM_SEND, {"to": "calm_00", "text": f"spam {seq}"})
                        counts["dms"] += 1
                    time.sleep(max(0.0, start + seq / 1000.0 - time.monotonic()))

            flood_thread = threading.Thread(target=flood, daemon=True)
            flood_started = time.monotonic()
            try:
                flood_thread.start()
                walk_all(clients, walkers, 3.0, sent_at=sent_at)
            finally:
                flood_thread.join(10)
            flood_ended = time.monotonic()
            walk_all(clients, walkers, 1.0, sent_at=sent_at)
            time.sleep(0.3)
            flooder_closed = flooder.closed
            others_closed = [c.user["name"] for c in clients if c.closed]
        errors = flooder.named(P.ERROR)
        ended = flooder.named(P.SESSION_ENDED)
        corrections = sum(len(c.named(P.CORRECTION)) for c in clients)
        quiet = _delivery_latencies(clients[:10], sent_at, 0, quiet_until)
        flooded = _delivery_latencies(clients[:10], sent_at, flood_started, flood_ended)
        print(f"\nflood: the flooder sent {counts['moves']} moves and {counts['dms']} messages, "
              f"got {len(errors)} rate_limited errors and {ended}; "
              f"delivery to others p50/p99 quiet {percentile(quiet, .5) * 1000:.0f}/"
              f"{percentile(quiet, .99) * 1000:.0f} ms, during the flood "
              f"{percentile(flooded, .5) * 1000:.0f}/{percentile(flooded, .99) * 1000:.0f} ms "
              f"({len(flooded)} deliveries)")
        assert any(e["code"] == P.E_RATE_LIMITED for e in errors)
        assert ended and ended[0]["reason"] == P.END_FLOODING
        assert flooder_closed
        assert not others_closed and corrections == 0
        assert len(flooded) > 1000
        # Generous: the figure itself is printed above; this only catches a collapse.
        assert percentile(flooded, 0.99) < 0.5
        spam = read_db(host.db_path, "SELECT COUNT(*) FROM messages WHERE sender_id = ?",
                       (flood_session["user"]["id"],))[0][0]
        assert spam <= P.DMS_PER_WINDOW


def _delivery_latencies(observers, sent_at: dict, start: float, end: float) -> list[float]:
    """Seconds from a move leaving its player to the snapshot showing it to another."""
    out = []
    for client in observers:
        for at, name, data in client.received:
            if name != P.SNAPSHOT:
                continue
            for pid, x, _ in P.unpack_positions(data["p"]):
                sent = sent_at.get((pid, x))
                if sent is not None and start <= sent <= end and pid != client.user["id"]:
                    out.append(at - sent)
    return out


# -- 6. connection abuse ---------------------------------------------------------------
WEBSOCKETS = 800
BARE_TCP = 200


def open_and_hold(host: HostProcess, websockets: int, bare: int) -> list[socket.socket]:
    """Connections that never log in: Engine.IO handshakes with no Socket.IO
    CONNECT (or one with a bad token), and TCP connections that say nothing."""
    held = []
    for i in range(websockets):
        ws = websocket.create_connection(ws_url(host.url), timeout=10)
        ws.recv()  # the Engine.IO handshake; then silence
        if i % 8 == 0:  # some do try, with a token that is not one
            ws.send('40{"token": "not-a-token"}')
        held.append(ws.sock)
    for _ in range(bare):
        held.append(socket.create_connection(("127.0.0.1", host.port)))
    return held


def wait_until_closed(held: list[socket.socket], since: float, timeout: float) -> list[float]:
    """Read and discard until the host closes each; when each closed."""
    selector = selectors.DefaultSelector()
    for sock in held:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed_at: list[float] = []
    deadline = time.monotonic() + timeout
    while len(closed_at) < len(held) and time.monotonic() < deadline:
        for key, _ in selector.select(0.2):
            try:
                data = key.fileobj.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                closed_at.append(time.monotonic() - since)
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    return closed_at


def test_a_thousand_connections_that_never_log_in_are_closed_and_players_still_get_in(
        tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    with HostProcess(tmp_path / "world.db") as host:
        register(host.url, "abuse_amy")  # an account to log in with later
        baseline = rss_mb(host)
        opened_at = time.monotonic()
        held = open_and_hold(host, WEBSOCKETS, BARE_TCP)
        opening_took = time.monotonic() - opened_at
        peak = rss_mb(host)

        # A real player gets in while all of that is held open.
        started = time.monotonic()
        amy = HostClient(host.url, reconnect=False)
        amy.login("abuse_amy", PASSWORD)
        amy.connect()
        amy.wait_for(P.WELCOME)
        login_took = time.monotonic() - started

        closed_at = wait_until_closed(held, opened_at,
                                      P.CONNECT_TIMEOUT_S + P.HTTP_IDLE_TIMEOUT_S + 5)
        after = rss_mb(host)
        # A second wave costs no more than the first: nothing is left behind.
        again = open_and_hold(host, WEBSOCKETS, 0)
        second_peak = rss_mb(host)
        closed_again = wait_until_closed(again, time.monotonic(), P.CONNECT_TIMEOUT_S + 5)
        host_stats = stats(host)
        still_in = amy.call(P.PING, {})["ok"]
        amy.close()
    print(f"\nabuse: opened {len(held)} connections in {opening_took:.1f} s; host memory "
          f"{baseline:.1f} -> {peak:.1f} -> {after:.1f} MB, {second_peak:.1f} MB with a second "
          f"wave of {len(again)}; a player logged in and joined in {login_took * 1000:.0f} ms; "
          f"{len(closed_at)} closed by the host, the last {max(closed_at or [0]):.1f} s after "
          f"opening; {host_stats['closed_by_guard']}")
    assert len(closed_at) == len(held) and len(closed_again) == len(again)
    assert max(closed_at[:WEBSOCKETS]) <= P.CONNECT_TIMEOUT_S + opening_took + 2
    assert login_took <= 1.0
    assert peak - baseline < 150.0
    assert second_peak - peak < 20.0  # (a few MB of allocator slack, then flat)
    assert still_in is True
    assert host_stats["transports"] <= 1
