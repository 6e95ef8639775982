"""Unit tests of the payload parsers in game.core.protocol (pure, no host needed)."""
from __future__ import annotations

import math

import pytest

from game.core import protocol as P

NAN, INF = float("nan"), float("inf")


def refused(parse, data, code=P.E_BAD_PAYLOAD, contains: str = "") -> P.ProtocolError:
    """Assert that ``parse(data)`` raises ProtocolError with ``code``."""
    with pytest.raises(P.ProtocolError) as info:
        parse(data)
    assert info.value.code == code
    assert contains in info.value.message
    return info.value


# -- the names themselves ---------------------------------------------------------------
def test_client_events_lists_every_client_event():
    assert P.CLIENT_EVENTS == {P.JOIN, P.MOVE, P.DM_OPEN, P.DM_CLOSE, P.DM_SEND, P.DM_HISTORY,
                               P.DIRECTORY, P.PING, P.LOGOUT, P.SET_LOOK, P.BLOCK,
                               P.UNBLOCK, P.EMOTE, P.TYPING, P.AWAY, P.SAY} | P.MOD_EVENTS


def test_event_names_and_codes_are_distinct():
    events = [v for k, v in vars(P).items() if k.isupper() and isinstance(v, str)
              and not k.startswith(("E_", "END_", "HTTP_"))]
    codes = [v for k, v in vars(P).items() if k.startswith("E_")]
    reasons = [v for k, v in vars(P).items() if k.startswith("END_")]
    for group in (events, codes, reasons):
        assert len(group) == len(set(group))


# -- envelopes: every socket parser wants one JSON object ------------------------------------
SOCKET_PARSERS = [P.parse_move, P.parse_peer, P.parse_dm_send, P.parse_history, P.parse_join,
                  P.parse_empty, P.parse_ping]


@pytest.mark.parametrize("parse", SOCKET_PARSERS)
@pytest.mark.parametrize("junk", [[], [1, 2], "move", 7, 1.5, True, b"bytes"])
def test_non_objects_are_refused(parse, junk):
    refused(parse, junk, contains="payload must be a JSON object")


@pytest.mark.parametrize("parse", SOCKET_PARSERS)
def test_unknown_fields_are_refused_and_named(parse):
    error = refused(parse, {"player_id": 1, "room": "dm:1:2"}, contains="unknown field(s)")
    assert "player_id" in error.message and "room" in error.message


def test_unknown_field_names_in_the_message_are_cut_short():
    error = refused(P.parse_empty, {"k" * 5000: 1})
    assert len(error.message) < 100


def test_error_payload_shapes():
    err = P.ProtocolError(P.E_BAD_PAYLOAD, "nope")
    assert err.as_payload() == {"code": "bad_payload", "message": "nope"}
    assert err.as_payload(P.MOVE) == {"code": "bad_payload", "message": "nope", "event": "move"}
    assert isinstance(err, ValueError) and str(err) == "nope"
    assert P.error_payload(P.E_INTERNAL, "x", None) == {"code": "internal_error", "message": "x"}


# -- move ----------------------------------------------------------------------------------
def test_move_valid():
    assert P.parse_move({"seq": 3, "x": 10, "y": 20.5}) == P.Move(seq=3, x=10.0, y=20.5)
    move = P.parse_move({"seq": 0, "x": -5, "y": 0})
    assert isinstance(move.x, float) and move.seq == 0


def test_move_seq_bounds():
    assert P.parse_move({"seq": P.MAX_SEQ, "x": 1, "y": 1}).seq == 2**53 - 1
    refused(P.parse_move, {"seq": P.MAX_SEQ + 1, "x": 1, "y": 1}, contains="between")
    refused(P.parse_move, {"seq": -1, "x": 1, "y": 1}, contains="between")


@pytest.mark.parametrize("seq", [1.0, 1.5, "1", True, False, [1], {"n": 1}, NAN])
def test_move_seq_must_be_an_integer(seq):
    refused(P.parse_move, {"seq": seq, "x": 1, "y": 1}, contains="'seq' must be an integer")


@pytest.mark.parametrize("missing", ["seq", "x", "y"])
def test_move_fields_are_required(missing):
    data = {"seq": 1, "x": 1, "y": 1}
    del data[missing]
    refused(P.parse_move, data, contains=f"'{missing}' is required")
    data[missing] = None
    refused(P.parse_move, data, contains=f"'{missing}' is required")


def test_move_nothing_at_all():
    refused(P.parse_move, None, contains="'seq' is required")


@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_move_coordinates_must_be_finite(axis, value):
    data = {"seq": 1, "x": 1.0, "y": 1.0, axis: value}
    refused(P.parse_move, data, contains="finite")


@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("value", [True, False, "10", [10], {"v": 10}])
def test_move_coordinates_must_be_numbers(axis, value):
    data = {"seq": 1, "x": 1.0, "y": 1.0, axis: value}
    refused(P.parse_move, data, contains="must be a number")


@pytest.mark.parametrize("value", [P.MAX_COORD + 0.5, -P.MAX_COORD - 1, 1e300, 10**30, -(10**30)])
def test_move_huge_coordinates_are_out_of_range(value):
    refused(P.parse_move, {"seq": 1, "x": value, "y": 0}, contains="out of range")


def test_move_coordinate_limit_is_inclusive():
    move = P.parse_move({"seq": 1, "x": P.MAX_COORD, "y": -P.MAX_COORD})
    assert (move.x, move.y) == (1_000_000.0, -1_000_000.0)


def test_move_integer_too_big_for_a_float_is_a_protocol_error():
    refused(P.parse_move, {"seq": 1, "x": 10**400, "y": 0})


def test_move_long_string_is_refused_without_echoing_it():
    error = refused(P.parse_move, {"seq": 1, "x": "9" * 100_000, "y": 0})
    assert len(error.message) < 100


# -- usernames -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["abc", "a" * 20, "Alice_01", "x-y_z", "ABC", "0123"])
def test_valid_usernames(name):
    assert P.is_valid_username(name)
    assert P.parse_peer({"peer": name}).peer == name  # spelling kept as given


@pytest.mark.parametrize("name", ["", "ab", "a" * 21, "has space", "dot.name", "émile", "ålice",
                                  "tab\tname", "a/b", "x" * 10_000, " abc", "abc "])
def test_invalid_usernames(name):
    assert not P.is_valid_username(name)
    refused(P.parse_peer, {"peer": name}, contains="3 to 20 letters")


@pytest.mark.parametrize("name", [None, 123, 1.5, True, ["abc"], {"n": "abc"}, b"abc"])
def test_username_must_be_a_string(name):
    assert not P.is_valid_username(name)
    refused(P.parse_peer, {"peer": name}, contains="must be a username string")


def test_peer_is_required():
    refused(P.parse_peer, {}, contains="'peer'")
    refused(P.parse_peer, None, contains="'peer'")


def test_username_with_trailing_newline_is_invalid():
    assert not P.is_valid_username("abc\n")
    refused(P.parse_peer, {"peer": "abc\n"}, contains="3 to 20 letters")
    refused(P.check_new_account, P.Credentials("abc\n", "correct-horse"), code=P.E_BAD_REQUEST)


# -- direct messages -----------------------------------------------------------------------
def test_dm_send_valid_and_trimmed():
    assert P.parse_dm_send({"to": "bob", "text": "  hi there \n"}) == P.DmSend("bob", "hi there")


def test_dm_text_limits_count_after_trimming():
    assert len(P.clean_dm_text("a" * P.DM_TEXT_MAX)) == 500
    assert len(P.clean_dm_text("   " + "a" * 500 + "\n\t ")) == 500
    refused(P.clean_dm_text, "a" * (P.DM_TEXT_MAX + 1), contains="longer than 500")
    refused(P.clean_dm_text, "a" * 1_000_000, contains="longer than 500")
    assert P.clean_dm_text(" x ") == "x"


@pytest.mark.parametrize("blank", ["", " ", "\n\t  \n", "\u00a0\u2003"])
def test_dm_blank_text_is_empty(blank):
    refused(P.clean_dm_text, blank, contains="'text' is empty")


def test_dm_text_counts_code_points():
    emoji = "\U0001F3AE"  # one code point, two UTF-16 units
    assert P.clean_dm_text(emoji * 500) == emoji * 500
    refused(P.clean_dm_text, emoji * 501)


def test_dm_text_keeps_newlines_and_tabs_inside():
    assert P.clean_dm_text("line one\nline\ttwo") == "line one\nline\ttwo"


@pytest.mark.parametrize("bad", ["a\x00b", "a\rb", "a\x1bb", "bell\x07", "a\x1fb"])
def test_dm_text_refuses_control_characters(bad):
    refused(P.clean_dm_text, bad, contains="control characters")


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "\udc00\ud800"])
def test_dm_text_refuses_lone_surrogates(bad):
    refused(P.clean_dm_text, bad, contains="lone surrogate")


@pytest.mark.parametrize("text", [None, 5, 1.0, True, ["hi"], {"t": "hi"}])
def test_dm_text_must_be_a_string(text):
    refused(P.parse_dm_send, {"to": "bob", "text": text}, contains="'text' must be a string")


def test_dm_send_checks_recipient_and_fields():
    refused(P.parse_dm_send, {"to": "x", "text": "hi"}, contains="'to'")
    refused(P.parse_dm_send, {"text": "hi"}, contains="'to'")
    refused(P.parse_dm_send, {"to": "bob"}, contains="'text'")
    refused(P.parse_dm_send, {"to": "bob", "text": "hi", "from": "alice"}, contains="from")
    refused(P.parse_dm_send, {"to": "bob", "text": "hi", "room": "dm:1:2"}, contains="room")


# -- history ---------------------------------------------------------------------------------
def test_history_defaults():
    assert P.parse_history({"peer": "bob"}) == P.HistoryRequest("bob", None, P.HISTORY_PAGE_DEFAULT)
    assert P.parse_history({"peer": "bob", "before_id": None, "limit": None}).limit == 50


def test_history_bounds():
    assert P.parse_history({"peer": "bob", "before_id": 1, "limit": 1}) == P.HistoryRequest("bob", 1, 1)
    assert P.parse_history({"peer": "bob", "limit": P.HISTORY_PAGE_MAX}).limit == 100
    assert P.parse_history({"peer": "bob", "before_id": P.MAX_SEQ}).before_id == P.MAX_SEQ
    refused(P.parse_history, {"peer": "bob", "before_id": 0}, contains="'before_id'")
    refused(P.parse_history, {"peer": "bob", "before_id": P.MAX_SEQ + 1}, contains="'before_id'")
    refused(P.parse_history, {"peer": "bob", "limit": 0}, contains="'limit'")
    refused(P.parse_history, {"peer": "bob", "limit": P.HISTORY_PAGE_MAX + 1}, contains="'limit'")


@pytest.mark.parametrize("field", ["before_id", "limit"])
@pytest.mark.parametrize("value", [True, 2.0, "5", [5], NAN, INF])
def test_history_numbers_must_be_integers(field, value):
    refused(P.parse_history, {"peer": "bob", field: value}, contains="must be an integer")


def test_history_needs_a_valid_peer():
    refused(P.parse_history, {"limit": 5}, contains="'peer'")
    refused(P.parse_history, {"peer": "b"}, contains="'peer'")


# -- join, empty payloads, ping ------------------------------------------------------------------
def test_join():
    assert P.parse_join(None) == P.JoinRequest(None)
    assert P.parse_join({}) == P.JoinRequest(None)
    assert P.parse_join({"last_dm_id": None}) == P.JoinRequest(None)
    assert P.parse_join({"last_dm_id": 0}) == P.JoinRequest(0)
    assert P.parse_join({"last_dm_id": P.MAX_SEQ}).last_dm_id == P.MAX_SEQ
    refused(P.parse_join, {"last_dm_id": -1}, contains="between")
    refused(P.parse_join, {"last_dm_id": True}, contains="must be an integer")
    refused(P.parse_join, {"last_dm_id": 3.0}, contains="must be an integer")
    refused(P.parse_join, {"last_dm_id": "3"}, contains="must be an integer")
    refused(P.parse_join, {"name": "alice"}, contains="name")


def test_empty():
    assert P.parse_empty(None) is None
    assert P.parse_empty({}) is None
    refused(P.parse_empty, {"x": 1}, contains="unknown field")


def test_ping():
    assert P.parse_ping(None) is None
    assert P.parse_ping({}) is None
    assert P.parse_ping({"t": None}) is None
    assert P.parse_ping({"t": 5}) == 5.0 and isinstance(P.parse_ping({"t": 5}), float)
    assert P.parse_ping({"t": -1.25}) == -1.25
    assert P.parse_ping({"t": 1e300}) == 1e300


@pytest.mark.parametrize("t", [True, False, "5", [5], {"t": 5}, NAN, INF, -INF])
def test_ping_t_must_be_a_finite_number(t):
    refused(P.parse_ping, {"t": t}, contains="'t' must be a finite number")


def test_ping_integer_too_big_for_a_float_is_a_protocol_error():
    refused(P.parse_ping, {"t": 10**400})


# -- credentials and new accounts (HTTP) -----------------------------------------------------
def test_credentials_valid_and_extra_fields_ignored():
    creds = P.parse_credentials({"username": " Alice ", "password": "pw", "remember": True})
    assert creds == P.Credentials(" Alice ", "pw")  # no trimming: login compares as sent


@pytest.mark.parametrize("body", [None, [], "alice:pw", 5, True])
def test_credentials_body_must_be_an_object(body):
    refused(P.parse_credentials, body, code=P.E_BAD_REQUEST, contains="JSON object")


@pytest.mark.parametrize("body", [{}, {"username": "alice"}, {"password": "correct-horse"},
                                  {"username": 5, "password": "correct-horse"},
                                  {"username": "alice", "password": 12345678},
                                  {"username": "alice", "password": None},
                                  {"username": ["alice"], "password": "correct-horse"},
                                  {"username": "alice", "password": True}])
def test_credentials_fields_must_be_strings(body):
    refused(P.parse_credentials, body, code=P.E_BAD_REQUEST, contains="must be strings")


def test_new_account_rules():
    P.check_new_account(P.Credentials("alice", "a" * P.PASSWORD_MIN))
    P.check_new_account(P.Credentials("a" * 20, "a" * P.PASSWORD_MAX))
    refused(P.check_new_account, P.Credentials("al", "correct-horse"), code=P.E_BAD_REQUEST,
            contains="username must be 3 to 20")
    refused(P.check_new_account, P.Credentials("bad name", "correct-horse"), code=P.E_BAD_REQUEST)
    refused(P.check_new_account, P.Credentials("alice", "a" * 7), code=P.E_BAD_REQUEST,
            contains="at least 8")
    refused(P.check_new_account, P.Credentials("alice", "a" * 257), code=P.E_BAD_REQUEST,
            contains="at most 256")
    refused(P.check_new_account, P.Credentials("alice", ""), code=P.E_BAD_REQUEST)


# -- snapshot packing ---------------------------------------------------------------------------
def test_pack_positions_flattens_and_rounds():
    flat = P.pack_positions([(1, 10.04, 20.06), (7, -3.0, 0.0)])
    assert flat == [1, 10.0, 20.1, 7, -3.0, 0.0]
    assert isinstance(flat[0], int)
    assert P.pack_positions([]) == []


def test_unpack_positions_round_trip():
    entries = [(1, 10.5, 20.0), (2, 0.0, 3199.9)]
    assert P.unpack_positions(P.pack_positions(entries)) == entries
    assert P.unpack_positions([3.0, 1, 2]) == [(3, 1.0, 2.0)]


@pytest.mark.parametrize("junk", [None, {"p": []}, "1,2,3", [1, 2], [1, 2, 3, 4]])
def test_unpack_positions_refuses_bad_shapes(junk):
    refused(P.unpack_positions, junk, contains="triples")


@pytest.mark.parametrize("junk", [[None, 1, 2], [1, "x", 2]])
def test_unpack_positions_refuses_junk_entries(junk):
    refused(P.unpack_positions, junk)


def test_avatar_look_is_stable_and_in_range():
    looks = [P.avatar_look(pid) for pid in range(1, 100)]
    assert all(0 <= look < 8 for look in looks)
    assert len(set(looks)) == 8
    assert P.avatar_look(42) == P.avatar_look(42)
    assert all(0 <= P.avatar_look(pid, looks=3) < 3 for pid in range(50))


def test_limits_are_consistent():
    assert P.HISTORY_PAGE_DEFAULT <= P.HISTORY_PAGE_MAX
    assert P.PASSWORD_MIN <= P.PASSWORD_MAX
    assert P.MAX_SEQ == 2**53 - 1  # the largest integer JavaScript numbers hold exactly
    assert math.isfinite(P.MAX_COORD)
    # The longest DM fits well inside one frame: a character is at most 12 bytes
    # of JSON (an escaped surrogate pair, two "\\uXXXX").
    assert P.DM_TEXT_MAX * 12 < P.MAX_FRAME_BYTES
