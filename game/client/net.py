"""A player's connection to a host, shared by the game, the bots and the tests.

HTTP carries register / log in / log out; Socket.IO carries the game.  The
Socket.IO callbacks never touch game state: each event is put on a queue as a
``NetEvent`` and the owner (the game loop, a bot, a test) drains it.  Requests
that expect an answer either block (``call``, for scripts and tests) or put the
answer on the same queue (``request``, for the game loop, which must not wait).
"""
from __future__ import annotations

import itertools
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import engineio
import requests
import socketio

from ..core import protocol as P

HTTP_TIMEOUT_S = 10.0
DEFAULT_TICK_RATE = 20.0
# Events the host sends that are put on the queue as they arrive.
SERVER_EVENTS = (P.WELCOME, P.PLAYERS_JOINED, P.PLAYERS_LEFT, P.SNAPSHOT, P.AREA, P.CORRECTION,
                 P.DM_MESSAGE, P.DM_UNREAD, P.DM_PRESENCE, P.ERROR, P.SESSION_ENDED,
                 P.LOOK_CHANGED, P.MAP_CHANGED, P.PLAYER_MAP, P.ANNOUNCEMENT, P.MUTED,
                 P.UNMUTED, P.ROLE_CHANGED, P.EMOTED, P.TYPING, P.PLAYER_AWAY, P.PACE,
                 P.SAID)
class _InOrderEngineIO(engineio.Client):
    """python-engineio's client hands every message to a thread of its own,
    so two messages can be read in either order.  A binary event is two
    messages (its text packet, then its attachment): out of order, the
    attachment is taken for a packet and the event is lost, and with it the
    base the next snapshots' deltas build on.  Here messages are handled one
    after another on the reading thread, in the order they came; that is
    safe because the handlers only put events on a queue.  A Socket.IO
    DISCONNECT packet ("1...") is the exception: handling it stops the
    reading thread and waits for it, so it still goes to a thread of its own
    (nothing that matters comes after it)."""

    def _trigger_event(self, event, *args, **kwargs):
        if event == "message" and not (args and isinstance(args[0], str)
                                       and args[0].startswith("1")):
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class _InOrderClient(socketio.Client):
    def _engineio_client_class(self):
        return _InOrderEngineIO


# Session ends after which the client does not reconnect on its own: another
# login took over, or the host removed this player (the reason is shown).
FINAL_ENDS = (P.END_REPLACED, P.END_LOGGED_OUT, P.END_KICKED, P.END_BANNED,
              P.END_ACCOUNT_DELETED, P.END_PASSWORD_RESET)
# Kinds of NetEvent besides the server events above.
CONNECTED = "connected"          # the socket is up (join is sent automatically)
DISCONNECTED = "disconnected"    # data: {"reason": ..., "reconnecting": bool}
CONNECT_FAILED = "connect_failed"  # data: {"message": ...}
ANSWER = "answer"                # data: {"event", "tag", "reply"} for request()
RETRYING = "retrying"            # data: {"in_s", "attempt"} the host was stopped; next try
# After the host says it is stopping (session_ended, host_shutdown), the client
# asks /api/health after these many seconds (then every last one, each +-20 %)
# and reconnects once the host answers.
SHUTDOWN_RETRY_S = (1.0, 2.0, 4.0, 8.0, 15.0)


class HostError(Exception):
    """The host refused a request, or could not be reached."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.details = details or {}  # the rest of the host's answer (a ban's "until")


@dataclass(frozen=True)
class NetEvent:
    kind: str
    data: Any
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Session:
    token: str
    user_id: int
    name: str


def clock_ms() -> int:
    """This process's monotonic clock in whole milliseconds: the ``t`` of a
    move (see docs/protocol.md, section 9)."""
    return int(time.monotonic() * 1000.0)


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


class HostClient:
    def __init__(self, server_url: str, *, reconnect: bool = True,
                 events: "queue.Queue[NetEvent] | None" = None):
        self.server_url = normalise_url(server_url)
        self.events: queue.Queue[NetEvent] = events if events is not None else queue.Queue()
        self.session: Session | None = None
        self.last_dm_id = 0
        self._seq = itertools.count(1)
        self._http = requests.Session()
        self._ended = threading.Event()  # set when the host ended the session for good
        self.skipped: list[NetEvent] = []
        self._last_refusal: str | None = None
        self._refusal_data: dict = {}  # a refusal's data, such as a ban's {error, reason, until}
        self._resume = False  # True once a welcome arrived: later joins resume
        self._reconnect = reconnect
        self.host_stopped = False  # the host said it was stopping; we retry politely
        # The positions binary snapshots' deltas apply to (one per connection).
        self.positions = P.PositionBook()
        self.undecoded = 0  # binary events that could not be read
        self.last_undecoded = ""
        # The host's snapshot rate (welcome, then pace): send moves at most
        # this often.  ``overloaded``: the host said it is slowing down.
        self.tick_rate = DEFAULT_TICK_RATE
        self.overloaded = False
        self.sio = _InOrderClient(reconnection=reconnect, reconnection_delay=0.5,
                                   reconnection_delay_max=5.0, randomization_factor=0.5,
                                   logger=False, engineio_logger=False)
        self._wire_events()

    # -- HTTP --------------------------------------------------------------------
    def register(self, username: str, password: str, look: P.Look | None = None) -> Session:
        """Create an account (with ``look``, or a random one) and log in."""
        extra = {"look": look.as_dict()} if look is not None else {}
        return self._authenticate(P.HTTP_REGISTER, username, password, extra)

    def login(self, username: str, password: str) -> Session:
        return self._authenticate(P.HTTP_LOGIN, username, password)

    def login_or_register(self, username: str, password: str) -> Session:
        """Log in, creating the account first if it does not exist (bots, demos)."""
        try:
            return self.register(username, password)
        except HostError as exc:
            if exc.code != P.E_NAME_TAKEN:
                raise
        return self.login(username, password)

    def _authenticate(self, path: str, username: str, password: str,
                      extra: dict | None = None) -> Session:
        body = self._post(path, {"username": username, "password": password, **(extra or {})})
        self.session = Session(body["token"], body["user"]["id"], body["user"]["name"])
        self.last_dm_id, self._resume = 0, False  # a new session starts its own count
        return self.session

    def logout(self) -> None:
        """Revoke this session's token on the host and disconnect."""
        if self.session is not None:
            try:
                self._post(P.HTTP_LOGOUT, None, token=self.session.token)
            finally:
                self.session = None
        self.close()

    def delete_account(self, username: str, password: str) -> None:
        """Delete the account for good (``POST /api/account/delete``); the host
        ends its sessions.  Raises HostError (``bad_credentials`` for a wrong
        password)."""
        self._post(P.HTTP_ACCOUNT_DELETE, {"username": username, "password": password})
        self.session = None

    def _post(self, path: str, body: Any, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            reply = self._http.post(self.server_url + path, json=body, headers=headers,
                                    timeout=HTTP_TIMEOUT_S)
        except requests.RequestException as exc:
            raise HostError("unreachable", f"cannot reach the host at {self.server_url}") from exc
        try:
            data = reply.json()
        except ValueError:
            data = {}
        if not reply.ok:
            raise HostError(data.get("error", "http_error"),
                            data.get("message", f"host answered {reply.status_code}"),
                            reply.status_code, data if isinstance(data, dict) else {})
        return data

    # -- Socket.IO ------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> None:
        """Open the game connection with the session token (log in first).

        Raises HostError when the host refuses or cannot be reached.  Once
        connected, the client joins the world on its own, and again after every
        automatic reconnect, asking for messages it missed meanwhile.
        """
        if self.session is None:
            raise HostError(P.E_AUTH_REQUIRED, "log in before connecting")
        self._ended.clear()
        self._last_refusal = None
        self._refusal_data = {}
        try:
            self.sio.connect(self.server_url, auth=self._auth, transports=["websocket"],
                             wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            reason = self._last_refusal or _refusal_text(exc)
            raise HostError("connect_failed", reason, details=self._refusal_data) from exc

    def _auth(self) -> dict:
        return {"token": self.session.token if self.session else ""}

    @property
    def connected(self) -> bool:
        return self.sio.connected

    def close(self) -> None:
        self._ended.set()
        try:
            self.sio.disconnect()
        except Exception:
            pass

    def wait_closed(self, timeout: float | None = None) -> None:
        self.sio.wait() if timeout is None else self._ended.wait(timeout)

    def send_move(self, x: float, y: float, t: int | None = None) -> int:
        """Report our position, reached at ``t`` (our monotonic clock, ms;
        default: now); returns its sequence number."""
        seq = next(self._seq)
        if t is None:
            t = clock_ms()
        self.sio.emit(P.MOVE, {"seq": seq, "x": round(x, 2), "y": round(y, 2), "t": t})
        return seq

    def emit(self, event: str, payload: Any = None) -> None:
        """Send an event without waiting for an answer."""
        self.sio.emit(event, payload)

    def call(self, event: str, payload: Any = None, timeout: float = 10.0) -> Any:
        """Send an event and block until the host answers it."""
        return self.sio.call(event, payload, timeout=timeout)

    def request(self, event: str, payload: Any = None, tag: Any = None) -> None:
        """Send an event; its answer arrives later on the queue as ANSWER."""
        def on_answer(*reply: Any) -> None:
            self._put(ANSWER, {"event": event, "tag": tag, "reply": reply[0] if reply else None})
        self.sio.emit(event, payload, callback=on_answer)

    # -- callbacks: enqueue only ------------------------------------------------------
    def _put(self, kind: str, data: Any) -> None:
        self.events.put(NetEvent(kind, data))

    def _wire_events(self) -> None:
        sio = self.sio

        @sio.event
        def connect() -> None:
            self.host_stopped = False
            sio.reconnection = self._reconnect
            self.positions.clear()
            self._put(CONNECTED, {})
            # The first join of a session asks for nothing old (unread counts
            # cover it); a rejoin after a drop resumes after the last message seen.
            sio.emit(P.JOIN, {"last_dm_id": self.last_dm_id} if self._resume else {})

        @sio.event
        def connect_error(data: Any) -> None:
            message = data.get("message") if isinstance(data, dict) else str(data)
            self._last_refusal = message  # the host's own words, for connect() to raise
            extra = data.get("data") if isinstance(data, dict) else None
            if isinstance(extra, list) and extra:
                extra = extra[0]
            self._refusal_data = extra if isinstance(extra, dict) else {}
            self._put(CONNECT_FAILED, {"message": message})

        @sio.event
        def disconnect(reason: Any = None) -> None:
            stopped = self.host_stopped and self._reconnect
            reconnecting = not self._ended.is_set() and (sio.reconnection or stopped)
            self._put(DISCONNECTED, {"reason": str(reason), "reconnecting": reconnecting,
                                     "host_stopped": self.host_stopped})
            if reconnecting and stopped:
                threading.Thread(target=self._retry_after_shutdown, name="host-retry",
                                 daemon=True).start()

        def make_handler(kind: str):
            def handler(data: Any = None) -> None:
                if isinstance(data, bytes):
                    data = self._decode(kind, data)
                    if data is None:
                        return
                self._track(kind, data)
                self._put(kind, data)
            return handler

        for kind in SERVER_EVENTS:
            sio.on(kind, make_handler(kind))

    def _decode(self, kind: str, data: bytes) -> dict | None:
        """A binary ``snapshot`` or ``area`` as the payload the game reads
        (see ``protocol.PositionBook``); None for one it cannot read (an
        unknown wire version: this client is older than the host)."""
        try:
            if kind == P.SNAPSHOT:
                return self.positions.snapshot(data)
            if kind == P.AREA:
                return self.positions.area(data)
        except P.ProtocolError as exc:
            self.undecoded += 1
            self.last_undecoded = exc.message
        return None

    def _track(self, kind: str, data: Any) -> None:
        """Remember what is needed to resume after a reconnect."""
        if not isinstance(data, dict):
            return
        if kind == P.DM_MESSAGE or kind == P.DM_UNREAD:
            message = data if kind == P.DM_MESSAGE else data.get("message") or {}
            if self.session and message.get("to") == self.session.name:
                self.last_dm_id = max(self.last_dm_id, int(message.get("id", 0)))
        elif kind == P.WELCOME:
            for message in data.get("missed_messages", []):
                self.last_dm_id = max(self.last_dm_id, int(message.get("id", 0)))
            newest = data.get("last_dm_id")
            if isinstance(newest, int) and not isinstance(newest, bool):
                self.last_dm_id = max(self.last_dm_id, newest)
            self._resume = True
            self._pace(data)
        elif kind == P.PACE:
            self._pace(data)
        elif kind == P.SESSION_ENDED and data.get("reason") in FINAL_ENDS:
            # Do not fight the other login, or the moderator, by reconnecting.
            self._ended.set()
            self.sio.reconnection = False
        elif kind == P.SESSION_ENDED and data.get("reason") == P.END_HOST_SHUTDOWN:
            # Our own, slower retries take over from Socket.IO's quick ones.
            self.host_stopped = True
            self.sio.reconnection = False

    def _pace(self, data: dict) -> None:
        rate = data.get("tick_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate <= 1000:
            self.tick_rate = float(rate)
        self.overloaded = data.get("overloaded") is True

    def _retry_after_shutdown(self) -> None:
        """Wait for a stopped host to come back: ask its health page with a
        growing delay (no Socket.IO handshakes at a closed port), then connect."""
        attempt = 0
        while not self._ended.is_set():
            delay = SHUTDOWN_RETRY_S[min(attempt, len(SHUTDOWN_RETRY_S) - 1)]
            delay *= random.uniform(0.8, 1.2)
            attempt += 1
            self._put(RETRYING, {"in_s": delay, "attempt": attempt})
            if self._ended.wait(delay):
                return
            if not probe(self.server_url, timeout=2.0):
                continue
            try:
                self.sio.connect(self.server_url, auth=self._auth, transports=["websocket"],
                                 wait_timeout=5.0)
                return
            except (socketio.exceptions.ConnectionError, ValueError):
                continue

    # -- helpers for scripts ----------------------------------------------------------
    def wait_for(self, kind: str, timeout: float = 10.0, match=None) -> NetEvent:
        """Drain the queue until an event of ``kind`` (matching ``match``) arrives.

        Events of other kinds are kept in ``skipped`` so scripts can look at them.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no '{kind}' event within {timeout} s")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event.kind == kind and (match is None or match(event.data)):
                return event
            self.skipped.append(event)

    def wait_joined(self, who: int | str, timeout: float = 10.0) -> dict:
        """Wait until a ``players_joined`` lists the player with this id or
        name; returns that player's object."""
        event = self.wait_for(P.PLAYERS_JOINED, timeout, lambda d: _listed(d.get("players"), who))
        return _listed(event.data["players"], who)

    def wait_left(self, who: int | str, timeout: float = 10.0) -> NetEvent:
        """Wait until a ``players_left`` lists the player with this id or name."""
        def match(data: dict) -> bool:
            return who in (data.get("ids") if isinstance(who, int) else data.get("names") or ())
        return self.wait_for(P.PLAYERS_LEFT, timeout, match)

    def drain(self) -> list[NetEvent]:
        """Everything queued right now, without waiting."""
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out


def _listed(players: Any, who: int | str) -> dict | None:
    """The player object with this id (int) or name (str) in a list of them."""
    key = "id" if isinstance(who, int) else "name"
    return next((p for p in players or () if isinstance(p, dict) and p.get(key) == who), None)


def _refusal_text(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    return text or "the host refused the connection"


def probe(server_url: str, timeout: float = 1.0) -> bool:
    """True when a host answers at ``server_url``."""
    try:
        reply = requests.get(normalise_url(server_url) + P.HTTP_HEALTH, timeout=timeout)
        return reply.ok and reply.json().get("game") == "pixel-commons"
    except (requests.RequestException, ValueError):
        return False


def registration(server_url: str, timeout: float = 2.0) -> str | None:
    """Who may register on the host: "open", "invite_only" or "closed"
    (``/api/health``); None when the host does not say."""
    try:
        reply = requests.get(normalise_url(server_url) + P.HTTP_HEALTH, timeout=timeout)
        value = reply.json().get("registration") if reply.ok else None
    except (requests.RequestException, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
