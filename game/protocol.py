"""The wire protocol between host and clients: event names, payload shapes,
limits and validation.

Pure Python (no pygame, Flask or sqlite).  The host validates every inbound
payload with the ``parse_*`` functions below; the client uses the same
functions and constants, so both sides agree on one definition.  Everything
on the wire is JSON.  ``docs/protocol.md`` documents the same names.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1

# -- HTTP endpoints -----------------------------------------------------------
HTTP_REGISTER = "/api/register"
HTTP_LOGIN = "/api/login"
HTTP_LOGOUT = "/api/logout"
HTTP_HEALTH = "/api/health"
HTTP_STATS = "/api/stats"

# -- Socket.IO events: client -> host -------------------------------------------
JOIN = "join"                # enter the world after the connection is accepted
MOVE = "move"                # {seq, x, y}
DM_OPEN = "dm_open"          # {peer} -> ack {ok, peer, messages, has_more}
DM_CLOSE = "dm_close"        # {peer}
DM_SEND = "dm_send"          # {to, text} -> ack {ok, message}
DM_HISTORY = "dm_history"    # {peer, before_id, limit} -> ack {ok, messages, has_more}
DIRECTORY = "directory"      # {} -> ack {ok, players: [{name, online}]}
PING = "ping"                # {t} -> ack {t, server_time}
LOGOUT = "logout"            # {} end this session and revoke the token

CLIENT_EVENTS = frozenset({JOIN, MOVE, DM_OPEN, DM_CLOSE, DM_SEND, DM_HISTORY,
                           DIRECTORY, PING, LOGOUT})

# -- Socket.IO events: host -> client -------------------------------------------
WELCOME = "welcome"              # answer to join: you, players, unread, world
PLAYER_JOINED = "player_joined"  # {id, name, x, y}
PLAYER_LEFT = "player_left"      # {id, name}
SNAPSHOT = "snapshot"            # {tick, t, p: [id, x, y, ...], gone?: [id, ...]} (your area)
AREA = "area"                    # {enter: [id, x, y, ...], leave: [id, ...], reset} your area changed
CORRECTION = "correction"        # {seq, x, y, reason}
DM_MESSAGE = "dm_message"        # a message in a conversation the client has open
DM_UNREAD = "dm_unread"          # {peer, unread, message} for a closed conversation
DM_PRESENCE = "dm_presence"      # {peer, state: "entered" | "left"}
ERROR = "error"                  # {code, message, event}
SESSION_ENDED = "session_ended"  # {reason, message} just before the host disconnects

# -- Error codes ---------------------------------------------------------------
E_BAD_PAYLOAD = "bad_payload"
E_UNKNOWN_EVENT = "unknown_event"
E_RATE_LIMITED = "rate_limited"
E_NOT_JOINED = "not_joined"
E_NO_SUCH_PLAYER = "no_such_player"
E_NOT_OPEN = "conversation_not_open"
E_AUTH_REQUIRED = "auth_required"
E_INVALID_TOKEN = "invalid_token"
E_BAD_CREDENTIALS = "bad_credentials"
E_NAME_TAKEN = "name_taken"
E_BAD_REQUEST = "bad_request"
E_THROTTLED = "throttled"
E_INTERNAL = "internal_error"
E_FORBIDDEN_ORIGIN = "forbidden_origin"

# Reasons in SESSION_ENDED.
END_REPLACED = "logged_in_elsewhere"
END_LOGGED_OUT = "logged_out"
END_FLOODING = "flooding"
END_JOIN_TIMEOUT = "join_timeout"
END_HOST_SHUTDOWN = "host_shutdown"  # the host is stopping; it may come back

# -- Connection limits: what the host allows any one connection ----------------
# Packets of any kind (events, acks, junk) per second; extra ones are dropped
# with a rate_limited error, and a connection that has had FLOOD_DROPS_MAX
# packets dropped within FLOOD_WINDOW_S is disconnected.
PACKETS_PER_SECOND = 100
FLOOD_DROPS_MAX = 500
FLOOD_WINDOW_S = 10.0
# An Engine.IO connection without an accepted Socket.IO CONNECT (a valid
# token) is closed after this many seconds; so is one the host has ended.
CONNECT_TIMEOUT_S = 5.0
# A logged-in connection that has not sent join by then is ended.
JOIN_TIMEOUT_S = 10.0
# Packets queued for a client that does not read; past this it is dropped.
OUTBOX_MAX_PACKETS = 200
# An HTTP connection that sends no request for this long is closed.
HTTP_IDLE_TIMEOUT_S = 10.0
# A request (request line, headers and body) must arrive whole within this
# many seconds of its connection opening or of the previous answer on it.
HTTP_REQUEST_DEADLINE_S = 10.0
HTTP_BODY_MAX_BYTES = 4096
# Heartbeat: a client silent for PING_INTERVAL_S + PING_TIMEOUT_S is dropped.
PING_INTERVAL_S = 5.0
PING_TIMEOUT_S = 10.0
# Failed logins allowed per account and, separately, per address.
LOGIN_FAILURES_MAX = 5
LOGIN_WINDOW_S = 60.0
# Connected players' positions reach the disk at least this often.
SAVE_INTERVAL_S = 0.5
# Messages replayed to a resuming client in welcome.missed_messages.
MISSED_MESSAGES_MAX = 500
TOKEN_TTL_S = 24 * 3600
TOKEN_MAX_CHARS = 512

# -- Limits ------------------------------------------------------------------
USERNAME_RE = re.compile(r"[A-Za-z0-9_-]{3,20}")  # always used with fullmatch
PASSWORD_MIN = 8
PASSWORD_MAX = 256
DM_TEXT_MAX = 500
HISTORY_PAGE_DEFAULT = 50
HISTORY_PAGE_MAX = 100
MAX_COORD = 1_000_000.0
MAX_SEQ = 2**53 - 1
MOVES_PER_SECOND = 30
DMS_PER_WINDOW = 20
DM_WINDOW_S = 10.0
MAX_FRAME_BYTES = 64 * 1024
DIRECTORY_MAX = 200
# Interest management: the world is cut into square cells; a client hears
# about the players in the cells within AREA_RADIUS_CELLS of its own cell, so
# it always sees everyone within AREA_GUARANTEED_PX on both axes.
AREA_CELL_PX = 256
AREA_RADIUS_CELLS = 2
AREA_GUARANTEED_PX = AREA_CELL_PX * AREA_RADIUS_CELLS


class ProtocolError(ValueError):
    """A payload that breaks the protocol; carries the error code to send back."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def as_payload(self, event: str | None = None) -> dict[str, Any]:
        return error_payload(self.code, self.message, event)


def error_payload(code: str, message: str, event: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"code": code, "message": message}
    if event is not None:
        payload["event"] = event
    return payload


# -- payload shapes ---------------------------------------------------------------
@dataclass(frozen=True)
class Move:
    seq: int
    x: float
    y: float


@dataclass(frozen=True)
class PeerRef:
    peer: str


@dataclass(frozen=True)
class DmSend:
    to: str
    text: str


@dataclass(frozen=True)
class HistoryRequest:
    peer: str
    before_id: int | None
    limit: int


@dataclass(frozen=True)
class JoinRequest:
    last_dm_id: int | None


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


# -- field checks -----------------------------------------------------------------
def _require_dict(data: Any, allowed: set[str]) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(E_BAD_PAYLOAD, f"payload must be a JSON object, got {_type_name(data)}")
    unknown = set(data) - allowed
    if unknown:
        names = ", ".join(sorted(str(k)[:40] for k in unknown)[:5])
        raise ProtocolError(E_BAD_PAYLOAD, f"unknown field(s): {names}")
    return data


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            type(None): "null", int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _int(data: dict[str, Any], key: str, *, lo: int, hi: int, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be an integer, got {_type_name(value)}")
    if not lo <= value <= hi:
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be between {lo} and {hi}")
    return value


def _coord(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if value is None:
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be a number, got {_type_name(value)}")
    try:
        value = float(value)
    except OverflowError:  # an integer too big for a float
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' is out of range") from None
    if not math.isfinite(value):
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be a finite number")
    if abs(value) > MAX_COORD:
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' is out of range")
    return value


def _username(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be a username string")
    if not USERNAME_RE.fullmatch(value):
        raise ProtocolError(E_BAD_PAYLOAD,
                            f"'{key}' must be 3 to 20 letters, digits, '_' or '-'")
    return value


def is_valid_username(name: Any) -> bool:
    return isinstance(name, str) and bool(USERNAME_RE.fullmatch(name))


def clean_dm_text(text: Any) -> str:
    """Trim a message and check its length; raise ProtocolError if unusable."""
    if not isinstance(text, str):
        raise ProtocolError(E_BAD_PAYLOAD, f"'text' must be a string, got {_type_name(text)}")
    text = text.strip()
    if not text:
        raise ProtocolError(E_BAD_PAYLOAD, "'text' is empty")
    if len(text) > DM_TEXT_MAX:
        raise ProtocolError(E_BAD_PAYLOAD, f"'text' is longer than {DM_TEXT_MAX} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise ProtocolError(E_BAD_PAYLOAD, "'text' contains control characters")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ProtocolError(E_BAD_PAYLOAD, "'text' is not valid Unicode (lone surrogate)")
    return text


# -- parsers (one per inbound payload) ----------------------------------------------
def parse_move(data: Any) -> Move:
    d = _require_dict(data, {"seq", "x", "y"})
    seq = _int(d, "seq", lo=0, hi=MAX_SEQ)
    assert seq is not None
    return Move(seq=seq, x=_coord(d, "x"), y=_coord(d, "y"))


def parse_peer(data: Any) -> PeerRef:
    d = _require_dict(data, {"peer"})
    return PeerRef(peer=_username(d, "peer"))


def parse_dm_send(data: Any) -> DmSend:
    d = _require_dict(data, {"to", "text"})
    to = _username(d, "to")
    return DmSend(to=to, text=clean_dm_text(d.get("text")))


def parse_history(data: Any) -> HistoryRequest:
    d = _require_dict(data, {"peer", "before_id", "limit"})
    peer = _username(d, "peer")
    before = _int(d, "before_id", lo=1, hi=MAX_SEQ, required=False)
    limit = _int(d, "limit", lo=1, hi=HISTORY_PAGE_MAX, required=False)
    return HistoryRequest(peer=peer, before_id=before, limit=limit or HISTORY_PAGE_DEFAULT)


def parse_join(data: Any) -> JoinRequest:
    d = _require_dict(data, {"last_dm_id"})
    return JoinRequest(last_dm_id=_int(d, "last_dm_id", lo=0, hi=MAX_SEQ, required=False))


def parse_empty(data: Any) -> None:
    _require_dict(data, set())


def parse_ping(data: Any) -> float | None:
    d = _require_dict(data, {"t"})
    t = d.get("t")
    if t is None:
        return None
    try:
        finite = not isinstance(t, bool) and isinstance(t, (int, float)) and math.isfinite(float(t))
    except OverflowError:  # an integer too big for a float
        finite = False
    if not finite:
        raise ProtocolError(E_BAD_PAYLOAD, "'t' must be a finite number")
    return float(t)


def parse_credentials(data: Any) -> Credentials:
    """Check a register/login body.  Login uses the same shape, so the same
    messages apply (a wrong shape is a 400, never a hint about accounts)."""
    if not isinstance(data, dict):
        raise ProtocolError(E_BAD_REQUEST, "body must be a JSON object with username and password")
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ProtocolError(E_BAD_REQUEST, "username and password must be strings")
    return Credentials(username=username, password=password)


def check_new_account(creds: Credentials) -> None:
    """Rules for a new account's name and password."""
    if not USERNAME_RE.fullmatch(creds.username):
        raise ProtocolError(E_BAD_REQUEST, "username must be 3 to 20 letters, digits, '_' or '-'")
    if len(creds.password) < PASSWORD_MIN:
        raise ProtocolError(E_BAD_REQUEST, f"password must be at least {PASSWORD_MIN} characters")
    if len(creds.password) > PASSWORD_MAX:
        raise ProtocolError(E_BAD_REQUEST, f"password must be at most {PASSWORD_MAX} characters")


# -- outbound helpers -------------------------------------------------------------
def pack_positions(entries: list[tuple[int, float, float]]) -> list[float]:
    """Flatten (id, x, y) triples into the compact snapshot list."""
    flat: list[float] = []
    for pid, x, y in entries:
        flat.extend((pid, round(x, 1), round(y, 1)))
    return flat


def unpack_positions(flat: Any) -> list[tuple[int, float, float]]:
    """Inverse of pack_positions, tolerant of junk (the client's side)."""
    if not isinstance(flat, list) or len(flat) % 3:
        raise ProtocolError(E_BAD_PAYLOAD, "snapshot positions must be a list of id, x, y triples")
    out = []
    for i in range(0, len(flat), 3):
        pid, x, y = flat[i], flat[i + 1], flat[i + 2]
        try:
            out.append((int(pid), float(x), float(y)))
        except (TypeError, ValueError, OverflowError):
            raise ProtocolError(E_BAD_PAYLOAD, "snapshot positions must be a list of id, x, y "
                                "triples of numbers") from None
    return out


def avatar_look(player_id: int, looks: int = 8) -> int:
    """Which avatar variant a player wears; derived from the id so every
    client draws the same player the same way without extra traffic."""
    return (player_id * 5 + 3) % looks
