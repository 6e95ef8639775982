"""Direct messages on a real host: live delivery, unread counts, history, privacy."""
from __future__ import annotations

from game.core import protocol as P

from .conftest import PASSWORD, db_rows, eventlet_only, post, seen_events, unique_name


def name_of(client) -> str:
    return client.session.name


def send(client, to, text) -> dict:
    reply = client.call(P.DM_SEND, {"to": name_of(to) if not isinstance(to, str) else to,
                                    "text": text})
    assert reply["ok"] is True, reply
    return reply["message"]


def open_dm(client, peer) -> dict:
    reply = client.call(P.DM_OPEN, {"peer": name_of(peer)})
    assert reply["ok"] is True, reply
    return reply


def sync(sender, receiver, receiver_event=P.DM_UNREAD) -> None:
    """The host sends each client's events in order: once a later message from
    ``sender`` reaches ``receiver``, anything sent to it before has arrived too."""
    marker = unique_name("sync")
    send(sender, receiver, marker)
    receiver.wait_for(receiver_event, match=lambda d: marker in str(d))


def texts_seen(client) -> str:
    """Everything DM-related the client has received so far, as one string."""
    kinds = (P.DM_MESSAGE, P.DM_UNREAD, P.DM_PRESENCE, P.WELCOME)
    return repr([seen_events(client, kind) for kind in kinds])


def stored_texts(db_path, a, b) -> list[str]:
    ids = sorted((a.session.user_id, b.session.user_id))
    rows = db_rows(db_path, "SELECT text FROM messages WHERE pair = ? ORDER BY id",
                   (f"{ids[0]}:{ids[1]}",))
    return [r[0] for r in rows]


def test_a_message_reaches_the_recipient_live_in_an_open_conversation(players):
    alice, bob, eve = players(), players(), players()
    reply = open_dm(bob, alice)
    assert reply["messages"] == [] and reply["has_more"] is False
    assert reply["peer"] == name_of(alice)
    assert reply["peer_online"] is True and reply["peer_present"] is False
    entered = alice.wait_for(P.DM_PRESENCE).data
    assert entered == {"peer": name_of(bob), "state": "entered"}
    # Names are matched regardless of case; the answer uses the real spelling.
    reply = alice.call(P.DM_OPEN, {"peer": name_of(bob).upper()})
    assert reply["ok"] and reply["peer"] == name_of(bob) and reply["peer_present"] is True

    sent = send(alice, bob, "hello bob")
    assert sent["from"] == name_of(alice) and sent["to"] == name_of(bob)
    assert sent["text"] == "hello bob" and isinstance(sent["id"], int)
    assert isinstance(sent["sent_at"], int)
    got = bob.wait_for(P.DM_MESSAGE).data
    assert got == sent
    # The sender's own window gets it too.
    assert alice.wait_for(P.DM_MESSAGE).data == sent
    assert not seen_events(bob, P.DM_UNREAD)

    sync(alice, eve)
    assert "hello bob" not in texts_seen(eve)


def test_a_message_for_a_closed_conversation_arrives_as_an_unread_count(world_host, players):
    alice, bob = players(), players()
    first = send(alice, bob, "one")
    note = bob.wait_for(P.DM_UNREAD).data
    assert note == {"peer": name_of(alice), "unread": 1, "message": first}
    send(alice, bob, "two")
    assert bob.wait_for(P.DM_UNREAD).data["unread"] == 2
    assert not seen_events(bob, P.DM_MESSAGE)

    # Opening marks it read: the next login shows nothing unread.
    assert [m["text"] for m in open_dm(bob, alice)["messages"]] == ["one", "two"]
    again = players(name_of(bob), register=False)
    assert again.welcome["unread"] == {}


@eventlet_only
def test_closing_a_conversation_tells_the_other_and_stops_live_delivery(players):
    alice, bob = players(), players()
    open_dm(alice, bob)
    open_dm(bob, alice)
    bob.wait_for(P.DM_PRESENCE, match=lambda d: d["state"] == "entered")
    assert bob.call(P.DM_CLOSE, {"peer": name_of(alice)}) == {"ok": True}
    left = alice.wait_for(P.DM_PRESENCE, match=lambda d: d["state"] == "left").data
    assert left["peer"] == name_of(bob)
    message = send(alice, bob, "are you there?")
    assert bob.wait_for(P.DM_UNREAD).data["message"] == message
    assert message not in seen_events(bob, P.DM_MESSAGE)
    # Leaving the world closes it too.
    open_dm(bob, alice)
    players.close(bob)
    alice.wait_for(P.DM_PRESENCE, match=lambda d: d == {"peer": name_of(bob), "state": "left"})


def test_an_offline_player_gets_unread_counts_at_login(world_host, players):
    bob_name = unique_name("offline")
    assert post(world_host.url, P.HTTP_REGISTER,
                {"username": bob_name, "password": PASSWORD}).status_code == 201
    alice, carol = players(), players()
    for text in ("a1", "a2", "a3"):
        send(alice, bob_name, text)
    newest = send(carol, bob_name, "c1")

    bob = players(bob_name, register=False)
    assert bob.welcome["unread"] == {name_of(alice): 3, name_of(carol): 1}
    # A fresh login is told what is unread, not handed the whole inbox; it
    # learns the newest id so a later resume asks only for what is new.
    assert bob.welcome["missed_messages"] == []
    assert bob.welcome["last_dm_id"] == newest["id"]
    assert bob.last_dm_id == newest["id"]
    history = open_dm(bob, alice)
    assert [m["text"] for m in history["messages"]] == ["a1", "a2", "a3"]
    assert history["has_more"] is False

    again = players(bob_name, register=False)
    assert again.welcome["unread"] == {name_of(carol): 1}


def test_history_pages_back_with_before_id(players):
    alice, bob = players(), players()
    sent = [send(alice if i % 2 else bob, bob if i % 2 else alice, f"m{i}") for i in range(7)]
    ids = [m["id"] for m in sent]
    page = alice.call(P.DM_HISTORY, {"peer": name_of(bob), "limit": 3})
    assert [m["id"] for m in page["messages"]] == ids[4:] and page["has_more"] is True
    page = alice.call(P.DM_HISTORY, {"peer": name_of(bob), "limit": 3,
                                     "before_id": page["messages"][0]["id"]})
    assert [m["id"] for m in page["messages"]] == ids[1:4] and page["has_more"] is True
    page = alice.call(P.DM_HISTORY, {"peer": name_of(bob), "limit": 3,
                                     "before_id": page["messages"][0]["id"]})
    assert [m["id"] for m in page["messages"]] == ids[:1] and page["has_more"] is False
    # Both sides read the same conversation; the default page holds it all.
    whole = bob.call(P.DM_HISTORY, {"peer": name_of(alice)})
    assert whole["messages"] == sent and whole["has_more"] is False


GOOD_TEXTS = [
    ("  hi there  ", "hi there"),
    ("x" * 500, "x" * 500),
    ("\n " + "y" * 500 + "\t\n", "y" * 500),
    ("two\nlines", "two\nlines"),
    ("é ☃ 😀", "é ☃ 😀"),
]
BAD_TEXTS = ["", "   ", "\n\t ", "z" * 501, " " + "z" * 501, 42, None, ["hi"], "bell\x07"]


@eventlet_only
def test_dm_text_is_trimmed_and_up_to_500_characters(world_host, players):
    alice, bob = players(), players()
    for text, stored in GOOD_TEXTS:
        assert send(alice, bob, text)["text"] == stored
    assert stored_texts(world_host.db_path, alice, bob) == [s for _, s in GOOD_TEXTS]


@eventlet_only
def test_dm_text_outside_the_limits_is_refused_and_not_stored(world_host, players):
    alice, bob = players(), players()
    for text in BAD_TEXTS:
        reply = alice.call(P.DM_SEND, {"to": name_of(bob), "text": text})
        assert reply["ok"] is False and reply["error"] == P.E_BAD_PAYLOAD, repr(text)
        error = alice.wait_for(P.ERROR).data
        assert error["code"] == P.E_BAD_PAYLOAD and error["event"] == P.DM_SEND
        assert "'text'" in error["message"], repr(text)
    sync(alice, bob)
    assert len(stored_texts(world_host.db_path, alice, bob)) == 1  # only the sync marker
    assert not seen_events(bob, P.DM_MESSAGE)
    assert [e["unread"] for e in seen_events(bob, P.DM_UNREAD)] == []


@eventlet_only
def test_messages_to_nobody_or_to_yourself_are_refused(world_host, players):
    alice = players()
    for peer in (unique_name("nobody"), name_of(alice), name_of(alice).upper()):
        reply = alice.call(P.DM_SEND, {"to": peer, "text": "hi"})
        assert reply["ok"] is False and reply["error"] == P.E_NO_SUCH_PLAYER, peer
        assert alice.call(P.DM_OPEN, {"peer": peer})["error"] == P.E_NO_SUCH_PLAYER
    uid = alice.session.user_id
    assert db_rows(world_host.db_path, "SELECT COUNT(*) FROM messages WHERE sender_id = ?",
                   (uid,)) == [(0,)]


def test_a_third_player_can_neither_enter_the_room_nor_read_the_history(world_host, players):
    alice, bob, eve = players(), players(), players()
    open_dm(alice, bob)
    open_dm(bob, alice)
    secret = send(alice, bob, "secret-one")
    bob.wait_for(P.DM_MESSAGE, match=lambda d: d["id"] == secret["id"])
    a, b = alice.session.user_id, bob.session.user_id
    room = f"dm:{min(a, b)}:{max(a, b)}"

    # Opening a conversation with either of them is a conversation with eve.
    for peer in (alice, bob):
        reply = open_dm(eve, peer)
        assert reply["messages"] == [] and reply["peer"] == name_of(peer)
        reply = eve.call(P.DM_HISTORY, {"peer": name_of(peer), "before_id": secret["id"] + 1000})
        assert reply["ok"] and reply["messages"] == []
    # Naming the pair, the room, or the other side in any field is refused.
    attempts = [
        (P.DM_OPEN, {"peer": name_of(bob), "with": name_of(alice)}),
        (P.DM_OPEN, {"peer": room}),
        (P.DM_OPEN, {"peer": f"{name_of(alice)}:{name_of(bob)}"}),
        (P.DM_OPEN, {"peer": [name_of(alice), name_of(bob)]}),
        (P.DM_OPEN, {"room": room}),
        (P.DM_HISTORY, {"peer": name_of(bob), "room": room}),
        (P.DM_HISTORY, {"peer": name_of(bob), "user": name_of(alice)}),
        (P.DM_HISTORY, {"peer": name_of(bob), "pair": f"{a}:{b}"}),
        (P.DM_SEND, {"to": name_of(bob), "text": "hi", "from": name_of(alice)}),
        (P.DM_CLOSE, {"peer": name_of(alice), "room": room}),
    ]
    for event, payload in attempts:
        reply = eve.call(event, payload)
        assert reply["ok"] is False and reply["error"] == P.E_BAD_PAYLOAD, (event, payload)
    for event in ("join_room", "enter_room", "subscribe", "dm_join"):
        eve.emit(event, {"room": room})
        error = eve.wait_for(P.ERROR, match=lambda d: d.get("event") == event).data
        assert error["code"] == P.E_UNKNOWN_EVENT

    # The conversation carries on; none of it reaches eve.
    later = send(bob, alice, "secret-two")
    alice.wait_for(P.DM_MESSAGE, match=lambda d: d["id"] == later["id"])
    sync(alice, eve, P.DM_MESSAGE)  # eve has her conversation with alice open
    seen = texts_seen(eve)
    assert "secret" not in seen
    assert stored_texts(world_host.db_path, alice, bob) == ["secret-one", "secret-two"]
    # Nothing eve sent landed in their conversation or impersonated alice.
    assert db_rows(world_host.db_path,
                   "SELECT COUNT(*) FROM messages WHERE sender_id = ? AND recipient_id = ?",
                   (eve.session.user_id, b)) == [(0,)]
