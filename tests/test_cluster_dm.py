"""Direct messages between players on two host processes of one world:
live delivery, unread counts, dm_presence, typing, read marks, blocks,
messages held while joining, and a Redis that goes away for a while."""
from __future__ import annotations

import threading
import time

import pytest

from game.core import protocol as P

from .conftest import ASYNC_MODES, PASSWORD, seen_events, wait_until
from .helpers_cluster import cluster
from .test_host_dm import name_of, open_dm, send


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_a_dm_reaches_a_player_on_the_other_process(tmp_path, test_map_path, redis_server,
                                                    mode):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2, mode=mode) as w:
        alice, bob = w.players[0](), w.players[1]()
        # Closed conversation: an unread count, stored.
        first = send(alice, bob, "hello from process 0")
        note = bob.wait_for(P.DM_UNREAD, timeout=5).data
        assert note == {"peer": name_of(alice), "unread": 1, "message": first}
        # Opening it: the other side hears of it, the answer says who is there.
        reply = open_dm(bob, alice)
        assert [m["text"] for m in reply["messages"]] == ["hello from process 0"]
        assert reply["peer_online"] is True and reply["peer_present"] is False
        assert alice.wait_for(P.DM_PRESENCE, timeout=5).data == {"peer": name_of(bob),
                                                                   "state": "entered"}
        reply = open_dm(alice, bob)
        assert reply["peer_online"] is True and reply["peer_present"] is True
        bob.wait_for(P.DM_PRESENCE, timeout=5, match=lambda d: d["state"] == "entered")
        # Open on both sides: live, both ways, and marked read.
        started = time.monotonic()
        sent = send(alice, bob, "live")
        assert bob.wait_for(P.DM_MESSAGE, timeout=5).data == sent
        print(f"\n{mode}: a DM from process 0 reached process 1's player "
              f"{(time.monotonic() - started) * 1000:.1f} ms after it was sent")
        assert alice.wait_for(P.DM_MESSAGE, timeout=5).data == sent
        back = send(bob, alice, "back")
        assert alice.wait_for(P.DM_MESSAGE, timeout=5,
                              match=lambda d: d["id"] == back["id"]).data == back
        assert not [e for e in seen_events(bob, P.DM_UNREAD) if e["message"]["id"] == sent["id"]]
        # Typing goes to the other side's open conversation.
        alice.emit(P.TYPING, {"to": bob.session.user_id, "typing": True})
        typing = bob.wait_for(P.TYPING, timeout=5).data
        assert typing == {"from": alice.session.user_id, "name": name_of(alice), "typing": True}
        # Closing and leaving are heard on the other process.
        assert bob.call(P.DM_CLOSE, {"peer": name_of(alice)}) == {"ok": True}
        alice.wait_for(P.DM_PRESENCE, timeout=5, match=lambda d: d["state"] == "left")
        open_dm(bob, alice)
        alice.wait_for(P.DM_PRESENCE, timeout=5, match=lambda d: d["state"] == "entered")
        w.players[1].close(bob)
        alice.wait_for(P.DM_PRESENCE, timeout=5,
                       match=lambda d: d == {"peer": name_of(bob), "state": "left"})
        # What bob read stays read, wherever he logs in next.
        again = w.players[0](name_of(bob), register=False)
        assert again.welcome["unread"] == {}


def test_a_block_holds_across_processes(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        alice, bob = w.players[0](), w.players[1]()
        open_dm(bob, alice)
        alice.wait_for(P.DM_PRESENCE, timeout=5)
        assert bob.call(P.BLOCK, {"name": name_of(alice)})["blocked"] is True
        reply = alice.call(P.DM_SEND, {"to": name_of(bob), "text": "let me in"})
        assert reply["ok"] is False and reply["error"] == P.E_NOT_DELIVERED
        # Nothing of alice reaches bob: not her typing, not her coming and going.
        alice.emit(P.TYPING, {"to": bob.session.user_id, "typing": True})
        reply = open_dm(alice, bob)
        assert reply["peer_present"] is False
        assert alice.call(P.DM_CLOSE, {"peer": name_of(bob)}) == {"ok": True}
        carol = w.players[0]()
        marker = send(carol, bob, "after alice")  # sent after everything alice did
        bob.wait_for(P.DM_UNREAD, timeout=5, match=lambda d: d["message"] == marker)
        assert not seen_events(bob, P.TYPING)
        assert not [e for e in seen_events(bob, P.DM_PRESENCE) if e["peer"] == name_of(alice)]
        assert not [e for e in seen_events(bob, P.DM_UNREAD) if e["peer"] == name_of(alice)]
        # Unblocking on the other side of the world lets messages through again.
        assert bob.call(P.UNBLOCK, {"name": name_of(alice)})["blocked"] is False
        sent = send(alice, bob, "friends again")
        bob.wait_for(P.DM_UNREAD, timeout=5, match=lambda d: d["message"] == sent)


def test_messages_sent_while_joining_arrive_once(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        alice, bob = w.players[0](), w.players[1]()
        before = send(alice, bob, "before")
        bob.wait_for(P.DM_UNREAD, timeout=5)
        w.players[1].close(bob).result(10)
        sent: list[int] = []
        done = threading.Event()

        def stream() -> None:
            while not done.is_set() and len(sent) < P.DMS_PER_WINDOW - 2:
                sent.append(send(alice, bob, f"m{len(sent)}")["id"])
                time.sleep(0.02)
        streamer = threading.Thread(target=stream)
        streamer.start()
        try:
            wait_until(lambda: len(sent) >= 3, timeout=5)
            again = w.players[1].client()
            again.login(name_of(bob), PASSWORD)
            again.last_dm_id, again._resume = before["id"], True  # a rejoin after a drop
            again.connect()
            welcome = again.wait_for(P.WELCOME, timeout=10).data
        finally:
            done.set()
            streamer.join(10)
        last = send(alice, bob, "last")
        again.wait_for(P.DM_UNREAD, timeout=5, match=lambda d: d["message"]["id"] == last["id"])
        received = [m["id"] for m in welcome["missed_messages"]]
        received += [e["message"]["id"] for e in seen_events(again, P.DM_UNREAD)
                     if e["message"]["id"] != last["id"]]
        assert len(received) == len(set(received)), "a message arrived twice"
        assert sorted(received) == sorted(sent)


def test_redis_down_a_while_loses_no_acknowledged_dm(tmp_path, test_map_path, redis_server):
    with cluster(tmp_path, test_map_path, redis_server.url, n=2) as w:
        alice, carol, bob = w.players[0](), w.players[0](), w.players[1]()
        redis_server.stop(kill=True)
        # On one process nothing needs Redis.
        sent = send(alice, carol, "same process")
        assert carol.wait_for(P.DM_UNREAD, timeout=5).data["message"] == sent
        # To the other process: acknowledged means stored.
        away = send(alice, bob, "across, while redis is down")
        redis_server.start()
        # Bob gets it as unread when he can: at his next login at the latest.
        w.players[1].close(bob).result(10)
        again = w.players[1](name_of(bob), register=False)
        assert again.welcome["unread"] == {name_of(alice): 1}
        history = open_dm(again, alice)
        assert [m["id"] for m in history["messages"]] == [away["id"]]
