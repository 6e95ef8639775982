"""Blocking and deleting one's account in the client: the chat panel on a
headless surface (the list hides a blocked player, the header blocks and
unblocks, a refused message says "Not delivered"), and against a real host
the whole game (block from the conversation header; the Escape menu's
"Delete my account" asks the host and goes back to the login screen)."""
from __future__ import annotations

import pygame
import pytest
import requests

from game.client import theme
from game.client.net import ANSWER, HostClient, HostError
from game.client.scenes.login import LoginScene
from game.client.scenes.menu import DELETE, MenuScene
from game.client.widgets.chat import ChatPanel
from game.core import protocol as P

from .conftest import PASSWORD
from .helpers_client import Game, account, enter_world


class Wired:
    def __init__(self):
        pygame.init()
        pygame.display.set_mode((1024, 720))
        self.sent: list[tuple] = []
        self.panel = ChatPanel(theme.make_manager((1024, 720)), "me",
                               lambda event, payload, tag: self.sent.append((event, payload, tag)))

    def answer(self, event: str, tag, reply: dict) -> None:
        assert self.panel.on_net(ANSWER, {"event": event, "tag": tag, "reply": reply})

    def draw(self) -> pygame.Surface:
        surface = pygame.Surface((1024, 720))
        self.panel.manager.update(0.01)
        self.panel.draw(surface)
        return surface


@pytest.fixture
def wired():
    return Wired()


DIRECTORY = [{"name": "bob", "online": True, "blocked": True},
             {"name": "carol", "online": True}, {"name": "dave", "online": False}]


def test_the_list_hides_a_blocked_player_and_the_search_finds_them(wired):
    panel = wired.panel
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [],
                             "unread": {"bob": 3, "carol": 1}, "blocked": ["bob"]})
    assert panel.unread == {"carol": 1}  # nothing counted from a blocked player
    wired.answer(P.DIRECTORY, None, {"ok": True, "players": DIRECTORY})
    panel.set_visible(True)
    assert [p["name"] for p in panel.players] == ["carol"]
    assert panel.model.hidden_count("") == 2
    panel.search.set_text("bo")
    assert [p["name"] for p in panel.players] == ["bob"]
    wired.draw()  # a blocked row draws (marked "blocked")
    # Nothing from them reaches the panel even if it came.
    panel.on_net(P.DM_UNREAD, {"peer": "bob", "unread": 4,
                               "message": {"id": 9, "from": "bob", "to": "me", "text": "x"}})
    assert "bob" not in panel.unread


def test_the_header_button_blocks_and_unblocks_the_open_conversation(wired):
    panel = wired.panel
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [], "unread": {}})
    wired.answer(P.DIRECTORY, None, {"ok": True, "players": DIRECTORY[1:]})
    panel.set_visible(True)
    panel.open("carol")
    wired.answer(P.DM_OPEN, "carol", {"ok": True, "peer": "carol", "messages": [
        {"id": 1, "from": "carol", "to": "me", "text": "hi", "sent_at": 0}], "has_more": False})
    assert panel.block_button.visible and panel.block_button.text == "Block"
    wired.sent.clear()
    panel.handle_event(pygame.event.Event(pygame_gui_pressed(), ui_element=panel.block_button))
    assert wired.sent == [(P.BLOCK, {"name": "carol"}, "carol")]
    wired.sent.clear()
    wired.answer(P.BLOCK, "carol", {"ok": True, "name": "carol", "blocked": True})
    assert panel.model.is_blocked("carol") and panel.block_button.text == "Unblock"
    assert not panel.entry.visible and panel.items == []
    assert wired.sent == [(P.DM_OPEN, {"peer": "carol"}, "carol")]  # read again: empty now
    assert "blocked" in panel.peer_status()
    panel.handle_event(pygame.event.Event(pygame_gui_pressed(), ui_element=panel.block_button))
    assert wired.sent[-1] == (P.UNBLOCK, {"name": "carol"}, "carol")
    wired.answer(P.UNBLOCK, "carol", {"ok": True, "name": "carol", "blocked": False})
    assert not panel.model.is_blocked("carol") and panel.entry.visible
    assert panel.block_button.text == "Block"


def test_a_refused_block_changes_nothing_and_says_why(wired):
    panel = wired.panel
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [], "unread": {}})
    panel.set_visible(True)
    panel.open("carol")
    panel.set_block("carol", True)
    wired.answer(P.BLOCK, "carol", {"ok": False, "error": P.E_TOO_MANY_BLOCKS,
                                    "message": "you may block at most 500 players"})
    assert not panel.model.is_blocked("carol")
    assert "500" in panel.notice


def test_a_refused_message_says_not_delivered(wired):
    panel = wired.panel
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [], "unread": {}})
    panel.set_visible(True)
    panel.open("carol")
    wired.answer(P.DM_OPEN, "carol", {"ok": True, "peer": "carol", "messages": [],
                                      "has_more": False})
    panel.entry.set_text("hello")
    assert panel.send()
    assert wired.sent[-1][0] == P.DM_SEND
    wired.answer(P.DM_SEND, "carol", {"ok": False, "error": P.E_NOT_DELIVERED,
                                      "message": "the message could not be delivered"})
    item = panel.model.outgoing()[0]
    assert panel.outgoing_label(item)[0] == "Not delivered"
    wired.draw()


def pygame_gui_pressed() -> int:
    import pygame_gui
    return pygame_gui.UI_BUTTON_PRESSED


# -- against a real host ------------------------------------------------------------------------
@pytest.fixture
def game(tmp_path, world_host):
    g = Game(tmp_path, world_host.url)
    yield g
    g.close()


def test_blocking_from_the_game_refuses_the_other_players_messages(game, world_host):
    me, bob = account(world_host), account(world_host)
    scene = enter_world(game, world_host, me)
    chat = scene.chat
    chat.show_conversation(bob)
    game.until(lambda: not chat.opening, what="conversation open")
    chat.handle_event(pygame.event.Event(pygame_gui_pressed(), ui_element=chat.block_button))
    game.until(lambda: chat.model.is_blocked(bob), what="the block")
    other = HostClient(world_host.url, reconnect=False)
    try:
        other.login(bob, PASSWORD)
        other.connect()
        other.wait_for(P.WELCOME)
        reply = other.call(P.DM_SEND, {"to": me, "text": "hello?"})
        assert reply["error"] == P.E_NOT_DELIVERED
    finally:
        other.close()
    chat.handle_event(pygame.event.Event(pygame_gui_pressed(), ui_element=chat.block_button))
    game.until(lambda: not chat.model.is_blocked(bob), what="the unblock")


def open_delete_page(game: Game) -> MenuScene:
    game.key(pygame.K_ESCAPE)
    menu = game.scene
    assert isinstance(menu, MenuScene)
    menu.activate("settings")
    menu.activate("delete")
    assert menu.page == DELETE
    return menu


def test_delete_my_account_asks_the_host_and_returns_to_the_login(game, world_host):
    me = account(world_host)
    scene = enter_world(game, world_host, me)
    menu = open_delete_page(game)
    game.type("wrong-password")
    game.key(pygame.K_RETURN)
    game.until(lambda: menu.delete_problem, what="the refusal")
    assert "not your password" in menu.delete_problem and game.scene is menu
    game.type(PASSWORD)
    game.key(pygame.K_RETURN)
    game.until(lambda: isinstance(game.scene, LoginScene), what="the login screen")
    assert "deleted" in game.scene.message and str(P.RETIRED_NAME_DAYS) in game.scene.message
    assert len(game.app.stack) == 1 and scene.ended
    with pytest.raises(HostError) as refused:
        HostClient(world_host.url, reconnect=False).login(me, PASSWORD)
    assert refused.value.code == P.E_BAD_CREDENTIALS
    again = requests.post(world_host.url + P.HTTP_REGISTER,
                          json={"username": me, "password": PASSWORD}, timeout=5)
    assert again.status_code == 409 and again.json()["error"] == P.E_NAME_RETIRED


def test_the_delete_page_takes_letters_as_the_password_and_escape_cancels(game, world_host):
    me = account(world_host)
    enter_world(game, world_host, me)
    menu = open_delete_page(game)
    game.type("wasd ")
    for key in (pygame.K_w, pygame.K_s, pygame.K_SPACE):
        game.key(key)
    assert menu.password == "wasd " and menu.page == DELETE
    game.key(pygame.K_BACKSPACE)
    assert menu.password == "wasd"
    game.key(pygame.K_RETURN)  # a wrong password: nothing deleted
    game.until(lambda: menu.delete_problem, what="the refusal")
    game.key(pygame.K_ESCAPE)
    assert menu.page != DELETE and menu.password == ""
    HostClient(world_host.url, reconnect=False).login(me, PASSWORD)  # still there


def test_an_empty_password_is_not_sent(game, world_host):
    enter_world(game, world_host, account(world_host))
    menu = open_delete_page(game)
    game.key(pygame.K_RETURN)
    assert menu.delete_problem == "Type your password first." and not menu.deleting


def test_the_right_click_menu_gets_block_and_unblock(wired):
    panel = wired.panel
    panel.on_net(P.WELCOME, {"you": {"id": 1, "name": "me"}, "players": [], "unread": {},
                             "blocked": ["bob"]})
    assert [label for label, _ in panel.block_items("me")] == []
    (label, action), = panel.block_items("bob")
    assert label == "Unblock"
    wired.sent.clear()
    action()
    assert wired.sent == [(P.UNBLOCK, {"name": "bob"}, "bob")]
    (label, action), = panel.block_items("carol")
    assert label == "Block"
    action()
    assert wired.sent[-1] == (P.BLOCK, {"name": "carol"}, "carol")
