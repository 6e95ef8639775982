"""The owner's tools end to end: two real game clients against a real host
(both async modes).  The owner right-clicks a player and picks from the
menu; the other client's screens show what happened to them."""
from __future__ import annotations

import time

import pygame
import pytest

from game.client.app import App
from game.client.host_process import HostProcess
from game.client.net import HostClient
from game.client.scenes.login import LoginScene
from game.client.scenes.world import WorldScene
from game.client.settings import Settings

from .conftest import ASYNC_MODES, stop_cleanly, unique_name
from .helpers_client import PASSWORD, Game, account


@pytest.fixture(scope="module", params=ASYNC_MODES)
def owned_host(request, tmp_path_factory):
    """A host on a new world; its first account is the owner."""
    path = tmp_path_factory.mktemp("owned") / "world.db"
    proc = HostProcess(path, async_mode=request.param).start()
    owner = unique_name("own")
    HostClient(proc.url, reconnect=False).register(owner, PASSWORD)
    try:
        yield proc, owner
    finally:
        stop_cleanly(proc)


class Two:
    """Two game apps in one process, each with its own scene stack; input
    events are posted just before the app they are meant for runs a frame."""

    def __init__(self, tmp_path, url: str):
        self.game = Game(tmp_path, url)  # the owner's, in the window
        self.other = App(pygame.Surface(self.game.screen.get_size()), clock=self.game.clock)
        self.other.services.update(settings=Settings(server=url),
                                   settings_path=tmp_path / "other.json")

    def frames(self, n: int = 1) -> None:
        for _ in range(n):
            self.game.frames(1)
            self.other.frame()

    def until(self, condition, timeout: float = 10.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.frames(1)

    def enter(self, app: App, url: str, name: str) -> WorldScene:
        client = HostClient(url)
        client.login(name, PASSWORD)
        client.connect()
        scene = app.push(WorldScene(client))
        self.until(lambda: scene.me_id is not None and scene.predictor is not None,
                   what=f"{name} welcomed")
        return scene

    def post(self, *events: pygame.event.Event) -> None:
        """Input for the owner's app, taken in its next frame."""
        for event in events:
            pygame.event.post(event)
        self.game.frames(1, real_s=0)

    def close(self) -> None:
        while self.other.stack:
            scene = self.other.stack.pop()
            scene.exit()
            scene.quit()
        self.game.close()


@pytest.fixture
def two(tmp_path, owned_host):
    proc, owner = owned_host
    pair = Two(tmp_path, proc.url)
    yield pair, proc, owner
    pair.close()


def right_click_on(pair: Two, scene: WorldScene, name: str) -> None:
    pair.until(lambda: any(r.name == name for r in scene.remotes.values()) and
               scene.avatar_at(avatar_point(scene, name)) == name, what=f"{name} drawn")
    pos = avatar_point(scene, name)
    pair.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=3),
              pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=3))
    assert scene.mod.menu.is_open and scene.mod.menu.title == name


def avatar_point(scene: WorldScene, name: str) -> tuple[int, int]:
    remote = next(r for r in scene.remotes.values() if r.name == name)
    return scene.camera.to_screen(remote.x, remote.y - 12)


def pick(pair: Two, scene: WorldScene, label: str) -> None:
    index = scene.mod.menu.labels().index(label)
    pos = scene.mod.menu.row_rect(index).center
    pair.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1),
              pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))


def type_and_enter(pair: Two, text: str) -> None:
    pair.post(*[pygame.event.Event(pygame.TEXTINPUT, text=ch) for ch in text])
    pair.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="",
                                 scancode=0))


def test_the_owner_kicks_a_player_from_the_menu_and_they_see_why(two):
    pair, proc, owner = two
    bob = account(proc)
    mine = pair.enter(pair.game.app, proc.url, owner)
    theirs = pair.enter(pair.other, proc.url, bob)
    assert mine.mod.role == "owner" and "kick" in mine.mod.can
    assert theirs.mod.role == "player" and theirs.mod.can == set()
    pair.until(lambda: theirs.chat.players_list.roles.get(owner) == "owner", what="owner tag")
    right_click_on(pair, mine, bob)
    assert "Make moderator" in mine.mod.menu.labels()
    pick(pair, mine, "Kick…")
    assert mine.mod.dialog is not None
    type_and_enter(pair, "cool off a bit")
    pair.until(lambda: isinstance(pair.other.scene, LoginScene), what="the kicked login")
    assert pair.other.scene.message == "You were kicked from this world: cool off a bit"
    pair.until(lambda: any(t[0] == f"{bob} was kicked." for t in mine.toasts.items),
               what="the owner's notice")


def test_an_announcement_reaches_the_other_player_and_a_mute_shows_in_their_box(two):
    pair, proc, owner = two
    bob = account(proc)
    mine = pair.enter(pair.game.app, proc.url, owner)
    theirs = pair.enter(pair.other, proc.url, bob)
    # Announce… from the Escape menu.
    pair.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE, mod=0, unicode="",
                                 scancode=0))
    menu = pair.game.app.scene
    assert "Announce…" in [item.label for item in menu.items()]
    menu.activate("world:announce")
    type_and_enter(pair, "Market at six")
    pair.until(lambda: theirs.mod.banner.showing == ("Market at six", owner),
               what="the banner")
    # Mute for 10 minutes from the menu on their avatar.
    right_click_on(pair, mine, bob)
    pick(pair, mine, "Mute 10 min…")
    type_and_enter(pair, "too loud")
    pair.until(lambda: theirs.mod.muted, what="the mute")
    assert theirs.mod.muted_text().startswith("Muted until ")
    assert abs(theirs.mod.muted_until - (time.time() + 600)) < 30
    # Writing anyway: the host refuses, the box keeps saying until when.
    theirs.chat.show_conversation(owner)
    pair.frames(2)
    assert not theirs.chat.entry.is_focused
    right_click_on(pair, mine, bob)
    pick(pair, mine, "Unmute")
    pair.until(lambda: not theirs.mod.muted, what="the unmute")
    # Who is on: both of us, with roles and (for the owner) addresses.
    mine.menu_action("who")
    pair.until(lambda: mine.mod.who is not None, what="the list")
    listed = {p["name"]: p for p in mine.mod.who.players}
    assert listed[owner]["role"] == "owner" and listed[bob]["role"] == "player"
    assert listed[bob]["address"] == "127.0.0.1"
    assert mine.mod.who.since(listed[bob]["since"]).endswith("(0 min)")


def test_a_ban_ends_the_session_and_the_login_says_until_when(two):
    pair, proc, owner = two
    bob = account(proc)
    mine = pair.enter(pair.game.app, proc.url, owner)
    pair.enter(pair.other, proc.url, bob)
    right_click_on(pair, mine, bob)
    pick(pair, mine, "Ban 1 day…")
    type_and_enter(pair, "spamming")
    pair.until(lambda: isinstance(pair.other.scene, LoginScene), what="the banned login")
    message = pair.other.scene.message
    assert message.startswith("Banned until ") and message.endswith(": spamming")
    # Logging in again is refused with the same words.
    login = pair.other.scene
    login.user_entry.set_text(bob)
    login.password_entry.set_text(PASSWORD)
    login.server_entry.set_text(proc.url)
    login.submit(registering=False)
    pair.until(lambda: not login.busy, what="the refused login")
    assert login.message == message
