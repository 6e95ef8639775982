"""The chat and the connection as the player sees them: the world scene on a
headless surface, fed by a stand-in client, counting what it draws."""
from __future__ import annotations

import pygame
import pytest

from game.core import protocol as P
from game.client import theme
from game.client.scenes.world import WorldScene
from game.client.net import ANSWER, CONNECTED, DISCONNECTED, RETRYING

from .helpers_client import world  # noqa: F401  (the fixture)


@pytest.fixture
def drawn_text(monkeypatch):
    """Every line of text drawn with theme.draw_text: (text, position)."""
    seen: list[tuple[str, tuple]] = []
    real = theme.draw_text

    def spy(surface, text, pos, *args, **kwargs):
        seen.append((text, pos))
        return real(surface, text, pos, *args, **kwargs)

    monkeypatch.setattr(theme, "draw_text", spy)
    return seen


def click(frames, pos) -> None:
    for kind in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        pygame.event.post(pygame.event.Event(kind, pos=pos, button=1))
    frames(1)


def type_and_send(frames, text: str) -> None:
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=text))
    frames(1)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r",
                                         scancode=0))
    frames(1)


def talk_to_mira(scene, client, frames) -> None:
    client.put(ANSWER, {"event": P.DIRECTORY, "tag": None,
                        "reply": {"ok": True, "players": [{"name": "mira", "online": True}]}})
    frames(1)
    scene.chat.set_visible(True)
    scene.chat.open("mira")
    client.put(ANSWER, {"event": P.DM_OPEN, "tag": "mira", "reply": {
        "ok": True, "messages": [], "has_more": False, "peer_online": True, "peer_present": False}})
    frames(1)


def answer_send(client, mid: int, text: str) -> None:
    client.put(ANSWER, {"event": P.DM_SEND, "tag": "mira", "reply": {
        "ok": True, "message": {"id": mid, "from": "me", "to": "mira", "text": text,
                                "sent_at": 0}}})


def shown_text(entry) -> str:
    layout = entry.drawable_shape.text_box_layout
    layout._update_plain_text()
    return layout.plain_text


def test_the_box_shows_only_what_is_typed_after_a_send(world):
    scene, client, frames, _ = world
    talk_to_mira(scene, client, frames)
    type_and_send(frames, "first")
    assert scene.chat.typing and scene.chat.entry.get_text() == ""
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="second"))
    frames(1)
    assert shown_text(scene.chat.entry) == "second"  # not "secondWrite a message…"


def test_a_message_written_while_reconnecting_is_shown_and_sent_on_return(world, drawn_text):
    scene, client, frames, _ = world
    talk_to_mira(scene, client, frames)
    client.connected = False
    client.put(DISCONNECTED, {"reason": "transport close", "reconnecting": True})
    frames(1)
    scene.chat.focus_entry()
    type_and_send(frames, "wait for me")
    assert not any(r[0] == P.DM_SEND for r in client.requests)
    drawn_text.clear()
    frames(1)
    assert [o.text for o in scene.chat.model.outgoing()] == ["wait for me"]
    # The bubble is drawn with what happens to it.
    labels = [t for t, _ in drawn_text]
    assert "not connected; messages go when it returns" in labels
    assert scene.chat.outgoing_label(scene.chat.model.outgoing()[0])[0] == "Waiting for the connection…"
    client.connected = True
    client.put(CONNECTED, {})
    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": scene.predictor.x,
                                   "y": scene.predictor.y}, "players": [], "unread": {},
                           "tick_rate": 20})
    frames(2)
    assert (P.DM_SEND, {"to": "mira", "text": "wait for me"}, "mira") in client.requests
    answer_send(client, 5, "wait for me")
    frames(1)
    assert scene.chat.model.outbox == [] and [m["text"] for m in scene.chat.items] == ["wait for me"]


def test_a_refused_message_stays_red_and_a_click_sends_it_again(world):
    scene, client, frames, _ = world
    talk_to_mira(scene, client, frames)
    scene.chat.focus_entry()
    type_and_send(frames, "hello?")
    client.put(ANSWER, {"event": P.DM_SEND, "tag": "mira", "reply": {
        "ok": False, "error": P.E_INTERNAL, "message": "the host could not handle that"}})
    frames(2)
    item = scene.chat.model.outgoing()[0]
    assert scene.chat.outgoing_label(item) == (
        "Not sent: the host could not handle that. Click to try again.", theme.BAD)
    sends = [r for r in client.requests if r[0] == P.DM_SEND]
    rect = scene.chat.conversation.outgoing_rects[0][0]
    click(frames, rect.center)
    assert [r for r in client.requests if r[0] == P.DM_SEND] == sends * 2


def test_loading_is_never_drawn_over_a_message(world, drawn_text):
    scene, client, frames, _ = world
    talk_to_mira(scene, client, frames)
    client.put(ANSWER, {"event": P.DM_OPEN, "tag": "mira", "reply": {
        "ok": True, "messages": [{"id": 1, "from": "mira", "to": "me", "text": "hi", "sent_at": 0}],
        "has_more": False, "peer_online": True, "peer_present": False}})
    frames(1)
    scene.chat.set_visible(False)
    scene.chat.set_visible(True)  # re-entering asks again: the answer is on its way
    assert scene.chat.opening
    drawn_text.clear()
    frames(1)
    labels = [t for t, _ in drawn_text]
    assert "Loading…" not in labels and "updating…" in labels


def test_the_message_notice_is_clear_of_the_hint_and_opens_the_conversation(world):
    scene, client, frames, _ = world
    client.put(P.DM_UNREAD, {"peer": "juno", "unread": 1, "message": {
        "id": 3, "from": "juno", "to": "me", "text": "psst", "sent_at": 0}})
    frames(1)
    rect = scene.toasts.rects[0][0]
    screen = scene.app.surface.get_rect()
    hint = pygame.Rect(12, screen.height - 40, 600, 28)  # the controls hint, bottom left
    status = scene.status.draw(scene.app.surface)
    assert not rect.colliderect(hint) and not rect.colliderect(status)
    assert not rect.colliderect(scene.chat.toggle_button.get_abs_rect())
    click(frames, rect.center)
    assert scene.chat.visible and scene.chat.peer == "juno"
    assert (P.DM_OPEN, {"peer": "juno"}, "juno") in client.requests
    assert scene.toasts.items == []


def test_away_from_the_host_the_world_is_greyed_and_marked(world, drawn_text):
    scene, client, frames, _ = world
    sx, sy = scene.world.spawn
    client.put(P.PLAYERS_JOINED, {"players": [{"id": 8, "name": "tala", "x": sx + 40, "y": sy}]})
    frames(2)
    scene.chat.set_visible(True)
    scene.chat.open("tala")
    frames(60)  # the camera settles beside the open panel
    where = scene.camera.to_screen(sx + 40, sy - 10)  # on tala
    ground = scene.camera.to_screen(sx + 40, sy + 70)  # the street below
    live = scene.app.surface.get_at(where)
    live_ground = scene.app.surface.get_at(ground)
    client.connected = False
    client.put(DISCONNECTED, {"reason": "transport close", "reconnecting": True})
    drawn_text.clear()
    frames(1)
    stale = scene.app.surface.get_at(where)
    stale_ground = scene.app.surface.get_at(ground)
    assert sum(stale_ground[:3]) < sum(live_ground[:3]) * 0.7  # the world is greyed
    assert sum(stale[:3]) < sum(live[:3]) * 0.85  # and the players in it
    labels = [t for t, _ in drawn_text]
    assert "online, in the world" not in labels
    assert "not connected: may be out of date" in labels
    assert scene.status.detail() == "The world shown is out of date until the connection returns"
    client.connected = True
    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": sx, "y": sy},
                           "players": [{"id": 8, "name": "tala", "x": sx + 40, "y": sy}],
                           "unread": {}, "tick_rate": 20})
    drawn_text.clear()
    frames(2)
    assert sum(scene.app.surface.get_at(where)[:3]) == pytest.approx(sum(live[:3]), abs=30)
    assert "not connected: may be out of date" not in [t for t, _ in drawn_text]


def test_a_stopped_host_is_named_and_waited_for(world):
    scene, client, frames, _ = world
    client.put(P.SESSION_ENDED, {"reason": P.END_HOST_SHUTDOWN, "message": "the host is stopping"})
    client.connected = False
    client.put(DISCONNECTED, {"reason": "io server disconnect", "reconnecting": True,
                              "host_stopped": True})
    client.put(RETRYING, {"in_s": 4.2, "attempt": 3})
    frames(1)
    assert isinstance(scene.app.scene, WorldScene)
    assert scene.status.text() == "The host was stopped"
    assert scene.status.detail().startswith("Trying again in 4 s")
    client.connected = True
    client.put(CONNECTED, {})
    client.put(P.WELCOME, {"you": {"id": 1, "name": "me", "x": scene.predictor.x,
                                   "y": scene.predictor.y}, "players": [], "unread": {},
                           "tick_rate": 20})
    frames(1)
    assert scene.status.text().startswith("Online")


def test_the_players_list_remembers_who_we_talked_to_and_finds_anyone(world):
    scene, client, frames, _ = world
    everyone = [{"name": f"bot{i:04d}", "online": False} for i in range(50)]
    everyone += [{"name": "mira", "online": True}, {"name": "carol", "online": False}]
    client.put(ANSWER, {"event": P.DIRECTORY, "tag": None, "reply": {"ok": True, "players": everyone}})
    scene.chat.set_visible(True)
    scene.chat.open("carol")
    scene.chat.entry.set_text("see you tomorrow")
    scene.chat.send()
    frames(2)
    assert [p["name"] for p in scene.chat.players] == ["mira", "carol"]
    # The next run of the game, same host and account: carol is still listed.
    again = WorldScene(client)
    scene.app.replace(again)
    frames(1)
    again.chat.set_directory(everyone)
    assert [p["name"] for p in again.chat.players] == ["mira", "carol"]
    again.chat.set_visible(True)
    frames(1)
    again.manager.set_focus_set(again.chat.search)
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="bot004"))
    frames(2)
    assert [p["name"] for p in again.chat.players] == [f"bot004{i}" for i in range(10)]
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r",
                                         scancode=0))
    frames(1)
    assert again.chat.peer == "bot0040"


def test_notices_stay_clear_of_a_long_status_beside_the_open_panel(world):
    scene, client, frames, _ = world
    scene.chat.set_visible(True)
    for peer in ("pip", "juno"):
        client.put(P.DM_UNREAD, {"peer": peer, "unread": 1, "message": {
            "id": 4, "from": peer, "to": "me", "text": "hi", "sent_at": 0}})
    scene.status.ping_ms = 12.0
    frames(1)
    scene.status.online, scene.status.players = 250, 120  # a long status line
    frames(1)
    status = scene.status.draw(scene.app.surface)
    button = scene.chat.toggle_button.get_abs_rect()
    rects = [rect for rect, _ in scene.toasts.rects]
    assert len(rects) == 2
    for rect in rects:
        assert not rect.colliderect(status) and not rect.colliderect(button), (rect, status)
    assert not rects[0].colliderect(rects[1])
