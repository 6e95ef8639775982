"""The owner's and moderators' tools in the world scene, and what every
player is shown, on a headless surface: a stand-in client feeds the scene the
host's events and records the requests it sends."""
from __future__ import annotations

import time

import pygame
import pytest

from game.core import protocol as P
from game.client.net import ANSWER, HostError
from game.client.scenes.login import LoginScene, describe_error
from game.client.widgets.announce import clock_time
from game.client.widgets.context_menu import ContextMenu, MenuItem, TextDialog

from .helpers_client import world  # noqa: F401  (the fixture)

MOD_CAN = ["kick", "mute", "unmute", "ban", "unban", "announce", "list"]
OWNER_CAN = MOD_CAN + ["promote", "demote", "audit", "settings"]


def welcome(client, scene, role: str, can: list[str], others=()) -> None:
    """A (second) welcome naming our role and the players around us."""
    x, y = scene.predictor.x, scene.predictor.y
    players = [{"id": 10 + i, "name": name, "x": x + 40 + 40 * i, "y": y, "role": r}
               for i, (name, r) in enumerate(others)]
    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": x, "y": y, "role": role},
                           "can": can, "players": players, "unread": {}, "tick_rate": 20,
                           "server_time": 5_000_000.0})


def key(k: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0))


def typed(text: str) -> None:
    for ch in text:
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=ch))


def click(pos, button: int = 1) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=button))


def avatar_point(scene, name: str) -> tuple[int, int]:
    remote = next(r for r in scene.remotes.values() if r.name == name)
    return scene.camera.to_screen(remote.x, remote.y - 12)


def labels(scene) -> list[str]:
    return scene.mod.menu.labels()


# -- the menu's items by role --------------------------------------------------------------
def test_a_player_gets_message_only_and_no_moderation(world):
    scene, client, frames, _ = world
    welcome(client, scene, "player", [], [("bob", "player")])
    frames(2)
    click(avatar_point(scene, "bob"), button=3)
    frames(1)
    assert scene.mod.menu.is_open and scene.mod.menu.title == "bob"
    assert labels(scene) == ["Message", "Block"]  # Block: the chat panel's item
    assert scene.mod.menu_entries() == []


def test_a_moderator_gets_kick_mute_ban_but_not_on_the_owner_or_a_moderator(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN,
            [("bob", "player"), ("olga", "owner"), ("mia", "moderator")])
    frames(2)
    assert labels(scene) == []  # nothing open yet
    mod = scene.mod
    assert [i.label for i in mod.items_for("bob")] == [
        "Message", "Block", "Kick…", "Mute 10 min…", "Mute 1 hour…", "Mute 1 day…", "Unmute",
        "Ban 1 day…", "Ban 1 week…", "Ban for good…"]
    assert [i.label for i in mod.items_for("olga")] == ["Message", "Block"]
    assert [i.label for i in mod.items_for("mia")] == ["Message", "Block"]
    # Someone offline (from the list of people we talked to): no kick, but unban.
    offline = [i.label for i in mod.items_for("gone", online=False)]
    assert "Kick…" not in offline and "Unban" in offline
    assert mod.menu_entries() == [("announce", "Announce…"), ("who", "Who is on…")]


def test_the_owner_appoints_and_removes_moderators(world):
    scene, client, frames, _ = world
    welcome(client, scene, "owner", OWNER_CAN, [("bob", "player"), ("mia", "moderator")])
    frames(2)
    assert "Make moderator" in [i.label for i in scene.mod.items_for("bob")]
    on_mia = [i.label for i in scene.mod.items_for("mia")]
    assert "Remove moderator" in on_mia and "Kick…" in on_mia and "Make moderator" not in on_mia
    scene.mod.items_for("bob")[-1].action()
    assert client.requests[-1][:2] == ("mod_promote", {"name": "bob"})
    # role_changed reaches everyone: the list's tag follows.
    client.put("role_changed", {"id": 10, "name": "bob", "role": "moderator"})
    frames(1)
    assert scene.chat.players_list.roles["bob"] == "moderator"


def test_other_parts_add_items_through_providers(world):
    scene, client, frames, _ = world
    welcome(client, scene, "player", [], [("bob", "player")])
    frames(2)
    hits = []
    scene.mod.providers[:] = []  # only this test's own
    scene.mod.providers.append(lambda name: [("Block", lambda: hits.append(name))])
    click(avatar_point(scene, "bob"), button=3)
    frames(1)
    assert labels(scene) == ["Message", "Block"]
    key(pygame.K_DOWN)
    key(pygame.K_DOWN)
    key(pygame.K_RETURN)
    frames(1)
    assert hits == ["bob"] and not scene.mod.menu.is_open


# -- keyboard and mouse ---------------------------------------------------------------------
def test_the_menu_by_keyboard_message_opens_the_conversation(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN, [("bob", "player")])
    frames(2)
    click(avatar_point(scene, "bob"), button=3)
    frames(1)
    key(pygame.K_w)  # while the menu is open the keys choose, they do not walk
    frames(1)
    assert scene.held == set()
    assert scene.mod.menu.selected == len(labels(scene)) - 1  # up from nothing: the last
    key(pygame.K_DOWN)
    key(pygame.K_RETURN)
    frames(1)
    assert scene.chat.visible and scene.chat.peer == "bob"


def test_escape_and_a_click_outside_close_the_menu_without_side_effects(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN, [("bob", "player")])
    frames(2)
    point = avatar_point(scene, "bob")
    click(point, button=3)
    frames(1)
    key(pygame.K_ESCAPE)
    frames(1)
    assert not scene.mod.menu.is_open
    assert len(scene.app.stack) == 1  # Escape closed the menu only, not into the game menu
    click(point, button=3)
    frames(1)
    assert scene.mod.menu.is_open
    outside = (scene.mod.menu.rect.right + 40, scene.mod.menu.rect.bottom + 40)
    click(outside)
    frames(1)
    assert not scene.mod.menu.is_open
    assert scene.chat.peer is None  # the click did nothing else
    assert not [r for r in client.requests if r[0].startswith("mod_")]


def test_kick_by_mouse_asks_a_reason_then_shows_the_hosts_answer(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN, [("bob", "player")])
    frames(2)
    click(avatar_point(scene, "bob"), button=3)
    frames(1)
    menu = scene.mod.menu
    click(menu.row_rect(labels(scene).index("Kick…")).center)
    frames(1)
    dialog = scene.mod.dialog
    assert dialog is not None and dialog.title == "Kick bob?"
    typed("spamming the well")
    key(pygame.K_BACKSPACE)
    frames(1)
    click(dialog.confirm_rect.center)
    frames(1)
    assert scene.mod.dialog is None
    event, payload, tag = client.requests[-1]
    assert (event, payload) == ("mod_kick", {"name": "bob", "reason": "spamming the wel"})
    client.put(ANSWER, {"event": "mod_kick", "tag": tag, "reply": {"ok": True}})
    frames(1)
    assert scene.toasts.items[-1][0] == "bob was kicked."
    # A refusal shows the host's own words.
    scene.mod.items_for("bob")[labels(scene).index("Ban for good…")].action()
    key(pygame.K_RETURN)  # no reason: allowed
    frames(1)
    event, payload, tag = client.requests[-1]
    assert (event, payload) == ("mod_ban", {"name": "bob", "minutes": None, "reason": ""})
    client.put(ANSWER, {"event": "mod_ban", "tag": tag, "reply": {
        "ok": False, "error": "not_on_moderator", "message": "bob is a moderator"}})
    frames(1)
    assert scene.toasts.items[-1][0] == "bob is a moderator"


def test_escape_cancels_the_reason_dialog(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN, [("bob", "player")])
    frames(2)
    scene.mod.items_for("bob")[3].action()  # Mute 10 min…
    assert scene.mod.dialog.title == "Mute bob for 10 min?"
    typed("x")
    key(pygame.K_ESCAPE)
    frames(1)
    assert scene.mod.dialog is None and len(scene.app.stack) == 1
    assert not [r for r in client.requests if r[0].startswith("mod_")]


def test_right_click_on_a_name_in_the_players_list(world):
    scene, client, frames, _ = world
    welcome(client, scene, "owner", OWNER_CAN, [("bob", "player"), ("mia", "moderator")])
    frames(2)
    scene.chat.set_visible(True)
    scene.chat.set_directory([{"name": "bob", "online": True}, {"name": "mia", "online": True}])
    frames(1)
    rows = scene.chat.list_rect
    row_of_mia = next(i for i, p in enumerate(scene.chat.players) if p["name"] == "mia")
    click((rows.x + 60, rows.y + 30 * row_of_mia + 15), button=3)
    frames(1)
    assert scene.mod.menu.is_open and scene.mod.menu.title == "mia"
    assert "Remove moderator" in labels(scene)
    assert scene.chat.peer is None  # a right-click does not open the conversation


# -- the Escape menu, announcements, the list --------------------------------------------
def test_announce_from_the_escape_menu_and_the_banner_on_every_screen(world):
    scene, client, frames, _ = world
    welcome(client, scene, "moderator", MOD_CAN)
    frames(2)
    key(pygame.K_ESCAPE)
    frames(1)
    menu = scene.app.scene
    assert [i.label for i in menu.items()][:4] == ["Resume", "Settings", "Announce…",
                                                   "Who is on…"]
    menu.activate("world:announce")
    frames(1)
    assert scene.app.scene is scene and scene.mod.dialog.title == "Announce"
    key(pygame.K_RETURN)  # an empty announcement is not sent
    frames(1)
    assert scene.mod.dialog is not None and scene.mod.dialog.problem
    typed("Server restarts at six")
    key(pygame.K_RETURN)
    frames(1)
    assert client.requests[-1][:2] == ("mod_announce", {"text": "Server restarts at six"})
    client.put("announcement", {"text": "Server restarts at six", "from": "me",
                                "at": time.time() * 1000})
    frames(1)
    assert scene.mod.banner.showing == ("Server restarts at six", "me")
    frames(int(9 * 60))
    assert scene.mod.banner.showing is None


def test_who_is_on_shows_the_hosts_list(world):
    scene, client, frames, _ = world
    welcome(client, scene, "owner", OWNER_CAN)
    frames(2)
    scene.menu_action("who")
    event, payload, tag = client.requests[-1]
    assert (event, payload) == ("mod_list", {})
    client.put(ANSWER, {"event": "mod_list", "tag": tag, "reply": {"ok": True, "players": [
        {"id": 2, "name": "zed", "role": "player", "map": "town", "x": 1, "y": 2,
         "since": (time.time() - 600) * 1000, "address": "127.0.0.1"},
        {"id": 1, "name": "me", "role": "owner", "map": "town", "x": 1, "y": 2,
         "since": (time.time() - 3600) * 1000}]}})
    frames(1)
    who = scene.mod.who
    assert [p["name"] for p in who.players] == ["me", "zed"]
    assert who.since((who.now - 600) * 1000).endswith("(10 min)")
    assert who.since((who.now - 3900) * 1000).endswith("(1 h 05 min)")
    key(pygame.K_ESCAPE)
    frames(1)
    assert scene.mod.who is None and len(scene.app.stack) == 1


# -- what every player is shown ------------------------------------------------------------
def test_muted_the_text_box_says_until_when_then_unmuted(world):
    scene, client, frames, _ = world
    welcome(client, scene, "player", [], [("bob", "player")])
    frames(2)
    scene.chat.show_conversation("bob")
    frames(1)
    until = time.time() + 3600
    client.put("muted", {"until": until * 1000, "reason": "shouting"})
    frames(1)
    assert scene.mod.muted_text() == f"Muted until {clock_time(until)}"
    assert "shouting" in scene.toasts.items[-1][0]
    assert not scene.chat.entry.is_focused  # the box shows the notice instead
    client.put("unmuted", {})
    frames(1)
    assert not scene.mod.muted and scene.toasts.items[-1][0] == "You can write again."


def test_a_mute_ends_by_itself_at_its_time(world):
    scene, client, frames, _ = world
    welcome(client, scene, "player", [])
    frames(2)
    scene.mod.on_muted({"until": (time.time() - 1) * 1000, "reason": ""})
    frames(1)
    assert not scene.mod.muted and scene.mod.muted_until is None


@pytest.mark.parametrize("data, expected", [
    ({"reason": "kicked", "message": "be nice"}, "You were kicked from this world: be nice"),
    ({"reason": "banned", "message": "spamming", "until": None}, "Banned for good: spamming"),
    ({"reason": "banned", "message": "", "until": 1_800_000_000_000},
     f"Banned until {clock_time(1_800_000_000)}."),
])
def test_kicked_or_banned_goes_to_the_login_with_the_reason(world, data, expected):
    scene, client, frames, _ = world
    client.put(P.SESSION_ENDED, data)
    frames(1)
    login = scene.app.scene
    assert isinstance(login, LoginScene) and login.message == expected
    assert not client.connected


def test_a_ban_with_an_end_names_it():
    until = time.time() + 86400 * 2
    exc = HostError("banned", "spamming", 403, {"until": round(until * 1000)})
    assert describe_error(exc, "http://x") == f"Banned until {clock_time(until)}: spamming"
    assert "invite only" in describe_error(HostError("not_invited", "no", 403), "x")
    assert "registration is closed" in describe_error(
        HostError("registration_closed", "no", 403), "x")


# -- the widgets alone ----------------------------------------------------------------------
def test_context_menu_stays_on_screen_and_wraps_with_the_keys():
    pygame.init()
    hits = []
    menu = ContextMenu()
    menu.open((1000, 700), "bob", [MenuItem("A", lambda: hits.append("A")),
                                    MenuItem("B", lambda: hits.append("B"))],
               pygame.Rect(0, 0, 1024, 720))
    assert pygame.Rect(0, 0, 1024, 720).contains(menu.rect)
    menu.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP))
    menu.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP))
    menu.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN))
    assert hits == ["A"] and not menu.is_open
    surface = pygame.Surface((1024, 720))
    menu.draw(surface)  # closed: draws nothing, no error


def test_text_dialog_keeps_its_limit():
    pygame.init()
    got = []
    dialog = TextDialog("t", "e", "OK", got.append, limit=5)
    for ch in "abcdefgh":
        dialog.handle_event(pygame.event.Event(pygame.TEXTINPUT, text=ch))
    dialog.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN))
    assert got == ["abcde"] and not dialog.is_open


def test_a_refused_connection_of_a_banned_account_says_so():
    exc = HostError("connect_failed", "banned: banned for good: rude", None,
                    {"error": "banned", "reason": "rude", "until": None})
    assert describe_error(exc, "http://x") == "Banned for good: rude"


def test_a_message_refused_as_muted_keeps_the_box_saying_until_when(world):
    scene, client, frames, _ = world
    welcome(client, scene, "player", [], [("bob", "player")])
    frames(2)
    until = time.time() + 120
    client.put(ANSWER, {"event": P.DM_SEND, "tag": 1, "reply": {
        "ok": False, "error": "muted", "message": "you are muted", "until": until * 1000}})
    frames(1)
    assert scene.mod.muted and scene.mod.muted_text() == f"Muted until {clock_time(until)}"
