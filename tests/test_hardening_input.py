"""Hardening: what a client sends.  Oversized frames, and a property-based
fuzzer throwing thousands of hostile payloads at a live host."""
from __future__ import annotations

import math
import time

import pytest
import requests
import websocket
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from game.core import protocol as P
from game.client.host_process import HostProcess
from game.core.rules import load_world
from server.storage import pair_key

from .helpers_wire import RawClient, Swarm, read_db, register, register_many


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "world.db"
    with HostProcess(path) as proc:
        yield proc


# -- 7. oversized frames -------------------------------------------------------------
def test_an_oversized_frame_closes_only_that_connection(host):
    big, calm = register_many(host.url, ["big_bea", "calm_cal"])
    sender, bystander = RawClient(host.url), RawClient(host.url)
    sender.join(big)
    bystander.join(calm)

    # Just under the limit: refused as a payload, the connection stays.
    text = "x" * (P.MAX_FRAME_BYTES - 100)
    reply = sender.call(P.DM_SEND, {"to": "calm_cal", "text": text})
    assert reply["ok"] is False and reply["error"] == P.E_BAD_PAYLOAD
    assert sender.call(P.PING, {})["ok"] is True

    # Over the limit, in one frame: that connection is closed.
    sender.emit(P.DM_SEND, {"to": "calm_cal", "text": "y" * (P.MAX_FRAME_BYTES + 1000)})
    assert sender.read_until_closed(5)
    left = bystander.wait_for(P.PLAYERS_LEFT, 5)
    assert left["names"] == ["big_bea"]

    # Over the limit, split into fragments that are each small: also closed.
    again = RawClient(host.url)
    again.join(register(host.url, "big_bea"))
    half = '42["dm_send",{"to":"calm_cal","text":"' + "z" * (P.MAX_FRAME_BYTES // 2 + 1000)
    again.ws.send_frame(websocket.ABNF.create_frame(half, websocket.ABNF.OPCODE_TEXT, fin=0))
    again.ws.send_frame(websocket.ABNF.create_frame(half[6:] + '"}]',
                                                    websocket.ABNF.OPCODE_CONT, fin=1))
    assert again.read_until_closed(5)

    # Everyone else carries on.
    assert bystander.call(P.PING, {"t": 5})["t"] == 5
    assert not bystander.closed
    assert requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True
    too_big = requests.post(host.url + P.HTTP_LOGIN, data=b"{" + b" " * (P.MAX_FRAME_BYTES + 10),
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert too_big.status_code in (400, 413)
    bystander.close()


def test_events_named_like_socketio_own_cannot_reach_their_handlers(host):
    eve_s, vic_s = register_many(host.url, ["eve_named", "vic_named"])
    eve, victim = RawClient(host.url), RawClient(host.url)
    eve.join(eve_s)
    victim.join(vic_s)
    # A fake "disconnect" would take eve out of the world while she stays
    # connected; a fake "connect" would swap her identity for the token's.
    eve.send_raw('42["disconnect","client namespace disconnect"]')
    eve.send_raw('42["connect",{"REMOTE_ADDR":"127.0.0.1"},{"token":"%s"}]' % vic_s["token"])
    eve.send_raw('42["*","%s",{}]' % ("a" * 20))
    eve.send_raw('42["\\u002a",{}]')
    eve.send_raw('42[["move"],{}]')
    eve.send_raw('451-["connect",{"_placeholder":true,"num":0}]')
    directory = eve.call(P.DIRECTORY, {})
    assert directory["ok"] and "eve_named" not in [p["name"] for p in directory["players"]]
    assert "vic_named" in [p["name"] for p in directory["players"]]
    assert eve.call(P.JOIN, {})["error"] == P.E_BAD_PAYLOAD  # still in the world
    codes = {e["code"] for e in eve.named(P.ERROR)}
    assert codes <= {P.E_BAD_PAYLOAD}, eve.named(P.ERROR)
    time.sleep(0.3)
    victim.call(P.PING, {})
    assert not victim.named(P.PLAYERS_LEFT) and not victim.named(P.SESSION_ENDED)
    assert not eve.closed and not victim.closed
    eve.close()
    victim.close()


# -- 8. fuzzing -------------------------------------------------------------------
FUZZERS = ["fz_ann", "fz_ben", "fz_cat", "fz_dan"]
BYSTANDERS = ["by_xena", "by_yuri"]
TARGET_PAYLOADS = 10_000
SEND_RATE = 320.0  # packets a second over all fuzzers, under each one's limit

numbers = st.one_of(
    st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**53, 2**63, -(2**63), 2**64, 10**30, P.MAX_SEQ + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 1392.0, 1168.0]),
)
names = st.one_of(
    st.sampled_from(FUZZERS + ["", "a", "ab", "x" * 21, "nobody_here", "fz_ANN", " fz_ben",
                               "fz_ben\n", "../etc", "dm:1:2", "u:1", "world", "*"]),
    st.text(max_size=30),
)
forged_ids = st.sampled_from([1, 2, 3, 4, 5, 6, 7, -1, 0, 10**12])
texts = st.one_of(
    st.text(max_size=40), st.text(min_size=490, max_size=520),
    st.sampled_from(["", "   ", "\x00", "hi\x07", "\u202e evil", "\ud800", "ok " * 200,
                     "<script>alert(1)</script>", "x" * 5000]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts, names)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)
forged = st.fixed_dictionaries({}, optional={
    "from": names, "sender_id": forged_ids, "recipient_id": forged_ids, "room": names,
    "user_id": forged_ids, "id": forged_ids, "name": names, "peer_id": forged_ids})


def shaped(event: str, fields: dict) -> st.SearchStrategy:
    """The right event with the right field names and hostile values."""
    base = st.fixed_dictionaries({}, optional=fields)
    return st.tuples(st.just(event), st.one_of(base, st.builds(lambda a, b: {**a, **b},
                                                                base, forged)))


events = st.one_of(
    shaped(P.MOVE, {"seq": numbers, "x": numbers, "y": numbers}),
    shaped(P.MOVE, {"seq": st.integers(0, 10**6), "x": numbers, "y": numbers}),
    shaped(P.DM_SEND, {"to": names, "text": texts}),
    shaped(P.DM_SEND, {"to": st.sampled_from(FUZZERS), "text": texts}),
    shaped(P.DM_OPEN, {"peer": names}),
    shaped(P.DM_CLOSE, {"peer": names}),
    shaped(P.DM_HISTORY, {"peer": names, "before_id": numbers, "limit": numbers}),
    shaped(P.JOIN, {"last_dm_id": numbers}),
    shaped(P.PING, {"t": numbers}),
    shaped(P.DIRECTORY, {"all": junk}),
    st.tuples(st.sampled_from(sorted(P.CLIENT_EVENTS - {P.LOGOUT})), junk),
    st.tuples(st.one_of(st.text(max_size=20),
                        st.sampled_from(["connect", "disconnect", "message", "error", "*",
                                         "welcome", "snapshot", "dm_message", "__proto__"])),
              junk),
)
raw_packets = st.one_of(
    st.sampled_from(["42", "42[", "42[]", "42[1]", "42[null]", '42["move"', "42{}", "4", "49",
                     "43", "43[]", "44", "40", "40[", "41", "4x", "2", "3", "5", "6", "",
                     '42999999999999999999999["ping",{}]', '42["move",{"seq":1e999}]',
                     '42["move",{"seq":1,"x":NaN,"y":Infinity}]', "42" + "[" * 2000]),
    st.text(max_size=60).map(lambda t: "42" + t),
    st.text(max_size=60),
)
packets = st.one_of(events.map(lambda e: ("event", e)), raw_packets.map(lambda r: ("raw", r)),
                    st.tuples(st.just("extra"), st.tuples(st.sampled_from([P.DM_SEND, P.MOVE]),
                                                          junk, junk)))


@pytest.mark.slow
def test_hostile_payloads_never_crash_leak_or_corrupt(host):
    world = load_world()
    sessions = dict(zip(FUZZERS + BYSTANDERS, register_many(host.url, FUZZERS + BYSTANDERS)))
    ids = {name: s["user"]["id"] for name, s in sessions.items()}
    bystanders = []
    for name in BYSTANDERS:
        client = RawClient(host.url)
        client.join(sessions[name])
        bystanders.append(client)
    fuzzers: list[RawClient] = []
    for name in FUZZERS:
        client = RawClient(host.url)
        client.join(sessions[name])
        fuzzers.append(client)
    # One more connection speaks before it has joined.
    outsider = RawClient(host.url)
    outsider_session = register(host.url, "fz_out")
    assert outsider.connect(outsider_session["token"])
    fuzzers.append(outsider)

    sent = 0
    reconnects = 0
    last_batch: list = []
    started = time.monotonic()

    tokens = {name: s for name, s in sessions.items()}
    tokens["fz_out"] = outsider_session

    def revive(i: int) -> None:
        """Reconnect a fuzzer the host (rightly) dropped."""
        nonlocal reconnects
        reconnects += 1
        name = FUZZERS[i] if i < len(FUZZERS) else "fz_out"
        client = RawClient(host.url)
        if not client.connect(tokens[name]["token"]):
            tokens[name] = register(host.url, name)  # it had logged itself out
            client.close()
            client = RawClient(host.url)
            assert client.connect(tokens[name]["token"]), client.refused
        if i < len(FUZZERS):
            client.emit(P.JOIN, {})
        fuzzers[i] = client
        swarm.add(client)

    @settings(max_examples=TARGET_PAYLOADS // 50 + 5, deadline=None, database=None,
              phases=[Phase.generate], derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(packets, min_size=50, max_size=50))
    def fuzz(batch):
        nonlocal sent, last_batch
        last_batch = batch
        for kind, body in batch:
            i = sent % len(fuzzers)
            client = fuzzers[i]
            if client.closed:
                revive(i)
                client = fuzzers[i]
            try:
                if kind == "event":
                    client.emit(body[0], body[1])
                elif kind == "extra":
                    client.send_raw("42" + _dumps(list(body)))
                else:
                    client.send_raw(body)
            except (websocket.WebSocketException, OSError):
                client.closed = True
            sent += 1
            if sent % 1000 == 0:
                print(f"fuzz: {sent} sent at {time.monotonic() - started:.1f} s, "
                      f"{reconnects} reconnects")
            behind = started + sent / SEND_RATE - time.monotonic()
            if behind > 0:
                time.sleep(behind)
        assert host.proc.poll() is None, f"host died after {last_batch!r}"

    with Swarm(bystanders + fuzzers) as swarm:
        fuzz()
        elapsed = time.monotonic() - started
        # Everything sent has been handled once a ping round-trips.
        for client in bystanders:
            assert client.call(P.PING, {}, timeout=20)["ok"] is True
        time.sleep(1.0)
        assert not any(client.closed for client in bystanders)

    stats = requests.get(host.url + P.HTTP_STATS, timeout=5).json()
    print(f"\nfuzz: {sent} payloads in {elapsed:.1f} s, {reconnects} reconnects; "
          f"host closed {stats['closed_by_guard']}")
    assert sent >= TARGET_PAYLOADS
    assert host.proc.poll() is None
    assert requests.get(host.url + P.HTTP_HEALTH, timeout=5).json()["ok"] is True

    # Nothing of the fuzzers' conversations reached the bystanders.
    for client in bystanders:
        leaked = [(n, d) for _, n, d in client.received
                  if n in (P.DM_MESSAGE, P.DM_UNREAD, P.DM_PRESENCE)]
        assert not leaked, leaked
    # No payload made a handler fail.
    for client in fuzzers + bystanders:
        failures = [d for d in client.named(P.ERROR) if d.get("code") == P.E_INTERNAL]
        assert not failures, failures
    assert "Traceback" not in host.log_path.read_text(errors="replace"), host.log()

    # Nothing invalid reached the database.
    host_ids = set(ids.values())
    for uid, x, y in read_db(host.db_path, "SELECT user_id, x, y FROM positions"):
        assert math.isfinite(x) and math.isfinite(y) and world.box_free(x, y), (uid, x, y)
    # (The outsider may join by itself with one of the payloads.)
    fuzzer_ids = {ids[n] for n in FUZZERS} | {outsider_session["user"]["id"]}
    rows = read_db(host.db_path, "SELECT pair, sender_id, recipient_id, text FROM messages")
    for pair, sender, recipient, text in rows:
        assert {sender, recipient} <= fuzzer_ids and sender != recipient
        assert pair == pair_key(sender, recipient)
        assert 1 <= len(text) <= P.DM_TEXT_MAX and text == text.strip()
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in text)
    print(f"fuzz: {len(rows)} valid messages stored between fuzzers; "
          f"{len(host_ids)} accounts")


def _dumps(value) -> str:
    import json

    return json.dumps(value, allow_nan=True)
