"""No message is lost against a real host: written while the host is away,
or faster than the host's limit; and a stopped host is waited for."""
from __future__ import annotations

import time

import pygame
import pytest

from game.core import protocol as P
from game.client.host_process import HostProcess
from game.client.net import DISCONNECTED, RETRYING, HostClient

from .conftest import unique_name
from .helpers_client import PASSWORD, Game, account, enter_world


def conversation(url: str, name: str, peer: str) -> list[str]:
    """The texts of a conversation as the other player reads them from the host."""
    reader = HostClient(url, reconnect=False)
    reader.login(name, PASSWORD)
    reader.connect()
    try:
        reader.call(P.JOIN, {})
        reply = reader.call(P.DM_OPEN, {"peer": peer})
        assert reply["ok"], reply
        return [m["text"] for m in reply["messages"]]
    finally:
        reader.close()


def open_chat(g: Game, scene, peer: str) -> None:
    scene.chat.set_visible(True)
    scene.chat.open(peer)
    g.until(lambda: scene.chat.peer == peer and not scene.chat.opening, what="the conversation")
    assert scene.chat.typing


def test_a_message_written_while_the_host_is_away_arrives_once_it_is_back(tmp_path):
    db = tmp_path / "away.db"
    first = HostProcess(db).start()
    second = None
    g = Game(tmp_path, first.url)
    try:
        me, bob = account(first), account(first)
        scene = enter_world(g, first, me)
        open_chat(g, scene, bob)
        first.kill()
        g.until(lambda: scene.status.state == "reconnecting", what="reconnecting")
        scene.chat.focus_entry()
        g.type("written while you were away")
        g.key(pygame.K_RETURN)
        assert scene.chat.entry.get_text() == ""
        assert [o.text for o in scene.chat.model.outgoing()] == ["written while you were away"]
        second = HostProcess(db, port=first.port).start()
        g.until(lambda: not scene.chat.model.outbox, timeout=20, what="the message delivered")
        assert [m["text"] for m in scene.chat.items] == ["written while you were away"]
        assert conversation(second.url, bob, me) == ["written while you were away"]
    finally:
        g.close()
        first.kill()
        if second is not None:
            second.kill()


@pytest.fixture
def world_game(tmp_path, world_host):
    """The game against the shared host of each async mode (the chat does not
    need the host's test map)."""
    g = Game(tmp_path, world_host.url)
    yield g
    g.close()


@pytest.mark.slow
def test_thirty_fast_messages_all_arrive_in_order(world_game, world_host):
    """Past the host's 20 in 10 s the rest wait, shown, and go by themselves; one
    at a time, so they are stored in order even where the host's handlers run
    side by side (threading)."""
    game, host = world_game, world_host
    me, bob = account(host), account(host)
    scene = enter_world(game, host, me)
    open_chat(game, scene, bob)
    texts = [f"message {i:02d}" for i in range(30)]
    for text in texts:
        game.type(text)
        game.key(pygame.K_RETURN)
    assert scene.chat.entry.get_text() == ""

    def waiting():
        return [o for o in scene.chat.model.outgoing() if o.state == "waiting"]

    game.until(lambda: waiting(), what="messages over the limit waiting")
    assert len(scene.chat.items) == P.DMS_PER_WINDOW
    assert "20 messages in 10 s" in scene.chat.outgoing_label(waiting()[0])[0]
    # The game's clock follows the real one here: the host's window is real time.
    start, real = game.clock.t, time.monotonic()
    deadline = real + 20
    while scene.chat.model.outbox:
        assert time.monotonic() < deadline, "timed out waiting for every message stored"
        game.frames(1)
        game.clock.t = max(game.clock.t, start + time.monotonic() - real)
    assert [m["text"] for m in scene.chat.items] == texts
    assert scene.chat.notice == ""
    assert conversation(host.url, bob, me) == texts


def test_after_the_hosts_goodbye_the_client_retries_slowly_and_returns(tmp_path):
    db = tmp_path / "goodbye.db"
    first = HostProcess(db).start()
    second = None
    client = HostClient(first.url)
    try:
        client.register(unique_name("g"), PASSWORD)
        client.connect()
        client.wait_for(P.WELCOME)
        # What the host sends before it stops, handled as if it had arrived.
        client.sio.handlers["/"][P.SESSION_ENDED]({"reason": P.END_HOST_SHUTDOWN,
                                                   "message": "the host is stopping"})
        first.kill()
        gone = client.wait_for(DISCONNECTED)
        assert gone.data["reconnecting"] and gone.data["host_stopped"]
        delays = [client.wait_for(RETRYING, timeout=10).data["in_s"] for _ in range(2)]
        assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4  # backing off
        second = HostProcess(db, port=first.port).start()
        client.wait_for(P.WELCOME, timeout=30)
        assert client.connected and not client.host_stopped
    finally:
        client.close()
        first.kill()
        if second is not None:
            second.kill()
