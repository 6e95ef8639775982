"""docs/protocol.md must stay in step with the code.

Every event name, error code and session-end reason in game.core.protocol has its
row in the document, and every limit the document states as "`NAME` = value"
matches the constant or setting of that name.  Pure checks, no host needed.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import host
from game.core import protocol as P
from game.core import rules
from server import accounts, http_api, live
from server.config import HostConfig
from server import events
from server.events import session

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
FLAT = " ".join(DOC.split())  # for phrases that may wrap across lines
SERVER_SOURCES = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
                  for path in (ROOT / "server").rglob("*.py")}


def constants(prefix: str = "") -> dict[str, str]:
    """String constants of game.core.protocol whose name starts with ``prefix``."""
    return {name: value for name, value in vars(P).items()
            if name.isupper() and name.startswith(prefix) and isinstance(value, str)}


EVENTS = {name: value for name, value in constants().items()
          if not name.startswith(("E_", "END_", "HTTP_"))}
HOST_EVENTS = {name: value for name, value in EVENTS.items() if value not in P.CLIENT_EVENTS}


def test_there_are_events_to_check():
    assert len(P.CLIENT_EVENTS) >= 9 and len(HOST_EVENTS) >= 10


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_event_has_a_row_in_its_table(name):
    assert f"| `{EVENTS[name]}` |" in DOC, f"{name} = {EVENTS[name]!r} is not in docs/protocol.md"


@pytest.mark.parametrize("event", sorted(P.CLIENT_EVENTS))
def test_every_client_event_has_its_own_section(event):
    assert f"\n### {event}\n" in DOC


@pytest.mark.parametrize("name", sorted(constants("E_")))
def test_every_error_code_is_in_the_codes_table(name):
    code = getattr(P, name)
    assert f"| `{code}` | `{name}` |" in DOC, f"{name} = {code!r} missing from the error table"


@pytest.mark.parametrize("name", sorted(constants("END_")))
def test_every_session_end_reason_is_in_the_reasons_table(name):
    reason = getattr(P, name)
    assert f"| `{reason}` | `{name}` |" in DOC, f"{name} = {reason!r} missing from the reasons table"


@pytest.mark.parametrize("name", sorted(constants("HTTP_")))
def test_every_http_endpoint_is_documented(name):
    path = getattr(P, name)
    # A path with a part of its own after it: "### GET /api/maps/HASH.zip".
    assert re.search(rf"^### (GET|POST) {re.escape(path)}(/\S+)?$", DOC, re.M), path


@pytest.mark.parametrize("reason", [rules.OUT_OF_BOUNDS, rules.BLOCKED, rules.THROUGH_WALL,
                                    rules.TOO_FAST, P.E_BAD_PAYLOAD])
def test_every_correction_reason_is_documented(reason):
    assert f"`{reason}`" in DOC.split("## 9. Movement rules")[1]


def test_reasons_and_events_written_as_literals_in_the_host_are_documented():
    """A session-end reason or event name the host uses without a constant."""
    found = set()
    for source in SERVER_SOURCES.values():
        found.update(re.findall(r'end_session\([^,]+,\s*"([^"]+)"', source))
        found.update(re.findall(r'\bemit\(\s*"([^"]+)"', source))
    missing = sorted(word for word in found if f"`{word}`" not in DOC)
    assert not missing, f"used by the host but not in docs/protocol.md: {missing}"


def test_http_only_error_codes_are_documented():
    for code in ("not_found", "method_not_allowed", "too_large", "http_error"):
        assert f"`{code}`" in DOC


# -- limits ------------------------------------------------------------------------------------
ARGS = host.parse_args([])
CONFIG = HostConfig()


def _flood_strikes():
    player = live.LivePlayer(1, "name", "sid", 0.0, 0.0, rules.MoveBudget.full(0.0))
    return player.strikes


def _number_constants(module) -> dict[str, float]:
    return {name: value for name, value in vars(module).items()
            if name.isupper() and isinstance(value, (int, float)) and not isinstance(value, bool)}


# Every name the document may state as "`NAME` = value", and where its value lives.
KNOWN_LIMITS: dict[str, float] = {
    **_number_constants(P),
    **{name: getattr(rules, name) for name in ("TILE_SIZE", "WALK_SPEED", "BOX_HALF_W",
                                               "BOX_HALF_H", "SPEED_SLACK",
                                               "MOVE_BUDGET_MAX_S", "SEGMENT_STEP",
                                               "CLIENT_CLOCK_BANK_MAX_S")},
    "LIMIT_NOTICE_INTERVAL_S": events.LIMIT_NOTICE_INTERVAL_S,
    "tick_rate": CONFIG.tick_rate,
}
# What host.py uses when a flag is left out must be what the document says too.
FLAG_DEFAULTS = {"TOKEN_TTL_S": ARGS.token_ttl, "LOGIN_FAILURES_MAX": ARGS.login_failures,
                 "PING_INTERVAL_S": ARGS.ping_interval, "PING_TIMEOUT_S": ARGS.ping_timeout,
                 "SAVE_INTERVAL_S": ARGS.save_interval, "CONNECT_TIMEOUT_S": ARGS.connect_timeout,
                 "JOIN_TIMEOUT_S": ARGS.join_timeout, "OUTBOX_MAX_PACKETS": ARGS.max_outbox,
                 "tick_rate": ARGS.tick_rate}

STATED = [(m.group(1), m.group(2)) for m in
          re.finditer(r"`([A-Za-z_][A-Za-z0-9_]*)` = ([0-9][0-9_]*(?:\.[0-9]+)?)", DOC)]


def test_the_document_states_limits():
    names = {name for name, _ in STATED}
    for required in ("DM_TEXT_MAX", "MOVES_PER_SECOND", "DMS_PER_WINDOW", "DM_WINDOW_S",
                     "MAX_FRAME_BYTES", "PACKETS_PER_SECOND", "WALK_SPEED"):
        assert required in names


@pytest.mark.parametrize("name,value", STATED, ids=[f"{n}={v}" for n, v in STATED])
def test_every_stated_limit_matches_the_code(name, value):
    assert name in KNOWN_LIMITS, f"docs/protocol.md states `{name}`, which the code does not define"
    assert float(value) == pytest.approx(float(KNOWN_LIMITS[name])), \
        f"docs/protocol.md says {name} = {value}, the code says {KNOWN_LIMITS[name]}"
    if name in FLAG_DEFAULTS:
        assert float(value) == pytest.approx(float(FLAG_DEFAULTS[name])), \
            f"host.py's default for {name} is {FLAG_DEFAULTS[name]}"


@pytest.mark.parametrize("name", sorted(_number_constants(P)))
def test_every_protocol_number_is_stated(name):
    assert any(stated == name for stated, _ in STATED), \
        f"game.core.protocol.{name} = {getattr(P, name)} is not stated as `{name}` = ... in the doc"


@pytest.mark.parametrize("name", sorted(FLAG_DEFAULTS))
def test_every_flag_default_is_stated(name):
    assert any(stated == name for stated, _ in STATED), name


def test_host_copies_of_protocol_limits_agree():
    """Values the host keeps under its own names are the documented ones."""
    copies = [(http_api, "MAX_BODY_BYTES", P.HTTP_BODY_MAX_BYTES),
              (accounts, "TOKEN_MAX_CHARS", P.TOKEN_MAX_CHARS),
              (session, "MISSED_MESSAGES_MAX", P.MISSED_MESSAGES_MAX)]
    for module, name, documented in copies:
        if hasattr(module, name):
            assert getattr(module, name) == documented, f"{module.__name__}.{name}"
    assert accounts.LoginThrottle(1).window_s == P.LOGIN_WINDOW_S


def test_flood_threshold_matches():
    strikes = _flood_strikes()
    assert f"{strikes.limit} rate-limit refusals (moves and DMs together) within " \
           f"{strikes.window_s:g} s" in FLAT


def test_rate_windows_match():
    player = live.LivePlayer(1, "name", "sid", 0.0, 0.0, rules.MoveBudget.full(0.0))
    assert (player.moves.limit, player.moves.window_s) == (P.MOVES_PER_SECOND, 1.0)
    assert (player.dms.limit, player.dms.window_s) == (P.DMS_PER_WINDOW, P.DM_WINDOW_S)


def test_handshake_values_match():
    assert f"`pingInterval` {CONFIG.ping_interval_s * 1000:g} ms" in FLAT
    assert f"`pingTimeout` {CONFIG.ping_timeout_s * 1000:g} ms" in FLAT
    assert f"more than {P.PACKETS_PER_SECOND} packets a second" in FLAT
    assert f"`maxPayload` {P.MAX_FRAME_BYTES} bytes" in FLAT
    total = CONFIG.ping_interval_s + CONFIG.ping_timeout_s
    assert f"{total:g} s in all" in FLAT


def test_derived_speed_budget_figures_match():
    capacity = rules.WALK_SPEED * rules.MOVE_BUDGET_MAX_S
    refill = rules.WALK_SPEED * rules.SPEED_SLACK
    assert f"= {rules.WALK_SPEED:g} x {rules.MOVE_BUDGET_MAX_S:g} = {capacity:g} px" in FLAT
    assert f"= {rules.WALK_SPEED:g} x {rules.SPEED_SLACK:g} = {refill:g} px/s" in FLAT
