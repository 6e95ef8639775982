"""The chat's state without pixels: the outbox never drops a message, the
players list, repeated comings and goings."""
from __future__ import annotations

import pytest

from game.core import protocol as P
from game.client.chat_model import CHECK, FAILED, PENDING, SENDING, WAITING, ChatModel


def stored(mid: int, text: str, frm: str = "me", to: str = "bob") -> dict:
    return {"id": mid, "from": frm, "to": to, "text": text, "sent_at": 0}


def joined() -> ChatModel:
    model = ChatModel("me")
    model.set_directory([{"name": "bob", "online": True}])
    model.open("bob")
    model.on_open_answer({"ok": True, "messages": [], "has_more": False})
    model.set_connected(True)
    return model


def test_a_message_written_offline_waits_and_goes_when_joined():
    model = ChatModel("me")
    model.open("bob")
    model.compose("bob", "  are you there?  ")
    assert model.next_requests(0.0) == []  # not joined yet
    assert [(o.text, o.state) for o in model.outgoing()] == [("are you there?", PENDING)]
    model.set_connected(True)
    assert model.next_requests(1.0) == [(P.DM_SEND, {"to": "bob", "text": "are you there?"}, "bob")]
    assert model.outgoing()[0].state == SENDING
    model.on_send_answer({"ok": True, "message": stored(7, "are you there?")}, 1.1)
    assert model.outbox == [] and [m["id"] for m in model.items] == [7]


def test_messages_go_one_at_a_time_in_the_order_written():
    model = joined()
    for text in ("one", "two", "three"):
        model.compose("bob", text)
    sent = []
    for mid in range(1, 4):
        requests = model.next_requests(float(mid))
        assert len(requests) == 1 and model.next_requests(float(mid)) == []  # one in flight
        sent.append(requests[0][1]["text"])
        model.on_send_answer({"ok": True, "message": stored(mid, sent[-1])}, float(mid))
    assert sent == ["one", "two", "three"]
    assert [m["text"] for m in model.items] == sent


def test_over_the_limit_messages_wait_and_go_by_themselves_when_allowed():
    model = joined()
    for i in range(P.DMS_PER_WINDOW + 3):
        model.compose("bob", f"m{i}")
    now, mid = 100.0, 0
    while True:
        requests = model.next_requests(now)
        if not requests:
            break
        mid += 1
        model.on_send_answer({"ok": True, "message": stored(mid, requests[0][1]["text"])}, now)
        now += 0.01
    assert mid == P.DMS_PER_WINDOW  # the host was never asked past its limit
    waiting = model.outgoing()
    assert [o.state for o in waiting] == [WAITING] * 3
    first_allowed = 100.0 + P.DM_WINDOW_S
    assert first_allowed <= waiting[0].retry_at <= first_allowed + 0.5
    assert "20 messages in 10 s" in waiting[0].reason
    model.compose("bob", "written later")  # waits behind them, and says so
    assert model.next_requests(now) == [] and model.outgoing()[-1].state == WAITING
    assert model.next_requests(waiting[0].retry_at - 0.05) == []
    requests = model.next_requests(waiting[0].retry_at)
    assert requests[0][1]["text"] == f"m{P.DMS_PER_WINDOW}"


def test_a_refusal_over_the_limit_is_retried_later_not_dropped():
    model = joined()
    model.compose("bob", "hello")
    model.next_requests(5.0)
    model.on_send_answer({"ok": False, "error": P.E_RATE_LIMITED,
                          "message": "more than 20 messages in 10 s; message not sent"}, 5.0)
    item = model.outgoing()[0]
    assert item.state == WAITING and item.retry_at >= 6.0 and "20 messages" in item.reason
    assert model.next_requests(5.5) == []
    assert model.next_requests(item.retry_at)[0][1]["text"] == "hello"


def test_a_refused_message_stays_failed_with_the_reason_until_retried():
    model = joined()
    model.compose("bob", "hello")
    model.next_requests(1.0)
    model.on_send_answer({"ok": False, "error": "storage_full", "message": "the host's disk is full"}, 1.0)
    item = model.outgoing()[0]
    assert (item.state, item.reason) == (FAILED, "the host's disk is full")
    model.compose("bob", "later one")  # others still go out
    assert model.next_requests(2.0)[0][1]["text"] == "later one"
    model.on_send_answer({"ok": True, "message": stored(3, "later one")}, 2.0)
    assert model.next_requests(3.0) == []  # a failed one waits for the player
    assert model.retry(item.local_id)
    assert model.next_requests(4.0)[0][1]["text"] == "hello"


@pytest.mark.parametrize("host_had_it", [True, False])
def test_a_message_whose_answer_was_lost_is_checked_before_it_is_sent_again(host_had_it):
    model = joined()
    model.on_message(stored(40, "earlier", frm="bob", to="me"))
    model.compose("bob", "ok")
    model.compose("bob", "see you")
    assert model.next_requests(1.0)[0][1]["text"] == "ok"
    model.set_connected(False)  # the answer never comes
    assert [(o.text, o.state, o.uncertain) for o in model.outgoing()] == \
        [("ok", PENDING, True), ("see you", PENDING, False)]
    model.set_connected(True)
    requests = model.next_requests(2.0)
    assert requests == [(P.DM_HISTORY, {"peer": "bob", "limit": 50}, (CHECK, "bob"))]
    assert model.next_requests(2.1) == []  # nothing to bob goes out before the answer
    page = [stored(12, "ok"), stored(40, "earlier", frm="bob", to="me")]  # an old "ok" does not count
    if host_had_it:
        page.append(stored(41, "ok"))
    model.on_check_answer("bob", {"ok": True, "messages": page, "has_more": True})
    sends = [r[1]["text"] for r in model.next_requests(3.0)]
    if host_had_it:
        assert sends == ["see you"] and 41 in model.ids
    else:
        assert sends == ["ok"]


def test_comings_and_goings_in_a_row_share_one_line():
    model = joined()
    for i in range(6):
        model.on_presence("bob", "entered" if i % 2 == 0 else "left", float(i))
    assert [m["system"] for m in model.items] == ["bob left the conversation"]
    assert not model.peer_here
    model.on_message(stored(1, "hi", frm="bob", to="me"))
    model.on_presence("bob", "entered", 9.0)
    assert [m.get("system") or m["text"] for m in model.items] == \
        ["bob left the conversation", "hi", "bob entered the conversation"]


def test_the_players_list_shows_online_then_talked_to_and_finds_anyone():
    model = ChatModel("me")
    everyone = [{"name": f"bot{i:04d}", "online": False} for i in range(50)]
    everyone += [{"name": "Zed", "online": True}, {"name": "amy", "online": True},
                 {"name": "carol", "online": False}, {"name": "dave", "online": False}]
    model.set_directory(everyone)
    model.set_unread_counts({"dave": 2})
    model.compose("carol", "hi")
    assert [p["name"] for p in model.listed()] == ["amy", "Zed", "carol", "dave"]
    assert model.hidden_count() == 50
    assert [p["name"] for p in model.listed("BOT004")] == [f"bot004{i}" for i in range(10)]
    assert model.hidden_count("bot") == 0
    model.set_online("bot0007", True)
    assert "bot0007" in [p["name"] for p in model.listed()]


def test_the_people_talked_to_are_remembered_per_host_and_account(tmp_path):
    from game.client.contacts import ContactBook

    path = tmp_path / "contacts.json"
    ContactBook(path, "http://a me").save({"carol", "dave"})
    ContactBook(path, "http://b me").save({"zoe"})
    assert ContactBook(path, "http://a me").load() == ["carol", "dave"]
    assert ContactBook(path, "http://a other").load() == []
    path.write_text("not json")
    assert ContactBook(path, "http://a me").load() == []  # unreadable: start afresh
