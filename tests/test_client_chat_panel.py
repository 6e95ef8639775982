"""The chat panel owns its talk with the host: it sends its own requests and
takes its own answers and direct-message events from the scene's queue, and
its model routes the answers without pixels."""
from __future__ import annotations

import pygame
import pytest

from game.core import protocol as P
from game.client import theme
from game.client.chat_model import CHECK, ChatModel
from game.client.sound import ENTERED, MESSAGE
from game.client.widgets.chat import ChatPanel
from game.client.net import ANSWER, DISCONNECTED

from .helpers_client import world  # noqa: F401  (the fixture)


class Wired:
    """A panel wired up the way the world scene does it, recording what goes out."""

    def __init__(self):
        pygame.init()  # left running, like the other client tests: fonts are cached
        pygame.display.set_mode((1024, 720))
        self.sent: list[tuple] = []
        self.cues: list[str] = []
        self.toasts: list[tuple] = []
        self.panel = ChatPanel(theme.make_manager((1024, 720)), "me",
                               lambda event, payload, tag: self.sent.append((event, payload, tag)),
                               cue=self.cues.append,
                               notify=lambda text, action: self.toasts.append((text, action)))

    def welcome(self, **extra) -> bool:
        data = {"you": {"id": 1, "name": "me"}, "players": [], "unread": {}}
        data.update(extra)
        return self.panel.on_net(P.WELCOME, data)


@pytest.fixture
def wired():
    return Wired()


def message(mid: int, frm: str, to: str, text: str) -> dict:
    return {"id": mid, "from": frm, "to": to, "text": text, "sent_at": 0}


def test_the_welcome_joins_the_panel_and_asks_for_the_directory(wired):
    panel = wired.panel
    taken = wired.welcome(unread={"bob": 2}, missed_messages=[message(3, "bob", "me", "hi")])
    assert taken is False  # the scene needs the welcome too
    assert panel.connected and panel.model.connected
    assert panel.unread == {"bob": 2}
    assert wired.sent == [(P.DIRECTORY, {}, None)]
    assert panel.on_net(ANSWER, {"event": P.DIRECTORY, "tag": None, "reply": {
        "ok": True, "players": [{"name": "bob", "online": True}, {"name": "me", "online": True}]}})
    assert panel.players == [{"name": "bob", "online": True}]


def test_a_welcome_after_a_drop_enters_the_open_conversation_again(wired):
    panel = wired.panel
    wired.welcome()
    panel.show_conversation("bob")
    assert wired.sent[-1] == (P.DM_OPEN, {"peer": "bob"}, "bob")
    assert panel.on_net(DISCONNECTED, {"reconnecting": True}) is False
    assert not panel.connected and not panel.model.connected
    wired.sent.clear()
    wired.welcome()
    assert wired.sent == [(P.DM_OPEN, {"peer": "bob"}, "bob"), (P.DIRECTORY, {}, None)]


def test_players_coming_and_going_reach_the_list_and_the_scene(wired):
    panel = wired.panel
    wired.welcome()
    assert panel.on_net(P.PLAYERS_JOINED,
                        {"players": [{"id": 2, "name": "bob", "x": 0, "y": 0}]}) is False
    assert panel.players == [{"name": "bob", "online": True}]
    assert panel.on_net(P.PLAYERS_LEFT, {"ids": [2], "names": ["bob"]}) is False
    assert panel.model.players == [{"name": "bob", "online": False}]


def test_direct_message_events_are_the_panels_alone(wired):
    panel = wired.panel
    wired.welcome()
    panel.show_conversation("bob")
    panel.on_net(ANSWER, {"event": P.DM_OPEN, "tag": "bob", "reply": {
        "ok": True, "messages": [], "has_more": False, "peer_online": True,
        "peer_present": False}})
    assert panel.on_net(P.DM_PRESENCE, {"peer": "bob", "state": "entered"}) is True
    assert panel.peer_here and wired.cues == [ENTERED]
    assert panel.on_net(P.DM_MESSAGE, message(5, "bob", "me", "hello")) is True
    assert [m["text"] for m in panel.items if "id" in m] == ["hello"]
    assert wired.cues == [ENTERED, MESSAGE]
    assert panel.on_net(P.DM_MESSAGE, message(6, "me", "bob", "hi bob")) is True
    assert wired.cues == [ENTERED, MESSAGE]  # our own message makes no sound
    assert wired.toasts == []  # the conversation is on screen: no toast


def test_a_message_in_another_conversation_raises_a_toast_that_opens_it(wired):
    panel = wired.panel
    wired.welcome()
    wired.sent.clear()
    assert panel.on_net(P.DM_UNREAD, {"peer": "carol", "unread": 3,
                                      "message": message(7, "carol", "me", "psst")}) is True
    assert panel.unread == {"carol": 3} and wired.cues == [MESSAGE]
    (text, action), = wired.toasts
    assert text == "New message from carol"
    action()
    assert panel.visible and panel.peer == "carol"
    assert (P.DM_OPEN, {"peer": "carol"}, "carol") in wired.sent


def test_errors_about_the_chats_requests_stay_in_the_panel(wired):
    panel = wired.panel
    for event in (P.DIRECTORY, P.DM_OPEN, P.DM_HISTORY, P.DM_SEND, P.DM_CLOSE):
        assert panel.on_net(P.ERROR, {"event": event, "code": P.E_INTERNAL,
                                      "message": "no"}) is True, event
    assert panel.on_net(P.ERROR, {"event": P.SET_LOOK, "message": "no"}) is False
    assert panel.on_net(ANSWER, {"event": P.SET_LOOK, "tag": 1, "reply": {"ok": True}}) is False
    assert panel.on_net(ANSWER, {"event": P.PING, "tag": 1.0, "reply": {}}) is False
    assert panel.on_net(P.SNAPSHOT, {"t": 0, "p": []}) is False


def test_a_refused_opening_is_shown_as_a_notice(wired):
    panel = wired.panel
    wired.welcome()
    panel.show_conversation("bob")
    panel.on_net(ANSWER, {"event": P.DM_OPEN, "tag": "bob", "reply": {
        "ok": False, "error": P.E_INTERNAL, "message": "the host could not open it"}})
    assert panel.notice == "the host could not open it" and not panel.opening


def test_the_model_routes_answers_by_event_and_tag():
    model = ChatModel("me")
    model.set_connected(True)
    assert model.on_answer(P.DIRECTORY, None, {"ok": True, "players": [
        {"name": "bob", "online": True}]}, 0.0) is None
    assert model.players == [{"name": "bob", "online": True}]
    model.open("bob")
    # An answer for a conversation no longer open changes nothing.
    assert model.on_answer(P.DM_OPEN, "carol", {"ok": False, "message": "gone"}, 0.0) is None
    assert model.opening
    assert model.on_answer(P.DM_OPEN, "bob", {"ok": True, "messages": [
        message(4, "bob", "me", "hi")], "has_more": True}, 0.0) is None
    assert [m["id"] for m in model.items] == [4] and model.has_more
    assert model.older_request() == {"peer": "bob", "before_id": 4,
                                     "limit": P.HISTORY_PAGE_DEFAULT}
    model.on_answer(P.DM_HISTORY, "bob", {"ok": True, "messages": [
        message(2, "me", "bob", "hello")], "has_more": False}, 0.0)
    assert [m["id"] for m in model.items] == [2, 4] and not model.loading_older
    model.compose("bob", "still there?")
    assert model.next_requests(1.0) == [(P.DM_SEND, {"to": "bob", "text": "still there?"}, "bob")]
    model.on_answer(P.DM_SEND, "bob", {"ok": True, "message": message(5, "me", "bob",
                                                                        "still there?")}, 1.1)
    assert model.outbox == [] and [m["id"] for m in model.items] == [2, 4, 5]
    # A read-back after a lost answer is told apart from the page above by its tag.
    model.compose("bob", "lost?")
    model.next_requests(2.0)
    model.set_connected(False)
    model.set_connected(True)
    assert model.next_requests(3.0) == [(P.DM_HISTORY, {"peer": "bob", "limit": 50},
                                         (CHECK, "bob"))]
    model.on_answer(P.DM_HISTORY, (CHECK, "bob"), {"ok": True, "messages": [
        message(6, "me", "bob", "lost?")]}, 3.1)
    assert model.outbox == [] and [m["id"] for m in model.items] == [2, 4, 5, 6]
    assert model.on_answer(P.DM_SEND, "bob", None, 4.0) is None  # nothing in flight: ignored


def test_the_world_scene_hands_chat_errors_to_the_panel_and_shows_the_rest(world):
    scene, client, frames, _ = world
    client.put(P.ERROR, {"event": P.DM_SEND, "code": P.E_RATE_LIMITED, "message": "slow down"})
    frames(1)
    assert scene.toasts.items == []  # the panel shows it with the message
    client.put(P.ERROR, {"event": P.MOVE, "code": P.E_BAD_PAYLOAD, "message": "bad move"})
    frames(1)
    assert [item[0] for item in scene.toasts.items] == ["bad move"]
