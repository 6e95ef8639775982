"""Socket.IO and WebSocket text on the wire, read and written by hand where
the hot path cannot afford python-socketio's packet objects.

Only the documented wire formats are used here (the Socket.IO protocol v5,
RFC 6455), so nothing in this module depends on a library's internals; it
lives with the transport because only the transport may skip the libraries'
own encoders and decoders.
"""
from __future__ import annotations

import json
import struct
from typing import Any

# What ``packet_kind`` finds in an Engine.IO message.
BINARY_MESSAGE = "binary message"          # an Engine.IO message of bytes
BINARY_ATTACHMENTS = "binary attachments"  # Socket.IO BINARY_EVENT or BINARY_ACK
NOT_AN_EVENT = "not an event"              # CONNECT, DISCONNECT, ACK, ...
EVENT = "event"                            # an EVENT with a plain string name
NAME_NOT_TEXT = "name not text"            # an EVENT whose first argument is no string
NAME_ESCAPED = "name escaped"              # an EVENT whose name holds an escape

# Socket.IO packet types that announce binary attachments (BINARY_EVENT,
# BINARY_ACK).
_BINARY_PACKET_TYPES = ("5", "6")
_TEXT_FRAME = 0x81  # FIN + text opcode; frames from a server are not masked
_BINARY_FRAME = 0x82  # FIN + binary opcode


def packet_kind(data: Any) -> tuple[str, str | None]:
    """(what the Socket.IO packet in an Engine.IO message is, its event name).

    Reads only the header: the type, an optional namespace and ack id, and
    the event's name up to its closing quote.
    """
    if not isinstance(data, str):
        return BINARY_MESSAGE, None
    if data[:1] in _BINARY_PACKET_TYPES:
        return BINARY_ATTACHMENTS, None
    if data[:1] != "2":
        return NOT_AN_EVENT, None
    i = 1
    if data[i:i + 1] == "/":  # a namespace, up to the comma
        i = data.find(",", i) + 1 or len(data)
    while i < len(data) and data[i].isdigit():  # an ack id
        i += 1
    if not data.startswith('["', i):
        return NAME_NOT_TEXT, None
    end = data.find('"', i + 2)
    name = data[i + 2:end] if end > 0 else "\\"
    if "\\" in name:
        return NAME_ESCAPED, None
    return EVENT, name


def ack_id(data: Any) -> int | None:
    """The ack id of a Socket.IO EVENT or BINARY_EVENT packet's text, if any."""
    if not isinstance(data, str) or data[:1] not in ("2", "5"):
        return None
    i = 1
    if data[0] == "5":  # the number of attachments, then a dash
        i = data.find("-", 0, 12) + 1
        if not i:
            return None
    if data[i:i + 1] == "/":  # a namespace, up to the comma
        i = data.find(",", i, i + 200) + 1
        if not i:
            return None
    end = i
    while end < len(data) and end - i < 16 and "0" <= data[end] <= "9":  # ASCII digits only
        end += 1
    return int(data[i:end]) if end > i else None


def plain_event_payload(data: str, name: str) -> tuple[bool, Any]:
    """(True, payload) for a plain ``2["name",{...}]`` packet on the default
    namespace without an ack id and with exactly one argument; (False, None)
    for anything else, which must go through python-socketio."""
    if not data.startswith('2["' + name + '",'):
        return False, None
    args = _PACKET_JSON.decode(data[1:])
    if not isinstance(args, list) or len(args) != 2:
        return False, None
    return True, args[1]


def _bounded_int(text: str) -> int:
    """Integer literals as Engine.IO's JSON reads them: at most 100 digits."""
    if len(text) > 100:
        raise ValueError("Integer is too large")
    return int(text)


# One decoder for every packet handled directly (json.loads with parse_int
# builds a new decoder on each call).
_PACKET_JSON = json.JSONDecoder(parse_int=_bounded_int)


def compact_json(value: Any) -> str:
    """JSON as python-socketio writes it into packets (no spaces)."""
    return json.dumps(value, separators=(",", ":"))


def event_text(event: str, data_json: str) -> str:
    """A Socket.IO EVENT on the default namespace, as python-socketio encodes it."""
    return f"2[{compact_json(event)},{data_json}]"


def binary_event_text(event: str) -> str:
    """The text packet of a Socket.IO BINARY_EVENT on the default namespace
    with one bytes argument (its one attachment follows as a binary message)."""
    return f'51-[{compact_json(event)},{{"_placeholder":true,"num":0}}]'


def websocket_text_frame(text: str) -> bytes:
    """One unmasked WebSocket text frame (RFC 6455, section 5.2)."""
    return _frame(_TEXT_FRAME, text.encode("utf-8"))


def websocket_binary_frame(data: bytes) -> bytes:
    """One unmasked WebSocket binary frame."""
    return _frame(_BINARY_FRAME, data)


def _frame(first: int, data: bytes) -> bytes:
    size = len(data)
    if size < 126:
        return struct.pack("!BB", first, size) + data
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + data
    return struct.pack("!BBQ", first, 127, size) + data
