"""Wire-level players for the hardening, fault, load and security tests.

``RawClient`` talks Engine.IO 4 / Socket.IO 5 over one websocket by hand, so a
test can make it misbehave in ways a well-behaved client library never would:
stop reading, skip pings, send junk, NaN or oversized frames.  ``Swarm`` runs
many of them from one thread (cheaper than one client library per player on
this small machine) and records what each receives.
"""
from __future__ import annotations

import itertools
import json
import math
import selectors
import socket
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import requests
import websocket

from game.core import protocol as P
from game.core.rules import WALK_SPEED, load_world

PASSWORD = "correct-horse-battery"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


def register(url: str, name: str, password: str = PASSWORD) -> dict:
    """Register ``name`` (or log in when it exists); returns the HTTP answer."""
    reply = requests.post(url + P.HTTP_REGISTER, json={"username": name, "password": password},
                          timeout=30)
    if reply.status_code == 409:
        reply = requests.post(url + P.HTTP_LOGIN, json={"username": name, "password": password},
                              timeout=30)
    assert reply.status_code in (200, 201), reply.text
    return reply.json()


def register_many(url: str, names: list[str], password: str = PASSWORD) -> list[dict]:
    """Register several accounts at once (password hashing is the slow part)."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda n: register(url, n, password), names))


class RawClient:
    """One websocket speaking Engine.IO/Socket.IO by hand."""

    def __init__(self, url: str, *, origin: str | None = None, send_origin: bool = True,
                 rcvbuf: int | None = None, timeout: float = 10.0, answer_pings: bool = True):
        """``origin`` defaults to the host's own; ``send_origin=False`` sends
        none, as a program that is not a browser would."""
        sockopt = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),) if rcvbuf else ()
        self.ws = websocket.create_connection(ws_url(url), timeout=timeout, origin=origin,
                                              suppress_origin=not send_origin,
                                              sockopt=sockopt, enable_multithread=True)
        opening = self.ws.recv()
        assert opening.startswith("0"), opening
        self.handshake = json.loads(opening[1:])
        self.answer_pings = answer_pings
        self.received: list[tuple[float, str, Any]] = []  # (monotonic time, event, data)
        self.acks: dict[int, Any] = {}
        self.sid: str | None = None
        self.refused: Any = None
        self.closed = False
        self.user: dict | None = None
        self.owned_by_swarm = False
        self._ack_ids = itertools.count(1)
        # Binary events (snapshot, area): the event waiting for its
        # attachment, and the positions their deltas apply to.
        self._awaiting: str | None = None
        self.positions = P.PositionBook()

    # -- sending ---------------------------------------------------------------
    def send_raw(self, text: str) -> None:
        self.ws.send(text)

    def emit(self, event: str, data: Any = None, *, ack: bool = False) -> int | None:
        """Send an event (NaN and infinities are written as JSON allows them)."""
        ack_id = next(self._ack_ids) if ack else None
        body = json.dumps([event] if data is None else [event, data], allow_nan=True)
        self.ws.send(f"42{ack_id if ack_id is not None else ''}{body}")
        return ack_id

    def connect(self, token: str | None, timeout: float = 10.0) -> bool:
        """Socket.IO CONNECT with the token in ``auth``; True when accepted."""
        self.send_raw("40" + json.dumps({"token": token} if token is not None else {}))
        deadline = time.monotonic() + timeout
        while self.sid is None and self.refused is None and not self.closed:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer to CONNECT")
            self.pump(deadline - time.monotonic())
        return self.sid is not None

    def join(self, session: dict, last_dm_id: int | None = None, timeout: float = 10.0) -> dict:
        """Connect with the session's token and join; returns the welcome."""
        self.user = session["user"]
        assert self.connect(session["token"], timeout), self.refused
        self.emit(P.JOIN, {} if last_dm_id is None else {"last_dm_id": last_dm_id})
        return self.wait_for(P.WELCOME, timeout)

    def call(self, event: str, data: Any = None, timeout: float = 10.0) -> Any:
        """Send an event and wait for its answer (read by a Swarm if one owns
        this client, else by this call)."""
        ack_id = self.emit(event, data, ack=True)
        deadline = time.monotonic() + timeout
        while ack_id not in self.acks:
            if self.closed or time.monotonic() > deadline:
                raise TimeoutError(f"no answer to {event}")
            if self.owned_by_swarm:
                time.sleep(0.005)
            else:
                self.pump(deadline - time.monotonic())
        return self.acks.pop(ack_id)

    # -- receiving -------------------------------------------------------------
    def pump(self, timeout: float | None) -> bool:
        """Read and handle one frame; False on timeout or when closed."""
        if self.closed:
            return False
        self.ws.settimeout(None if timeout is None else max(0.001, timeout))
        try:
            text = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketException, OSError):
            self.closed = True
            return False
        if not text and not self.ws.connected:
            self.closed = True
            return False
        self._handle(text)
        return True

    def _handle(self, text: Any) -> None:
        if isinstance(text, bytes) and self._awaiting is not None:
            event, self._awaiting = self._awaiting, None
            book = self.positions
            data = book.snapshot(text) if event == P.SNAPSHOT else \
                book.area(text) if event == P.AREA else text
            self.received.append((time.monotonic(), event, data))
            return
        if not isinstance(text, str) or not text:
            return
        kind, body = text[0], text[1:]
        if kind == "2":
            if self.answer_pings:
                self.ws.send("3")
        elif kind == "1":
            self.closed = True
        elif kind == "4":
            self._handle_socketio(body)

    def _handle_socketio(self, body: str) -> None:
        kind, rest = body[:1], body[1:]
        now = time.monotonic()
        if kind == "0":
            self.sid = json.loads(rest).get("sid")
        elif kind == "4":
            self.refused = json.loads(rest)
        elif kind == "1":
            self.received.append((now, "_disconnect", None))
        elif kind == "5":
            # A BINARY_EVENT with one attachment: 51-["name",{"_placeholder":true,"num":0}]
            count, _, packet = rest.partition("-")
            assert count == "1", body
            self._awaiting = json.loads(packet)[0]
        elif kind in "23":
            digits = len(rest) - len(rest.lstrip("0123456789"))
            ack_id, payload = rest[:digits], json.loads(rest[digits:])
            if kind == "3":
                self.acks[int(ack_id)] = payload[0] if payload else None
            else:
                self.received.append((now, payload[0], payload[1] if len(payload) > 1 else None))

    def wait_for(self, event: str, timeout: float = 10.0,
                 match: Callable[[Any], bool] | None = None) -> Any:
        """The first received ``event`` (matching ``match``), reading as needed."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for _, name, data in self.received[seen:]:
                if name == event and (match is None or match(data)):
                    return data
            seen = len(self.received)
            if self.closed or time.monotonic() > deadline:
                errors = [data for _, name, data in self.received if name == P.ERROR]
                raise TimeoutError(f"no '{event}' within {timeout} s (closed={self.closed}, "
                                   f"errors {errors[-3:]}, {len(self.received)} events read)")
            self.pump(deadline - time.monotonic())

    def read_until_closed(self, timeout: float) -> bool:
        """Keep reading until the host closes the connection; True if it did."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())
        return self.closed

    def named(self, event: str) -> list[Any]:
        return [data for _, name, data in self.received if name == event]

    def wait_joined(self, who: int | str, timeout: float = 10.0) -> dict:
        """The player object of ``who`` (id or name) from a ``players_joined``."""
        key = "id" if isinstance(who, int) else "name"
        data = self.wait_for(P.PLAYERS_JOINED, timeout,
                             lambda d: any(p[key] == who for p in d["players"]))
        return next(p for p in data["players"] if p[key] == who)

    def wait_left(self, who: int | str, timeout: float = 10.0) -> dict:
        """The ``players_left`` that lists ``who`` (id or name)."""
        key = "ids" if isinstance(who, int) else "names"
        return self.wait_for(P.PLAYERS_LEFT, timeout, lambda d: who in d[key])

    def roster(self) -> tuple[set[int], list[str]]:
        """Who is online as this client was told (the welcome's players, then
        every players_left and players_joined in order, the way a client
        keeps its list), and anything that did not add up: a player joined
        while already listed or leaving while not listed."""
        online: set[int] = set()
        problems: list[str] = []
        for _, name, data in self.received:
            if name == P.WELCOME:
                online = {p["id"] for p in data["players"]}
            elif name == P.PLAYERS_LEFT:
                for pid in data["ids"]:
                    if pid not in online:
                        problems.append(f"{pid} left but was not listed")
                    online.discard(pid)
            elif name == P.PLAYERS_JOINED:
                for p in data["players"]:
                    if p["id"] in online:
                        problems.append(f"{p['id']} joined twice")
                    online.add(p["id"])
        return online, problems

    def close(self) -> None:
        self.closed = True
        try:
            self.ws.close(timeout=0.2)
        except Exception:
            pass


class Swarm:
    """Many joined RawClients read by one background thread."""

    def __init__(self, clients: list[RawClient]):
        self.clients = clients
        self._selector = selectors.DefaultSelector()
        for client in clients:
            client.owned_by_swarm = True
            self._selector.register(client.ws.sock, selectors.EVENT_READ, client)
        self._stop = threading.Event()
        self._added: list[RawClient] = []
        self._thread = threading.Thread(target=self._run, name="swarm", daemon=True)

    def add(self, client: RawClient) -> None:
        """Start reading one more client (picked up within one select round)."""
        client.owned_by_swarm = True
        self.clients.append(client)
        self._added.append(client)

    def __enter__(self) -> "Swarm":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for client in self.clients:
            client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            while self._added:
                client = self._added.pop()
                if not client.closed:
                    self._selector.register(client.ws.sock, selectors.EVENT_READ, client)
            for key, _ in self._selector.select(0.05):
                client = key.data
                client.pump(0.5)
                if client.closed:
                    try:
                        self._selector.unregister(key.fileobj)
                    except (KeyError, ValueError):
                        pass


class Walker:
    """Walks one player back and forth along the spawn row at walking speed,
    sending moves the host must accept."""

    def __init__(self, start: tuple[float, float], phase: int, span: float = 256.0):
        self.world = load_world()
        self.x, self.y = start
        self.origin_x = start[0]
        self.span = span
        self.direction = 1.0 if phase % 2 == 0 else -1.0
        self.seq = 0

    def step(self, dt: float) -> dict:
        nx = self.x + self.direction * WALK_SPEED * 0.8 * dt
        if abs(nx - self.origin_x) > self.span or not self.world.box_free(nx, self.y):
            self.direction = -self.direction
            nx = self.x + self.direction * WALK_SPEED * 0.8 * dt
        # Half-pixel grid: survives the host's rounding to 0.1 exactly.
        self.x = round(nx * 2.0) / 2.0
        self.seq += 1
        # Stamped with when the position was reached (docs/protocol.md, move).
        return {"seq": self.seq, "x": self.x, "y": self.y,
                "t": int(time.monotonic() * 1000.0)}


def snapshot_positions(clients: list[RawClient]) -> dict[int, list[tuple[float, float, float]]]:
    """What the host accepted, as seen in snapshots: id -> [(host ms, x, y)]."""
    seen: dict[int, dict[tuple, None]] = {}
    for client in clients:
        for _, name, data in client.received:
            if name != P.SNAPSHOT:
                continue
            for pid, x, y in P.unpack_positions(data["p"]):
                seen.setdefault(pid, {})[(data["t"], x, y)] = None
    return {pid: sorted(entries) for pid, entries in seen.items()}


def read_db(path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the host's database the way another process would."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
