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
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = 1

# -- HTTP endpoints -----------------------------------------------------------
HTTP_REGISTER = "/api/register"
HTTP_LOGIN = "/api/login"
HTTP_LOGOUT = "/api/logout"
HTTP_HEALTH = "/api/health"
HTTP_STATS = "/api/stats"
HTTP_MAPS = "/api/maps"      # GET /api/maps/<hash>.zip: a map's bundle (see map_url)
HTTP_ACCOUNT_DELETE = "/api/account/delete"  # {username, password} -> {ok}

# -- Socket.IO events: client -> host -------------------------------------------
JOIN = "join"                # enter the world after the connection is accepted
MOVE = "move"                # {seq, x, y, t?}
DM_OPEN = "dm_open"          # {peer} -> ack {ok, peer, messages, has_more}
DM_CLOSE = "dm_close"        # {peer}
DM_SEND = "dm_send"          # {to, text} -> ack {ok, message}
DM_HISTORY = "dm_history"    # {peer, before_id, limit} -> ack {ok, messages, has_more}
DIRECTORY = "directory"      # {} -> ack {ok, players: [{name, online}]}
PING = "ping"                # {t} -> ack {t, server_time}
LOGOUT = "logout"            # {} end this session and revoke the token
SET_LOOK = "set_look"        # a look object -> ack {ok, look}

# Keeping order: the owner's and moderators' actions (see MOD_ACTIONS below).
MOD_KICK = "mod_kick"            # {name, reason} -> ack {ok}
MOD_MUTE = "mod_mute"            # {name, minutes, reason} -> ack {ok, until}
MOD_UNMUTE = "mod_unmute"        # {name} -> ack {ok}
MOD_BAN = "mod_ban"              # {name, minutes | null, reason} -> ack {ok, until}
MOD_UNBAN = "mod_unban"          # {name} -> ack {ok}
MOD_ANNOUNCE = "mod_announce"    # {text} -> ack {ok}
MOD_LIST = "mod_list"            # {} -> ack {ok, players: [...]}
MOD_PROMOTE = "mod_promote"      # {name} -> ack {ok} (owner only)
MOD_DEMOTE = "mod_demote"        # {name} -> ack {ok} (owner only)
MOD_AUDIT = "mod_audit"          # {before_id?, limit?} -> ack {ok, entries, more} (owner only)
MOD_SETTINGS = "mod_settings"    # {moderators_see_addresses?} -> ack {ok, settings} (owner only)
MOD_EVENTS = frozenset({MOD_KICK, MOD_MUTE, MOD_UNMUTE, MOD_BAN, MOD_UNBAN, MOD_ANNOUNCE,
                        MOD_LIST, MOD_PROMOTE, MOD_DEMOTE, MOD_AUDIT, MOD_SETTINGS})

CLIENT_EVENTS = frozenset({JOIN, MOVE, DM_OPEN, DM_CLOSE, DM_SEND, DM_HISTORY,
                           DIRECTORY, PING, LOGOUT, SET_LOOK}) | MOD_EVENTS

# -- Socket.IO events: host -> client -------------------------------------------
WELCOME = "welcome"              # answer to join: you, players, unread, world
PLAYERS_JOINED = "players_joined"  # {players: [player, ...]} joined since the last tick
PLAYERS_LEFT = "players_left"      # {ids: [id, ...], names: [name, ...]} left since the last tick
SNAPSHOT = "snapshot"            # {tick, t, p: [id, x, y, ...], gone?: [id, ...]} (your area)
AREA = "area"                    # {enter: [id, x, y, ...], leave: [id, ...], reset} your area changed
CORRECTION = "correction"        # {seq, x, y, reason}
DM_MESSAGE = "dm_message"        # a message in a conversation the client has open
DM_UNREAD = "dm_unread"          # {peer, unread, message} for a closed conversation
DM_PRESENCE = "dm_presence"      # {peer, state: "entered" | "left"}
ERROR = "error"                  # {code, message, event}
SESSION_ENDED = "session_ended"  # {reason, message} just before the host disconnects
LOOK_CHANGED = "look_changed"    # {id, name, look} another player changed their look
MAP_CHANGED = "map_changed"      # {map, you, players} you walked through an exit to another map
PLAYER_MAP = "player_map"        # {id, name, map} someone online is on another map now
ANNOUNCEMENT = "announcement"    # {text, from, at} from the owner or a moderator, to everyone
MUTED = "muted"                  # {until, reason} you may not send messages until then
UNMUTED = "unmuted"              # {} your mute ended
ROLE_CHANGED = "role_changed"    # {id, name, role} (and can, to the player concerned)
PACE = "pace"                    # {tick_rate, overloaded} the host changed its snapshot rate

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
E_FORBIDDEN_HOST = "forbidden_host"
E_FORBIDDEN = "forbidden"
E_STORAGE_FULL = "storage_full"
E_BAD_LOOK = "bad_look"
E_UNKNOWN_PLAYER = "unknown_player"      # a moderator action names no account
E_NOT_ON_OWNER = "not_on_owner"          # nobody acts on the owner
E_NOT_ON_MODERATOR = "not_on_moderator"  # a moderator cannot act on another moderator
E_NOT_ONLINE = "not_online"              # kick of a player who is not connected
E_MUTED = "muted"                        # dm_send while muted (with until)
E_BANNED = "banned"                      # login, connect or join of a banned account
E_NOT_FOUND = "not_found"    # HTTP 404: no such endpoint, or no map bundle with that hash
E_REGISTRATION_CLOSED = "registration_closed"  # register on a host started with --no-registration
E_NOT_INVITED = "not_invited"                  # register on --invite-only, name not invited
E_NAME_RETIRED = "name_retired"                # the name of a deleted account, cooling off

# Registration modes, in /api/health's "registration".
REGISTRATION_OPEN = "open"
REGISTRATION_INVITE_ONLY = "invite_only"
REGISTRATION_CLOSED = "closed"
REGISTRATION_MODES = (REGISTRATION_OPEN, REGISTRATION_INVITE_ONLY, REGISTRATION_CLOSED)
# A deleted account's name can be registered again after this many days.
RETIRED_NAME_DAYS = 30
# The name shown for the other side of a conversation with a deleted account.
DELETED_PLAYER_NAME = "deleted player"

# Reasons in SESSION_ENDED.
END_REPLACED = "logged_in_elsewhere"
END_LOGGED_OUT = "logged_out"
END_FLOODING = "flooding"
END_JOIN_TIMEOUT = "join_timeout"
END_HOST_SHUTDOWN = "host_shutdown"  # the host is stopping; it may come back
END_KICKED = "kicked"                # message: the reason; the player may come back
END_BANNED = "banned"                # message: the reason; until (ms) or null for good
END_ACCOUNT_DELETED = "account_deleted"
END_PASSWORD_RESET = "password_reset"  # the owner or console set a new password

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
# Registrations allowed per address in the same window (each costs a hash).
REGISTRATIONS_MAX = 10
# Joins allowed per account in any JOIN_WINDOW_S (a join costs disk reads and
# a message to everyone in the world; reconnecting cannot refill anything).
JOINS_MAX = 10
JOIN_WINDOW_S = 60.0
# Connected players' positions reach the disk at least this often.
SAVE_INTERVAL_S = 0.5
# Messages replayed to a resuming client in welcome.missed_messages.
MISSED_MESSAGES_MAX = 500
TOKEN_TTL_S = 24 * 3600
TOKEN_MAX_CHARS = 512

# -- Keeping order -------------------------------------------------------------
ROLE_OWNER = "owner"
ROLE_MODERATOR = "moderator"
ROLE_PLAYER = "player"
ROLES = (ROLE_OWNER, ROLE_MODERATOR, ROLE_PLAYER)
# What each role may do: welcome.can and role_changed.can hold these names.
MOD_ACTIONS = ("kick", "mute", "unmute", "ban", "unban", "announce", "list")
OWNER_ACTIONS = MOD_ACTIONS + ("promote", "demote", "audit", "settings")
MOD_REASON_MAX = 200              # characters in a kick/mute/ban reason
ANNOUNCEMENT_TEXT_MAX = 300       # characters in an announcement
# Durations are in minutes and may be fractional, down to MOD_SECONDS_MIN seconds.
MOD_SECONDS_MIN = 1
MUTE_MINUTES_MAX = 30 * 24 * 60   # a mute lasts 30 days at most
BAN_MINUTES_MAX = 10 * 365 * 24 * 60  # a ban for longer is a ban for good (minutes: null)
# Moderator actions (every mod_* event) allowed per account in MOD_WINDOW_S.
MOD_ACTIONS_PER_WINDOW = 30
MOD_WINDOW_S = 60.0
AUDIT_PAGE_DEFAULT = 50
AUDIT_PAGE_MAX = 200


def can(role: str) -> list[str]:
    """The actions a role may use (welcome.can)."""
    if role == ROLE_OWNER:
        return list(OWNER_ACTIONS)
    if role == ROLE_MODERATOR:
        return list(MOD_ACTIONS)
    return []


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
# After walking through an exit, a move counts only once it lands within this
# many pixels of where the host put the player; moves sent before the client
# knew it had changed map are refused (correction reason "other_map").
ARRIVAL_REACH_PX = 48.0
DMS_PER_WINDOW = 20
DM_WINDOW_S = 10.0
MAX_FRAME_BYTES = 64 * 1024
DIRECTORY_MAX = 200
# A player may change their look this many times per LOOK_WINDOW_S.
LOOK_CHANGES_PER_WINDOW = 5
LOOK_WINDOW_S = 60.0
# Interest management: the world is cut into square cells; a client hears
# about the players in the cells within AREA_RADIUS_CELLS of its own cell, so
# it always sees everyone within AREA_GUARANTEED_PX on both axes.
AREA_CELL_PX = 256
AREA_RADIUS_CELLS = 2
AREA_GUARANTEED_PX = AREA_CELL_PX * AREA_RADIUS_CELLS
# Maps: a map's bundle (the map and every file it references, zipped) holds at
# most this many bytes of files, and is itself at most this many bytes.
MAP_BUNDLE_MAX_BYTES = 32 * 1024 * 1024
MAP_HASH_RE = re.compile(r"[0-9a-f]{64}")  # a bundle's sha256, lower-case hex


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
    # The client's monotonic clock (ms) when it reached (x, y); None: not given.
    t: int | None = None


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


# Characters that would make text render as something other than what it
# is: bidi controls, zero-width and other invisible formatting characters,
# line and paragraph separators, and the invisible Hangul fillers.
INVISIBLE_LETTERS = frozenset({0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0})
JOINERS = frozenset({0x200C, 0x200D})  # zero-width non-joiner and joiner
# Joiners are kept between two letters, marks or symbols from U+0590 up (emoji
# ZWJ sequences such as U+1F469 U+200D U+1F4BB, Persian and Indic words);
# between Latin, Greek or Cyrillic letters they only hide themselves.
JOINER_NEIGHBOUR_MIN = 0x0590


def _joiner_ok(text: str, i: int) -> bool:
    if i == 0 or i == len(text) - 1:
        return False
    for ch in (text[i - 1], text[i + 1]):
        if ord(ch) < JOINER_NEIGHBOUR_MIN or unicodedata.category(ch)[0] not in "LMS":
            return False
    return True


def hidden_characters(text: str) -> list[int]:
    """Indexes of the characters DM text may not contain: C0 controls other
    than newline and tab, DEL, C1 controls, format characters (bidi
    overrides, embeddings, isolates and marks, zero-width space, word joiner,
    byte order mark, soft hyphen, tags, ...) except joiners between two
    non-Latin characters, line and paragraph separators, invisible fillers."""
    bad = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if code < 0x7F and (code >= 32 or ch in "\n\t"):
            continue  # plain ASCII, the hot case
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or code in INVISIBLE_LETTERS:
            bad.append(i)
        elif category == "Cf" and not (code in JOINERS and _joiner_ok(text, i)):
            bad.append(i)
    return bad


def visible_text(text: Any) -> str:
    """Text as a client should draw it: every character a DM may not contain
    (see hidden_characters) shown as a visible ``[U+XXXX]``, so a message
    stored before the rules (or sent by a host that does not apply them)
    cannot reorder or hide what is drawn.  Lone surrogates become U+FFFD."""
    if not isinstance(text, str):
        return ""
    bad = hidden_characters(text)
    out = list(text)
    for i in bad:
        out[i] = f"[U+{ord(text[i]):04X}]"
    return "".join(ch if not 0xD800 <= ord(ch[0]) <= 0xDFFF else "\ufffd" for ch in out)


def clean_dm_text(text: Any) -> str:
    """Trim a message and check its length; raise ProtocolError if unusable."""
    if not isinstance(text, str):
        raise ProtocolError(E_BAD_PAYLOAD, f"'text' must be a string, got {_type_name(text)}")
    text = text.strip()
    if not text:
        raise ProtocolError(E_BAD_PAYLOAD, "'text' is empty")
    if len(text) > DM_TEXT_MAX:
        raise ProtocolError(E_BAD_PAYLOAD, f"'text' is longer than {DM_TEXT_MAX} characters")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ProtocolError(E_BAD_PAYLOAD, "'text' is not valid Unicode (lone surrogate)")
    bad = hidden_characters(text)
    if bad:
        first = ord(text[bad[0]])
        if unicodedata.category(text[bad[0]]) == "Cc":
            raise ProtocolError(E_BAD_PAYLOAD, f"'text' contains control characters (U+{first:04X})")
        raise ProtocolError(E_BAD_PAYLOAD, "'text' contains invisible or direction-changing "
                            f"characters (U+{first:04X})")
    return text


# -- parsers (one per inbound payload) ----------------------------------------------
def parse_move(data: Any) -> Move:
    d = _require_dict(data, {"seq", "x", "y", "t"})
    seq = _int(d, "seq", lo=0, hi=MAX_SEQ)
    assert seq is not None
    return Move(seq=seq, x=_coord(d, "x"), y=_coord(d, "y"),
                t=_int(d, "t", lo=0, hi=MAX_SEQ, required=False))


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


@dataclass(frozen=True)
class ModRequest:
    """A moderator action's payload: whom (name), for how long (minutes; None:
    for good, bans only), why (reason), or an announcement's text."""

    name: str | None = None
    minutes: float | None = None
    reason: str = ""
    text: str = ""


def clean_mod_text(value: Any, key: str, limit: int, required: bool) -> str:
    """A reason or an announcement: the rules of DM text, with its own limit."""
    if value is None and not required:
        return ""
    if isinstance(value, str) and not value.strip() and not required:
        return ""
    try:
        text = clean_dm_text(value)
    except ProtocolError as exc:
        raise ProtocolError(exc.code, exc.message.replace("'text'", f"'{key}'")) from None
    if len(text) > limit:
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' is longer than {limit} characters")
    return text


def _minutes(d: dict[str, Any], lo: float, hi: float, allow_null: bool) -> float | None:
    if "minutes" not in d and not allow_null:
        raise ProtocolError(E_BAD_PAYLOAD, "'minutes' is required")
    value = d.get("minutes")
    if value is None:
        if allow_null:
            return None
        raise ProtocolError(E_BAD_PAYLOAD, "'minutes' must be a number")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(E_BAD_PAYLOAD,
                            f"'minutes' must be a number, got {_type_name(value)}")
    if not lo <= value <= hi:
        raise ProtocolError(E_BAD_PAYLOAD, f"'minutes' must be between {lo:.4g} and {hi:g}")
    return float(value)


def parse_mod(event: str, data: Any) -> ModRequest:
    """Check the payload of a ``mod_*`` event (not mod_audit/mod_settings)."""
    if event in (MOD_KICK, MOD_MUTE, MOD_BAN):
        fields = {"name", "reason"} | ({"minutes"} if event != MOD_KICK else set())
        d = _require_dict(data, fields)
        name = _username(d, "name")
        minutes = None
        if event == MOD_MUTE:
            minutes = _minutes(d, MOD_SECONDS_MIN / 60, MUTE_MINUTES_MAX, allow_null=False)
        elif event == MOD_BAN:
            minutes = _minutes(d, MOD_SECONDS_MIN / 60, BAN_MINUTES_MAX, allow_null=True)
        return ModRequest(name=name, minutes=minutes,
                          reason=clean_mod_text(d.get("reason"), "reason", MOD_REASON_MAX,
                                                required=False))
    if event in (MOD_UNMUTE, MOD_UNBAN, MOD_PROMOTE, MOD_DEMOTE):
        return ModRequest(name=_username(_require_dict(data, {"name"}), "name"))
    if event == MOD_ANNOUNCE:
        d = _require_dict(data, {"text"})
        return ModRequest(text=clean_mod_text(d.get("text"), "text", ANNOUNCEMENT_TEXT_MAX,
                                              required=True))
    _require_dict(data, set())
    return ModRequest()


def parse_audit(data: Any) -> tuple[int | None, int]:
    """mod_audit: (before_id, limit)."""
    d = _require_dict(data, {"before_id", "limit"})
    before = _int(d, "before_id", lo=1, hi=MAX_SEQ, required=False)
    limit = _int(d, "limit", lo=1, hi=AUDIT_PAGE_MAX, required=False)
    return before, limit or AUDIT_PAGE_DEFAULT


def parse_settings(data: Any) -> dict[str, bool]:
    """mod_settings: the settings to change (none: just read them)."""
    d = _require_dict(data, {"moderators_see_addresses"})
    if "moderators_see_addresses" in d and not isinstance(d["moderators_see_addresses"], bool):
        raise ProtocolError(E_BAD_PAYLOAD, "'moderators_see_addresses' must be true or false")
    return dict(d)


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


def conversation_key(a: int, b: int) -> str:
    """The one name of the conversation between two players, whoever sends:
    their ids, lower first ("3:7").  The host files messages under it and
    names the conversation's room after it."""
    lo, hi = sorted((int(a), int(b)))
    return f"{lo}:{hi}"


def map_url(bundle_hash: str) -> str:
    """Where the host serves the bundle with this hash."""
    return f"{HTTP_MAPS}/{bundle_hash}.zip"


def map_description(name: str, file: str, bundle_hash: str, size: int) -> dict[str, Any]:
    """A map as the host describes it in ``welcome`` and ``/api/health``."""
    return {"name": name, "file": file, "hash": bundle_hash, "size": size,
            "url": map_url(bundle_hash)}


# -- looks ---------------------------------------------------------------------------
# What a player looks like: one name from each list.  The colours behind the
# names are art (assets/avatars.json, drawn by assets/make_assets.py); the
# protocol only fixes which names exist.  8 x 8 x 12 x 18 x 18 x 18 =
# 4,478,976 combinations, so a crowd of 50 random looks almost never repeats.
CLOTHES_COLOURS = ("red", "coral", "orange", "gold", "lime", "green", "teal", "sky", "blue",
                   "navy", "purple", "pink", "white", "grey", "charcoal", "brown", "tan",
                   "denim")
LOOK_OPTIONS: dict[str, tuple[str, ...]] = {
    "skin": ("porcelain", "fair", "light", "tan", "olive", "brown", "dark", "deep"),
    "hair": ("short", "long", "spiky", "bun", "cap", "ponytail", "bob", "afro"),
    "hair_colour": ("black", "dark_brown", "brown", "auburn", "ginger", "blonde", "platinum",
                    "grey", "pink", "blue", "green", "purple"),
    "shirt": CLOTHES_COLOURS,
    "trousers": CLOTHES_COLOURS,
    "shoes": CLOTHES_COLOURS,
}
LOOK_FIELDS = tuple(LOOK_OPTIONS)


@dataclass(frozen=True)
class Look:
    """A player's chosen look; every field is one of ``LOOK_OPTIONS[field]``."""

    skin: str
    hair: str
    hair_colour: str
    shirt: str
    trousers: str
    shoes: str

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in LOOK_FIELDS}

    def replace(self, field_name: str, value: str) -> "Look":
        return Look(**{**self.as_dict(), field_name: value})


def look_combinations() -> int:
    count = 1
    for options in LOOK_OPTIONS.values():
        count *= len(options)
    return count


def parse_look(data: Any, code: str = E_BAD_LOOK) -> Look:
    """Check a look object: every field present, each one of its names."""
    if not isinstance(data, dict):
        raise ProtocolError(code, f"a look must be a JSON object with {', '.join(LOOK_FIELDS)}")
    unknown = set(data) - set(LOOK_FIELDS)
    if unknown:
        names = ", ".join(sorted(str(k)[:40] for k in unknown)[:5])
        raise ProtocolError(code, f"unknown look field(s): {names}")
    values = {}
    for name, options in LOOK_OPTIONS.items():
        value = data.get(name)
        if value is None:
            raise ProtocolError(code, f"the look needs '{name}'")
        if not isinstance(value, str) or value not in options:
            raise ProtocolError(code, f"look '{name}' must be one of: {', '.join(options)}")
        values[name] = value
    return Look(**values)


def parse_registration_look(body: Any) -> Look | None:
    """The optional ``look`` of a register body (None when left out)."""
    if not isinstance(body, dict) or body.get("look") is None:
        return None
    return parse_look(body["look"])


def _mix(value: int) -> int:
    """A 64-bit integer hash (splitmix64's finaliser): nearby ids, far-apart results."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def default_look(player_id: int) -> Look:
    """The look of an account that never chose one: varied, and the same on
    every client because it comes from the id."""
    value = _mix(int(player_id))
    picks = {}
    for name, options in LOOK_OPTIONS.items():
        value, index = divmod(value, len(options))
        picks[name] = options[index]
    return Look(**picks)


def random_look(rng: Any) -> Look:
    """A random look (``rng`` is a ``random.Random``-like object)."""
    return Look(**{name: rng.choice(options) for name, options in LOOK_OPTIONS.items()})


def look_or_default(data: Any, player_id: int) -> Look:
    """A look from the wire, or the default look for junk (the client's side)."""
    try:
        return parse_look(data)
    except ProtocolError:
        return default_look(player_id)


# -- Blocking (see docs/protocol.md, "Blocking") ----------------------------------
BLOCK = "block"              # {name} -> ack {ok, name, blocked: true}
UNBLOCK = "unblock"          # {name} -> ack {ok, name, blocked: false}
CLIENT_EVENTS = CLIENT_EVENTS | {BLOCK, UNBLOCK}

E_NOT_DELIVERED = "not_delivered"        # dm_send to someone who blocked you
E_BLOCKED = "blocked"                    # dm_send to someone you block
E_CANNOT_BLOCK_SELF = "cannot_block_self"
E_TOO_MANY_BLOCKS = "too_many_blocks"

BLOCKS_MAX = 500  # players one account may block at once


@dataclass(frozen=True)
class NameRef:
    name: str


def parse_name(data: Any) -> NameRef:
    d = _require_dict(data, {"name"})
    return NameRef(name=_username(d, "name"))


# -- Emotes, typing and away (see docs/protocol.md, section 16) ---------------------
EMOTE = "emote"              # {emote} -> ack {ok}; the players who see you get emoted
AWAY = "away"                # {away} -> ack {ok, away}; everyone online gets player_away
# "typing" goes both ways: client -> host {to, typing}, host -> peer {from, name, typing}.
TYPING = "typing"
CLIENT_EVENTS = CLIENT_EVENTS | {EMOTE, AWAY, TYPING}
EMOTED = "emoted"            # {from, name, emote} someone in your area emoted
PLAYER_AWAY = "player_away"  # {id, name, away} someone online went away or came back

E_UNKNOWN_EMOTE = "unknown_emote"        # emote names none of EMOTES

# The emotes, in the order of the number keys 1 to 6.
EMOTES = ("wave", "heart", "laugh", "question", "exclamation", "sleep")
# Emotes one player may send in any EMOTE_WINDOW_S; more are refused (rate_limited).
EMOTES_PER_WINDOW = 5
EMOTE_WINDOW_S = 5.0
# A client shows an emote this long over the avatar.
EMOTE_SHOW_S = 4.0
# Typing: a client sends {typing: true} at most once per TYPING_REFRESH_S while
# keys go into the box, {typing: false} on sending, leaving the conversation or
# after TYPING_IDLE_S without a key; a receiver forgets a "true" after
# TYPING_EXPIRE_S without another, so a lost "false" never sticks.
TYPING_REFRESH_S = 3.0
TYPING_IDLE_S = 5.0
TYPING_EXPIRE_S = 8.0
# typing events one player may send in any TYPING_WINDOW_S.
TYPING_PER_WINDOW = 20
TYPING_WINDOW_S = 10.0
# A client with no input (keys, mouse) for this long says it is away.
AWAY_AFTER_S = 180.0
# away changes one player may send in any AWAY_WINDOW_S.
AWAY_PER_WINDOW = 10
AWAY_WINDOW_S = 60.0


@dataclass(frozen=True)
class EmoteRequest:
    emote: str


@dataclass(frozen=True)
class TypingRequest:
    to: int
    typing: bool


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise ProtocolError(E_BAD_PAYLOAD, f"'{key}' must be true or false, got {_type_name(value)}")
    return value


def parse_emote(data: Any) -> EmoteRequest:
    d = _require_dict(data, {"emote"})
    emote = d.get("emote")
    if not isinstance(emote, str):
        raise ProtocolError(E_BAD_PAYLOAD, f"'emote' must be a string, got {_type_name(emote)}")
    if emote not in EMOTES:
        raise ProtocolError(E_UNKNOWN_EMOTE, f"unknown emote '{emote[:40]}'; one of: "
                            + ", ".join(EMOTES))
    return EmoteRequest(emote=emote)


def parse_typing(data: Any) -> TypingRequest:
    d = _require_dict(data, {"to", "typing"})
    to = _int(d, "to", lo=1, hi=MAX_SEQ)
    assert to is not None
    return TypingRequest(to=to, typing=_bool(d, "typing"))


def parse_away(data: Any) -> bool:
    return _bool(_require_dict(data, {"away"}), "away")

# -- snapshot and area on the wire: binary ------------------------------------------
# ``snapshot`` and ``area`` are Socket.IO binary events with one bytes argument
# (docs/protocol.md, "Binary snapshots and areas").  Positions are whole
# quarter pixels; a mover is sent either absolute or as a delta against the
# position the host last sent for it, which every client in its area holds.
# The delta is coded as the change of the mover's step (its last delta), so
# a player walking straight costs a zero: the "step" below.
WIRE_VERSION = 1                 # the first byte of every snapshot and area
POSITION_SCALE = 4               # positions on the wire are units of 1/4 px
DELTA_MAX = 127                  # a step, and its change, per axis fits one signed byte
KEYFRAME_TICKS = 100             # a mover goes absolute at least this often (ticks it moves on)
FLAG_DEFLATE = 0x01              # the body is raw DEFLATE (RFC 1951)
FLAG_RESET = 0x02                # area only: forget everyone, take enter as the whole area
DEFLATE_MIN_BYTES = 96           # bodies shorter than this are sent as they are
DEFLATE_LEVEL = 6
WIRE_BODY_MAX = 1 << 22          # a decoder refuses to inflate past this many bytes


def quantise(v: float) -> int:
    """A coordinate in wire units (whole quarter pixels, never negative)."""
    q = int(round(v * POSITION_SCALE))
    return q if q > 0 else 0


def dequantise(q: int) -> float:
    return q / POSITION_SCALE


def _put_varint(out: bytearray, n: int) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _put_ids(out: bytearray, ids: list[int]) -> None:
    """Ascending ids: the first as it is, then each minus the one before."""
    if not ids:
        return
    _put_varint(out, ids[0])
    gaps = [b - a for a, b in zip(ids, ids[1:])]
    if not gaps or max(gaps) < 0x80:
        out += bytes(gaps)  # every gap one byte: the usual case
        return
    for gap in gaps:
        _put_varint(out, gap)


def _finish(flags: int, body: bytearray, deflate: bool) -> bytes:
    if deflate and len(body) >= DEFLATE_MIN_BYTES:
        packed = zlib.compress(bytes(body), DEFLATE_LEVEL, -15)
        if len(packed) < len(body):
            return bytes((WIRE_VERSION, flags | FLAG_DEFLATE)) + packed
    return bytes((WIRE_VERSION, flags)) + body


def encode_snapshot(tick: int, t_ms: int, absolute: list[tuple[int, int, int]],
                    deltas: list[tuple[int, int, int]], gone: list[int] = (),
                    deflate: bool = True) -> bytes:
    """A snapshot's bytes.  ``absolute``: (id, qx, qy) in wire units;
    ``deltas``: (id, ax, ay), the change of each mover's step, each within
    +-DELTA_MAX; both sorted by id (an id in at most one of them); ``gone``: ids."""
    body = bytearray()
    _put_varint(body, tick)
    _put_varint(body, t_ms)
    _put_varint(body, len(absolute))
    _put_ids(body, [e[0] for e in absolute])
    for _, qx, qy in absolute:
        _put_varint(body, qx)
        _put_varint(body, qy)
    _put_varint(body, len(deltas))
    if deltas:
        ids, ax, ay = zip(*deltas)
        _put_ids(body, ids)
        flat = [0] * (2 * len(deltas))
        flat[0::2], flat[1::2] = ax, ay
        body += struct.pack(f"{len(flat)}b", *flat)
    gone = sorted(gone)
    _put_varint(body, len(gone))
    _put_ids(body, gone)
    return _finish(0, body, deflate)


def encode_area(enter: list[tuple[int, int, int, int, int]], leave: list[int], reset: bool,
                deflate: bool = True) -> bytes:
    """An area event's bytes: ``enter`` (id, qx, qy, sx, sy): position and
    step in wire units, as last sent; ``leave`` ids."""
    enter = sorted(enter)
    body = bytearray()
    _put_varint(body, len(enter))
    _put_ids(body, [e[0] for e in enter])
    for _, qx, qy, sx, sy in enter:
        _put_varint(body, qx)
        _put_varint(body, qy)
        body += struct.pack("bb", sx, sy)
    leave = sorted(leave)
    _put_varint(body, len(leave))
    _put_ids(body, leave)
    return _finish(FLAG_RESET if reset else 0, body, deflate)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.i = data, 0

    def varint(self) -> int:
        data, i, n, shift = self.data, self.i, 0, 0
        while True:
            if i >= len(data) or shift > 63:
                raise ProtocolError(E_BAD_PAYLOAD, "truncated or overlong varint")
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                self.i = i
                return n

    def ids(self, count: int) -> list[int]:
        out, prev = [], 0
        for _ in range(count):
            prev += self.varint()
            out.append(prev)
        return out

    def count(self, least_bytes: int) -> int:
        n = self.varint()
        if n * least_bytes > len(self.data) - self.i:
            raise ProtocolError(E_BAD_PAYLOAD, "count larger than the payload")
        return n

    def signed_bytes(self, count: int) -> tuple[int, ...]:
        end = self.i + count
        if end > len(self.data):
            raise ProtocolError(E_BAD_PAYLOAD, "truncated deltas")
        values = struct.unpack_from(f"{count}b", self.data, self.i)
        self.i = end
        return values


def _open(data: Any) -> tuple[int, _Reader]:
    """(flags, a reader over the body) of a binary snapshot or area."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 2:
        raise ProtocolError(E_BAD_PAYLOAD, "expected a binary payload")
    data = bytes(data)
    if data[0] != WIRE_VERSION:
        raise ProtocolError(E_BAD_PAYLOAD, f"unknown wire version {data[0]}")
    flags, body = data[1], data[2:]
    if flags & FLAG_DEFLATE:
        inflater = zlib.decompressobj(-15)
        try:
            body = inflater.decompress(body, WIRE_BODY_MAX)
        except zlib.error:
            raise ProtocolError(E_BAD_PAYLOAD, "bad DEFLATE data") from None
        if inflater.unconsumed_tail:
            raise ProtocolError(E_BAD_PAYLOAD, "body too large")
    return flags, _Reader(body)


@dataclass
class WireSnapshot:
    """A snapshot as on the wire: ``deltas`` still relative."""
    tick: int
    t: int
    absolute: list[tuple[int, int, int]]
    deltas: list[tuple[int, int, int]]
    gone: list[int]


def decode_snapshot(data: Any) -> WireSnapshot:
    flags, r = _open(data)
    tick, t = r.varint(), r.varint()
    n = r.count(3)
    ids = r.ids(n)
    absolute = [(pid, r.varint(), r.varint()) for pid in ids]
    n = r.count(3)
    ids = r.ids(n)
    d = r.signed_bytes(2 * n)
    deltas = [(pid, d[2 * k], d[2 * k + 1]) for k, pid in enumerate(ids)]
    gone = r.ids(r.count(1))
    return WireSnapshot(tick, t, absolute, deltas, gone)


def decode_area(data: Any) -> tuple[list[tuple[int, int, int, int, int]], list[int], bool]:
    """(enter as (id, qx, qy, sx, sy), leave ids, reset) of an area event."""
    flags, r = _open(data)
    ids = r.ids(r.count(4))
    enter = []
    for pid in ids:
        qx, qy = r.varint(), r.varint()
        enter.append((pid, qx, qy, *r.signed_bytes(2)))
    leave = r.ids(r.count(1))
    return enter, leave, bool(flags & FLAG_RESET)


class PositionBook:
    """A client's side of the binary snapshots: the last position the host
    sent of every player in its area and its step, in wire units
    (``known[id] = (qx, qy, sx, sy)``), so deltas can be applied.  ``snapshot``/``area`` turn the bytes into the payloads the
    game reads: ``{"tick", "t", "p": [id, x, y, ...], "gone"?}`` and
    ``{"enter": [id, x, y, ...], "leave", "reset"}``, positions in pixels.

    A delta for a player it holds no position of is skipped (counted in
    ``unknown``); that player's next absolute entry brings it back."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[int, int, int, int]] = {}
        self.unknown = 0

    def clear(self) -> None:
        self.known.clear()

    def snapshot(self, data: Any) -> dict[str, Any]:
        snap = decode_snapshot(data)
        known, flat = self.known, []
        for pid, qx, qy in snap.absolute:
            known[pid] = (qx, qy, 0, 0)
            flat += (pid, qx / POSITION_SCALE, qy / POSITION_SCALE)
        for pid, ax, ay in snap.deltas:
            base = known.get(pid)
            if base is None:
                self.unknown += 1
                continue
            sx, sy = base[2] + ax, base[3] + ay
            qx, qy = base[0] + sx, base[1] + sy
            known[pid] = (qx, qy, sx, sy)
            flat += (pid, qx / POSITION_SCALE, qy / POSITION_SCALE)
        for pid in snap.gone:
            known.pop(pid, None)
        out: dict[str, Any] = {"tick": snap.tick, "t": snap.t, "p": flat}
        if snap.gone:
            out["gone"] = snap.gone
        return out

    def area(self, data: Any) -> dict[str, Any]:
        enter, leave, reset = decode_area(data)
        known = self.known
        if reset:
            known.clear()
        for pid in leave:
            known.pop(pid, None)
        flat: list[float] = []
        for pid, qx, qy, sx, sy in enter:
            known[pid] = (qx, qy, sx, sy)
            flat += (pid, qx / POSITION_SCALE, qy / POSITION_SCALE)
        return {"enter": flat, "leave": leave, "reset": reset}

# -- Nearby talk (see docs/protocol.md, "Nearby talk") ------------------------------
SAY = "say"                  # {text} -> ack {ok}
SAID = "said"                # {from, name, text, x, y, at} to everyone within earshot
CLIENT_EVENTS = CLIENT_EVENTS | {SAY}

# A line said aloud reaches the players on the speaker's map standing within
# this many pixels of the speaker (feet to feet) when it is said; it is well
# inside AREA_GUARANTEED_PX, so every listener also sees the speaker.
HEARING_RADIUS_PX = 320
# Lines a player may say in any SAY_WINDOW_S (their own limit, apart from DMs).
SAYS_PER_WINDOW = 5
SAY_WINDOW_S = 5.0


@dataclass(frozen=True)
class Say:
    text: str


def parse_say(data: Any) -> Say:
    """A ``say`` payload: the text rules are those of a direct message."""
    d = _require_dict(data, {"text"})
    return Say(text=clean_dm_text(d.get("text")))
