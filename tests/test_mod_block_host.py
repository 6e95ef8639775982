"""Blocking on a real host, under both async modes: three players, A blocks B.

B's messages to A are refused with ``not_delivered`` and nothing is stored;
A hears nothing of B (no dm_message, dm_unread or dm_presence; nothing in the
welcome's unread counts or missed messages; an empty history); C's messages
to A still arrive; the block survives A reconnecting and a host restart;
unblocking brings back what was stored before the block.
"""
from __future__ import annotations

import sqlite3
import time

from game.core import protocol as P
from game.client.net import HostClient

from .conftest import (PASSWORD, db_rows, seen_events, start_world_host, stop_cleanly,
                       unique_name)


def dm(client: HostClient, to: str, text: str) -> dict:
    return client.call(P.DM_SEND, {"to": to, "text": text})


def barrier(sender: HostClient, receiver: HostClient, text: str) -> None:
    """C's message reaches A: everything the host sent A before it has arrived too."""
    assert dm(sender, receiver.session.name, text)["ok"]
    receiver.wait_for(P.DM_UNREAD, match=lambda d: d["message"]["text"] == text)


def forget_seen(client: HostClient) -> None:
    seen_events(client, P.DM_UNREAD)
    client.skipped.clear()


def from_peer(client: HostClient, name: str) -> list:
    events = []
    for kind in (P.DM_MESSAGE, P.DM_UNREAD, P.DM_PRESENCE):
        for data in seen_events(client, kind):
            if name in (data.get("peer"), data.get("from")):
                events.append((kind, data))
    return events


def test_a_block_refuses_dms_and_hides_the_blocked(players, world_host):
    a, b, c = players(), players(), players()
    an, bn, cn = a.session.name, b.session.name, c.session.name
    assert a.welcome["blocked"] == []
    assert dm(b, an, "before the block")["ok"]
    a.wait_for(P.DM_UNREAD, match=lambda d: d["peer"] == bn)
    assert a.call(P.DM_OPEN, {"peer": bn})["ok"]  # read, then left open
    forget_seen(a)

    reply = a.call(P.BLOCK, {"name": bn.upper()})
    assert reply == {"ok": True, "name": bn, "blocked": True}
    assert a.call(P.BLOCK, {"name": bn})["ok"]  # again: no change, no error

    # B is told only that the message could not be delivered.
    refused = dm(b, an, "during the block")
    assert refused["ok"] is False and refused["error"] == P.E_NOT_DELIVERED
    assert "deliver" in refused["message"] and "block" not in refused["message"]
    assert b.call(P.DM_OPEN, {"peer": an})["ok"]  # no presence goes to A
    assert b.call(P.DM_CLOSE, {"peer": an})["ok"]
    assert not db_rows(world_host.db_path, "SELECT id FROM messages WHERE text = ?",
                       ("during the block",))

    barrier(c, a, "C still gets through")
    assert from_peer(a, bn) == []
    # A cannot write to B either while blocking them.
    mine = dm(a, bn, "hello?")
    assert mine["error"] == P.E_BLOCKED
    history = a.call(P.DM_HISTORY, {"peer": bn})
    assert history["ok"] and history["messages"] == [] and not history["has_more"]
    assert a.call(P.DM_OPEN, {"peer": bn})["messages"] == []

    listed = {p["name"]: p for p in a.call(P.DIRECTORY, {})["players"]}
    assert listed[bn].get("blocked") is True and "blocked" not in listed[cn]
    # The blocked player's own view is unchanged: their copy of the history stays.
    theirs = b.call(P.DM_HISTORY, {"peer": an})["messages"]
    assert [m["text"] for m in theirs] == ["before the block"]
    assert "blocked" not in {p["name"]: p for p in b.call(P.DIRECTORY, {})["players"]}[an]


def test_block_refusals_have_codes_and_change_nothing(players):
    a = players()
    me = a.call(P.BLOCK, {"name": a.session.name})
    assert me["error"] == P.E_CANNOT_BLOCK_SELF
    nobody = a.call(P.BLOCK, {"name": unique_name("ghost")})
    assert nobody["error"] == P.E_UNKNOWN_PLAYER
    for bad in ({}, {"name": 5}, {"name": "x"}, {"name": "okname", "more": 1}, "okname"):
        assert a.call(P.BLOCK, bad)["error"] == P.E_BAD_PAYLOAD
        assert a.call(P.UNBLOCK, bad)["error"] == P.E_BAD_PAYLOAD
    assert a.call(P.UNBLOCK, {"name": a.session.name})["error"] == P.E_CANNOT_BLOCK_SELF
    assert all("blocked" not in p for p in a.call(P.DIRECTORY, {})["players"])


def test_unread_and_missed_messages_leave_the_blocked_out_after_a_reconnect(players):
    a, b, c = players(), players(), players()
    an, bn, cn = a.session.name, b.session.name, c.session.name
    assert dm(b, an, "from b, unread")["ok"]
    assert dm(c, an, "from c, unread")["ok"]
    a.wait_for(P.DM_UNREAD, match=lambda d: d["peer"] == cn)
    last = a.welcome["last_dm_id"]
    assert a.call(P.BLOCK, {"name": bn})["ok"]
    a.close()

    again = players(an, register=False, join=False)
    again.last_dm_id, again._resume = last, True  # ask for the missed messages
    again.connect()
    welcome = again.wait_for(P.WELCOME).data
    assert welcome["blocked"] == [bn]
    assert welcome["unread"] == {cn: 1}
    assert [m["text"] for m in welcome["missed_messages"]] == ["from c, unread"]
    assert dm(b, an, "still blocked")["error"] == P.E_NOT_DELIVERED

    # Unblocking brings back what was stored before the block, unread as it was.
    assert again.call(P.UNBLOCK, {"name": bn}) == {"ok": True, "name": bn, "blocked": False}
    assert [m["text"] for m in again.call(P.DM_HISTORY, {"peer": bn})["messages"]] == \
        ["from b, unread"]
    assert dm(b, an, "after the unblock")["ok"]
    again.wait_for(P.DM_UNREAD, match=lambda d: d["peer"] == bn and d["unread"] == 2)
    assert "blocked" not in {p["name"]: p for p in again.call(P.DIRECTORY, {})["players"]}[bn]


def test_a_block_survives_a_host_restart(tmp_path, test_map_path, world_host):
    db = tmp_path / "world.db"
    host = start_world_host(db, test_map_path, world_host.async_mode)
    names = [unique_name("r") for _ in range(2)]
    clients: list[HostClient] = []
    try:
        a, b = (HostClient(host.url, reconnect=False) for _ in names)
        clients += [a, b]
        for client, name in zip((a, b), names):
            client.register(name, PASSWORD)
            client.connect()
            client.wait_for(P.WELCOME)
        assert dm(b, names[0], "kept")["ok"]
        assert a.call(P.BLOCK, {"name": names[1]})["ok"]
        a.close()
        b.close()
    finally:
        stop_cleanly(host.proc)
        host.pool.shutdown(wait=True)
    host = start_world_host(db, test_map_path, world_host.async_mode)
    try:
        a, b = (HostClient(host.url, reconnect=False) for _ in names)
        clients += [a, b]
        for client, name in zip((a, b), names):
            client.login(name, PASSWORD)
            client.connect()
            client.welcome = client.wait_for(P.WELCOME).data
        assert a.welcome["blocked"] == [names[1]] and a.welcome["unread"] == {}
        assert dm(b, names[0], "after the restart")["error"] == P.E_NOT_DELIVERED
        assert a.call(P.UNBLOCK, {"name": names[1]})["ok"]
        assert [m["text"] for m in a.call(P.DM_OPEN, {"peer": names[1]})["messages"]] == ["kept"]
        assert dm(b, names[0], "welcome back")["ok"]
        a.wait_for(P.DM_MESSAGE, match=lambda d: d["text"] == "welcome back")
    finally:
        for client in clients:
            host.in_background(client.close)
        host.stop()


def test_blocking_closes_an_open_conversation_silently(players):
    a, b, c = players(), players(), players()
    an, bn = a.session.name, b.session.name
    assert a.call(P.DM_OPEN, {"peer": bn})["ok"]
    assert b.call(P.DM_OPEN, {"peer": an})["peer_present"] is True
    a.wait_for(P.DM_PRESENCE, match=lambda d: d["peer"] == bn)
    forget_seen(a)
    assert a.call(P.BLOCK, {"name": bn})["ok"]
    assert b.call(P.DM_CLOSE, {"peer": an})["ok"]
    assert b.call(P.DM_OPEN, {"peer": an})["peer_present"] is False
    barrier(c, a, "checkpoint")
    assert from_peer(a, bn) == []
    # A leaving tells B nothing either (A's conversation with B was closed by the block).
    a.close()
    barrier(c, b, "checkpoint for b")
    assert [d for d in seen_events(b, P.DM_PRESENCE) if d["peer"] == an and d["state"] == "left"] == []


def test_the_block_limit_is_documented():
    from pathlib import Path
    doc = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
    assert f"`BLOCKS_MAX` = {P.BLOCKS_MAX}" in doc


def test_blocking_more_than_the_limit_is_refused(players, world_host):
    a, b = players(join=False), players()
    # BLOCKS_MAX stored blocks (of ids no account has) before A joins.
    with sqlite3.connect(world_host.db_path, timeout=30) as db:
        db.executemany("INSERT INTO blocks (user_id, blocked_id, at) VALUES (?, ?, ?)",
                       [(a.session.user_id, 50_000_000 + i, time.time())
                        for i in range(P.BLOCKS_MAX)])
    a.connect()
    assert a.wait_for(P.WELCOME).data["blocked"] == []  # no such players to name
    refused = a.call(P.BLOCK, {"name": b.session.name})
    assert refused["error"] == P.E_TOO_MANY_BLOCKS and str(P.BLOCKS_MAX) in refused["message"]
    assert dm(b, a.session.name, "still arrives")["ok"]
