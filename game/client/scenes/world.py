"""The world: walk around, see everyone else, chat, emote (keys 1 to 6).

Network events are drained once per frame in ``update``; walking happens in
``fixed_update`` at 60 Hz with the shared rules; ``draw`` interpolates the
player's own avatar between fixed steps and other players between snapshots.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pygame

from game.client import net
from game.core import protocol as P
from game.core import rules

from .. import theme
from ..app import Scene, register_scene
from ..camera import Camera
from ..interpolation import Interpolator
from ..prediction import MoveSender, Predictor, facing_for
from ..contacts import ContactBook, contacts_path
from ..sprites import TagSpot, arrange_tags
from ..widgets.chat import ChatPanel
from ..widgets.emotes import Emotes
from ..widgets.minimap import Minimap
from ..widgets.announce import role_mark
from ..widgets.bubbles import SpeechBubbles
from ..widgets.moderation import ModTools, ended_text
from ..widgets.status import (HOST_STOPPED, JOINING, OFFLINE, ONLINE, RECONNECTING,
                              ConnectionIndicator)
from ..widgets.toast import Toasts

PING_INTERVAL_S = 2.0
MOVE_KEYS = {
    pygame.K_LEFT: "left", pygame.K_a: "left",
    pygame.K_RIGHT: "right", pygame.K_d: "right",
    pygame.K_UP: "up", pygame.K_w: "up",
    pygame.K_DOWN: "down", pygame.K_s: "down",
}
# Number keys 1 to 6 (top row or keypad), when not typing: an emote.
EMOTE_KEYS = {**{getattr(pygame, f"K_{i + 1}"): e for i, e in enumerate(P.EMOTES)},
              **{getattr(pygame, f"K_KP{i + 1}"): e for i, e in enumerate(P.EMOTES)}}
# What counts as the player being at the keyboard (see WorldScene.check_away).
INPUT_EVENTS = (pygame.KEYDOWN, pygame.KEYUP, pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION,
                pygame.MOUSEWHEEL, pygame.TEXTINPUT)
# Away from the host the world on screen is out of date: it is drawn greyed.
STALE_SHADE = (40, 44, 52, 150)


@dataclass
class Remote:
    """Another player as this client draws them."""

    id: int
    name: str
    look: P.Look
    facing: int = 0
    walked: float = 0.0
    moving: bool = False
    x: float = 0.0  # where they were drawn last frame
    y: float = 0.0


class MapTrip:
    """Going to another map of the world: its file is found in the map cache,
    or downloaded into it, beside the game loop (see ``WorldScene.on_map_changed``)."""

    def __init__(self, data: dict, locate):
        self.desc = data.get("map") if isinstance(data.get("map"), dict) else {}
        self.data = data
        self.name = str(self.desc.get("name") or "another map")
        self.done, self.total = 0, int(self.desc.get("size") or 0)
        self.path: Path | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, args=(locate,), daemon=True,
                                        name="map-trip")
        self._thread.start()

    def _run(self, locate) -> None:
        try:
            self.path = Path(locate(self.desc, self._progress))
        except Exception as exc:  # shown to the player, who goes back to the login
            self.error = str(exc) or type(exc).__name__

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def finished(self) -> bool:
        return self.path is not None or self.error is not None


def load_graphics(services: dict):
    """The map renderer and avatar sheet, loaded once and shared."""
    from ..sprites import AvatarSheet, NameTags
    from ..tilemap import renderer_for

    renderer_for(services)  # the map the host plays on (services["map_path"])
    if "avatars" not in services:
        services["avatars"] = AvatarSheet()
    if "names" not in services:
        services["names"] = NameTags()
    return services["tiles"], services["avatars"], services["names"]


def account_deleted_text(name: str | None) -> str:
    """What the login screen says after this account was deleted."""
    return (f"Your account {name or ''} was deleted. Nobody else can take the name for "
            f"{P.RETIRED_NAME_DAYS} days.").replace("account  was", "account was")


@register_scene("world")
class WorldScene(Scene):
    def __init__(self, client: net.HostClient, pending: list[net.NetEvent] | None = None):
        self.client = client
        self.pending = list(pending or ())  # what the host sent while the map was loading
        self.me_id: int | None = None
        self.me_name = client.session.name if client.session else "?"
        self.world: rules.WorldMap | None = None
        self.predictor: Predictor | None = None
        self.sender = MoveSender()
        self.last_seq = 0
        self.interp = Interpolator()
        self.remotes: dict[int, Remote] = {}
        self.known_names: dict[int, str] = {}  # every player id we have seen named
        self.online_ids: set[int] = set()  # everyone else in the world, near or far
        self.mouse: tuple[int, int] | None = None  # where the pointer is, for name tags
        self.tags_drawn: list = []  # (TagSpot, alpha) of the last frame, bottom first
        self.known_looks: dict[int, P.Look] = {}
        self.me_look: P.Look | None = None
        self.held: set[str] = set()
        self.ended = False
        self.handed_to = None  # the loading screen, when the host's map changed
        self.next_ping = 0.0
        self.map_name: str | None = None  # the map we stand on, as the host names it
        self.trip: MapTrip | None = None  # on the way to another map
        self.emotes = Emotes(lambda: self.app.now)  # over the avatars, and who is away
        self.last_input: float | None = None  # when the player last touched a key or the mouse
        self.away = False  # we told the host we are away

    def deleted_message(self) -> str:
        """What the login screen says once this player's account is deleted."""
        return account_deleted_text(self.me_name)

    # -- lifecycle ----------------------------------------------------------------------
    def enter(self) -> None:
        services = self.app.services
        if pygame.display.get_surface() is not None:
            pygame.display.set_caption(f"Pixel Commons · {self.me_name}")
        self.tiles, self.avatars, self.names = load_graphics(services)
        self.world = self.tiles.map.world  # walk with exactly the map that is drawn
        size = self.app.surface.get_size()
        self.camera = Camera(size[0], size[1], self.tiles.width_px, self.tiles.height_px)
        self.manager = theme.make_manager(size)
        contacts = ContactBook(contacts_path(services),
                               f"{getattr(self.client, 'server_url', '')} {self.me_name}")
        # The panel sends its own requests and takes its own events (see on_net).
        self.chat = ChatPanel(self.manager, self.me_name, self.client_request,
                              clock=lambda: self.app.now, contacts=contacts, cue=self.cue,
                              notify=self.notify_chat)
        self.status = ConnectionIndicator()
        self.status.state = ONLINE if self.client.connected else JOINING
        self.toasts = Toasts()
        # Roles, the owner's and moderators' tools, announcements, mutes.
        self.mod = ModTools(self.client_request, self.toasts.add, self.chat.show_conversation,
                            self.me_name)
        self.chat.players_list.roles = self.mod.roles
        self.mod.providers.append(self.chat.block_items)  # Block / Unblock on a player
        self.minimap = Minimap(self.tiles)
        # What players near us said aloud, above their heads.
        self.bubbles = SpeechBubbles()
        self.bubble_anchors: dict[int, tuple[int, int]] = {}
        from .look import LookEditor

        self.look_editor = LookEditor(self.avatars.chosen, self.client, self._look_saved)
        if self.pending:  # the welcome came on the loading screen: in at once
            self.update(0.0)

    def exit(self) -> None:
        self.manager.clear_and_reset()

    def covered(self) -> None:
        self.held.clear()  # the menu gets the key releases now

    def open_menu(self) -> None:
        self.app.push(self.app.make("menu", self))

    def notify_chat(self, text: str, action) -> None:
        """A toast about the chat (a new message); clicking it runs ``action``."""
        self.toasts.add(text, theme.ACCENT, action=action)

    def cue(self, name: str) -> None:
        sound = self.app.services.get("sound")
        if sound is not None:
            sound.play(name)

    def quit(self) -> None:
        self.leave()

    def leave(self) -> None:
        self.ended = True
        self.client.close()

    def resize(self, size: tuple[int, int]) -> None:
        self.camera.resize(*size)
        self.manager.set_window_resolution(size)
        self.chat.layout(size)
        self.look_editor.layout(size)

    def client_request(self, event: str, payload, tag) -> None:
        """Ask the host without waiting; the answer comes back through the queue."""
        if self.client.connected:
            try:
                self.client.request(event, payload, tag)
            except Exception:
                pass  # dropped connection: the reconnect re-opens what is needed

    def back_to_login(self, message: str) -> None:
        self.leave()
        self.app.replace(self.app.make("login", message=message))

    # -- input ----------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> None:
        if event.type in INPUT_EVENTS:
            self.noticed_input()
        if self.look_editor.handle_event(event):
            self.held.clear()
            return
        if self.mod.handle_event(event):
            self.held.clear()
            return
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 3:
            self.right_click(event.pos)
            return
        if self.toasts.handle_event(event) or self.chat.handle_event(event):
            return
        typing = self.chat.typing
        if event.type == pygame.KEYDOWN and not typing:
            if event.key == pygame.K_TAB or event.key == pygame.K_c:
                self.chat.toggle()
                return
            if event.key == pygame.K_ESCAPE and self.chat.visible:
                self.chat.set_visible(False)
                return
            if event.key == pygame.K_ESCAPE:
                self.open_menu()
                return
            if event.key == pygame.K_m:
                self.minimap.visible = not self.minimap.visible
                return
            if event.key == pygame.K_l:
                self.open_look_editor()
                return
            if event.key in EMOTE_KEYS:
                self.client_request(P.EMOTE, {"emote": EMOTE_KEYS[event.key]}, None)
                return
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                # Back to the open conversation; with none open, say something aloud.
                if not self.chat.visible:
                    self.chat.set_visible(True)
                if self.chat.peer is None:
                    self.chat.open_nearby()
                self.chat.focus_entry()
                self.held.clear()
                return
            if event.key in MOVE_KEYS:
                self.held.add(MOVE_KEYS[event.key])
                return
        if event.type == pygame.KEYDOWN and typing and event.key == pygame.K_TAB:
            self.chat.toggle()
            return
        if event.type == pygame.KEYUP and event.key in MOVE_KEYS:
            self.held.discard(MOVE_KEYS[event.key])
        if event.type == pygame.WINDOWFOCUSLOST:
            self.held.clear()
        if event.type == pygame.MOUSEMOTION:
            self.mouse = event.pos
        elif event.type == pygame.WINDOWLEAVE:
            self.mouse = None
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and \
                not (self.chat.visible and self.chat.rect.collidepoint(event.pos)) and \
                not self.chat.toggle_button.get_abs_rect().collidepoint(event.pos):
            if typing:  # a click in the world means "back to walking"
                self.chat.entry.unfocus()
                self.manager.set_focus_set(None)
            name = self.avatar_at(event.pos)
            if name is not None:  # click someone to talk to them
                self.chat.show_conversation(name)
            return
        self.manager.process_events(event)
        if self.chat.typing:
            self.held.clear()  # keys type text now, the avatar stops

    def right_click(self, pos: tuple[int, int]) -> None:
        """The menu of actions on the player under the pointer: a name in the
        players list, or an avatar in the world."""
        bounds = self.app.surface.get_rect()
        if self.chat.visible and self.chat.rect.collidepoint(pos):
            if self.chat.list_rect.collidepoint(pos):
                name = self.chat.players_list.name_at(pos, self.chat.search.get_text())
                if name is not None:
                    online = any(p["name"] == name and p["online"] for p in self.chat.players)
                    self.held.clear()
                    self.mod.open_for(name, pos, bounds, online)
            return
        name = self.avatar_at(pos)
        if name is not None:
            self.held.clear()
            self.mod.open_for(name, pos, bounds, True)

    def menu_entries(self) -> list[tuple[str, str]]:
        """Rows the Escape menu adds for this player (Announce…, Who is on…)."""
        return self.mod.menu_entries()

    def menu_action(self, key: str) -> None:
        if key == "announce":
            self.mod.open_announce()
        elif key == "who":
            self.mod.open_who()

    def open_look_editor(self) -> None:
        """The "Your look" window (L, or a menu); once the world has welcomed us."""
        if self.me_look is not None:
            self.held.clear()
            self.look_editor.open(self.me_look, self.app.surface.get_size())

    def _look_saved(self, look: P.Look) -> None:
        self.me_look = look
        self.toasts.add("Your new look is saved; everyone sees it now.", theme.GOOD)

    def noticed_input(self) -> None:
        """A key or the mouse: the player is here (and back, if they were away)."""
        self.last_input = self.app.now
        if self.away:
            self.away = False
            self.client_request(P.AWAY, {"away": False}, None)

    def check_away(self) -> None:
        """After P.AWAY_AFTER_S without input (walking counts), say we are away."""
        now = self.app.now
        if self.last_input is None or self.held:
            self.last_input = now
        if not self.away and self.me_id is not None and self.status.state == ONLINE and \
                now - self.last_input >= P.AWAY_AFTER_S:
            self.away = True
            self.client_request(P.AWAY, {"away": True}, None)

    def on_emoted(self, data: dict) -> None:
        self.emotes.on_emoted(data)

    def on_player_away(self, data: dict) -> None:
        self.emotes.set_away(data.get("id"), data.get("away"))

    def direction(self) -> tuple[float, float]:
        held = self.held
        return rules.input_direction("left" in held, "right" in held, "up" in held, "down" in held)

    # -- network --------------------------------------------------------------------------
    def update(self, dt: float) -> None:
        events, self.pending = self.pending + self.client.drain(), []
        for i, event in enumerate(events):
            self.on_net(event)
            if self.ended:
                if self.handed_to is not None:  # the loading screen gets the rest
                    self.handed_to.take(events[i + 1:])
                return
        if self.trip is not None and self.trip.finished:
            self._arrive(self.trip)
            if self.ended:
                return
        now = self.app.now
        if self.client.connected and self.me_id is not None and now >= self.next_ping:
            self.next_ping = now + PING_INTERVAL_S
            self.client_request(P.PING, {"t": time.time() * 1000.0}, time.monotonic())
        self.check_away()
        self.status.players = self.nearby() + 1 if self.me_id is not None else 0
        self.status.online = len(self.online_ids) + 1 if self.me_id is not None else 0
        self.status.update(dt)
        self.look_editor.update(dt)
        self.toasts.update(dt)
        self.mod.update(dt)
        if self.mod.muted and self.chat.entry.is_focused:
            self.chat.entry.unfocus()  # the box says until when instead
            self.manager.set_focus_set(None)
        self.chat.update(dt)
        self.manager.update(dt)

    def on_net(self, event: net.NetEvent) -> None:
        kind, data = event.kind, event.data
        if kind == net.ANSWER and isinstance(data, dict) and data.get("event") == P.PING:
            # Timed from when the answer arrived, not from when the frame got to it.
            if isinstance(data.get("tag"), float):
                self.status.set_ping((event.at - data["tag"]) * 1000.0)
            return
        self.mod.note_refusal(kind, data)  # a message refused because we are muted
        if self.chat.on_net(kind, data):  # the chat's own events and answers
            return
        if self.mod.on_net(kind, data):  # roles, announcements, mutes, mod_* answers
            return
        handler = getattr(self, "on_" + kind, None)
        if handler is not None:
            handler(data if data is not None else {})

    def on_welcome(self, data: dict) -> None:
        desc, services = data.get("map"), self.app.services
        if "map_hash" in services and isinstance(desc, dict) and \
                desc.get("hash") != services["map_hash"]:
            # Back after the host restarted on another map: get that one first.
            self.ended = True  # nothing more for this scene; the connection stays
            self.handed_to = self.app.make("loading", self.client,
                                           pending=[net.NetEvent(P.WELCOME, data)])
            self.app.replace(self.handed_to)
            return
        you = data.get("you") or {}
        now = self.app.now
        if isinstance(desc, dict) and isinstance(desc.get("name"), str):
            self.map_name = desc["name"]
        self.me_id = int(you.get("id", -1))
        self.bubbles.mine = self.me_id
        self.me_look = P.look_or_default(you.get("look"), self.me_id)
        x, y = float(you.get("x", 0.0)), float(you.get("y", 0.0))
        speed = float((data.get("world") or {}).get("speed", rules.WALK_SPEED))
        tick_rate = float(data.get("tick_rate") or 20.0)
        if self.predictor is None:
            self.predictor = Predictor(self.world, x, y, speed)
            self.camera.centre_on(x, y)
        else:  # back after a reconnect: the host's position wins
            self.predictor.place(x, y, ease=True)
            self.predictor.ignore_upto = self.last_seq
        self.sender.reset(x, y)
        self.sender.set_rate(tick_rate)
        self.interp = Interpolator(tick_period=1.0 / tick_rate)
        if isinstance(data.get("server_time"), (int, float)):
            self.interp.sync(now, data["server_time"])
        self.remotes.clear()
        self.emotes.away.clear()
        self.emotes.note_players([you, *(data.get("players") or [])])
        self.away = you.get("away") is True  # the host forgets it when we drop
        self.online_ids = set()  # welcome lists everyone in the world, on every map
        for p in data.get("players") or []:
            self._add_remote(p)
            if isinstance(p, dict) and isinstance(p.get("id"), int) and p["id"] != self.me_id:
                self.online_ids.add(p["id"])
        self.status.state = ONLINE

    def _add_remote(self, p: dict) -> None:
        try:
            pid, name, x, y = int(p["id"]), str(p["name"]), float(p["x"]), float(p["y"])
        except (KeyError, TypeError, ValueError):
            return
        if pid == self.me_id:
            return
        self.known_names[pid] = name
        if "look" in p:
            self.known_looks[pid] = P.look_or_default(p["look"], pid)
        if p.get("map") not in (None, self.map_name) or self.trip is not None:
            return  # on another map: known by name, not drawn
        look = self.known_looks.get(pid) or P.default_look(pid)
        self.remotes[pid] = Remote(pid, name, look, x=x, y=y)
        self.interp.place(self.app.now, pid, x, y)

    def _drop_remote(self, pid) -> None:
        self.remotes.pop(pid, None)
        self.interp.remove(pid)
        self.bubbles.forget(pid)

    def on_said(self, data: dict) -> None:
        """A line said aloud near us (the chat's Nearby log has it too): a
        bubble over the speaker, never one from a player we block."""
        speaker, text = data.get("from"), data.get("text")
        if not isinstance(speaker, int) or not isinstance(text, str) or \
                self.chat.model.is_blocked(data.get("name")):
            return
        if speaker == self.me_id or speaker in self.remotes:
            self.bubbles.add(speaker, text, self.app.now)

    def on_pace(self, data: dict) -> None:
        """The host changed its snapshot rate (it is overloaded, or no longer):
        send moves at that rate and draw the others for it."""
        rate = data.get("tick_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate <= 1000:
            self.sender.set_rate(float(rate))
            self.interp.set_tick_period(1.0 / float(rate))

    def on_players_joined(self, data: dict) -> None:
        """Everyone who joined since the host's last tick (see players_left,
        which the host sends first)."""
        joined = [p for p in data.get("players") or [] if isinstance(p, dict)]
        for p in joined:
            self._add_remote(p)
            if isinstance(p.get("id"), int) and p["id"] in self.known_names:
                self.online_ids.add(p["id"])
        self.emotes.note_players(joined)

    # -- several maps ----------------------------------------------------------------------
    def on_map_changed(self, data: dict) -> None:
        """We walked through an exit: the host has put us on another map.
        Everyone drawn so far was on the old map; the new map's file comes
        from the map cache (downloaded if need be) while the world waits
        under a progress overlay."""
        for pid in list(self.remotes):
            self._drop_remote(pid)
        self.bubbles.clear()
        self.held.clear()
        self.trip = MapTrip(data, self.locate_map)

    def locate_map(self, desc: dict, progress) -> Path:
        """The local file of a map the host described: from the map cache,
        downloading the host's bundle when it is not there yet."""
        from ..maps import MapCache

        cache = self.app.services.get("map_cache") or MapCache()
        return cache.local(desc) or cache.fetch(self.client.server_url, desc, progress)

    def _arrive(self, trip: MapTrip) -> None:
        """The new map's file is here: walk, draw and predict on it."""
        self.trip = None
        if trip.error is not None:
            self.back_to_login(f"Could not load the map {trip.name}: {trip.error}")
            return
        from ..tilemap import renderer_for

        services = self.app.services
        services["map_path"] = str(trip.path)
        services["map_hash"] = trip.desc.get("hash")  # a reconnect here stays in this scene
        try:
            self.tiles = renderer_for(services)
        except Exception as exc:  # a map that downloaded but cannot be drawn
            self.back_to_login(f"Could not open the map {trip.name}: {exc}")
            return
        self.world = self.tiles.map.world  # walk with exactly the map that is drawn
        self.map_name = trip.name
        you = trip.data.get("you") or {}
        x, y = float(you.get("x", 0.0)), float(you.get("y", 0.0))
        speed = float((trip.data.get("world") or {}).get("speed", rules.WALK_SPEED))
        self.predictor = Predictor(self.world, x, y, speed)
        # Moves sent on the old map are still on their way: their corrections are stale.
        self.predictor.ignore_upto = self.last_seq
        self.sender.reset(x, y)
        size = self.app.surface.get_size()
        self.camera = Camera(size[0], size[1], self.tiles.width_px, self.tiles.height_px)
        self.camera.centre_on(x, y)
        self.minimap = Minimap(self.tiles)
        for p in trip.data.get("players") or []:
            if isinstance(p, dict) and p.get("id") not in self.remotes:
                self._add_remote(p)
        self.emotes.note_players(trip.data.get("players") or [])

    def on_player_map(self, data: dict) -> None:
        """Someone went to another map: gone from ours (the snapshots say so
        too), still online; the chat panel says where they are."""
        pid = data.get("id")
        if isinstance(pid, int) and data.get("map") != self.map_name:
            self._drop_remote(pid)

    def on_look_changed(self, data: dict) -> None:
        pid = data.get("id")
        if not isinstance(pid, int) or pid == self.me_id:
            return
        self.known_looks[pid] = look = P.look_or_default(data.get("look"), pid)
        if pid in self.remotes:
            self.remotes[pid].look = look

    def on_players_left(self, data: dict) -> None:
        for pid in data.get("ids") or []:
            self._drop_remote(pid)
            self.emotes.forget(pid)
            if isinstance(pid, int):
                self.online_ids.discard(pid)

    def on_snapshot(self, data: dict) -> None:
        try:
            entries = P.unpack_positions(data.get("p"))
            t = float(data["t"])
        except (P.ProtocolError, KeyError, TypeError, ValueError):
            return
        for pid, x, y in entries:  # someone we know walked into view
            if pid not in self.remotes and pid in self.known_names:
                self._add_remote({"id": pid, "name": self.known_names[pid], "x": x, "y": y})
        self.interp.add_snapshot(self.app.now, t, entries, skip=self.me_id)
        for pid in data.get("gone") or []:
            self._drop_remote(pid)

    def on_area(self, data: dict) -> None:
        """The host tells us who came into or left the part of the world we see."""
        if data.get("reset"):
            for pid in list(self.remotes):
                self._drop_remote(pid)
        for pid in data.get("leave") or []:
            self._drop_remote(pid)
        try:
            entries = P.unpack_positions(data.get("enter") or [])
        except (P.ProtocolError, TypeError, ValueError):
            return
        for pid, x, y in entries:
            name = self.known_names.get(pid, f"player {pid}")
            self._add_remote({"id": pid, "name": name, "x": x, "y": y})

    def on_correction(self, data: dict) -> None:
        if self.predictor is None:
            return
        try:
            x, y = float(data["x"]), float(data["y"])
        except (KeyError, TypeError, ValueError):
            return
        seq = data.get("seq") if isinstance(data.get("seq"), int) else None
        if self.predictor.correct(seq, x, y, self.last_seq):
            self.sender.reset(x, y)

    def on_error(self, data: dict) -> None:
        if data.get("event") == P.SET_LOOK:
            return  # the look editor shows it
        self.toasts.add(str(data.get("message", "the host reported an error")), theme.BAD)

    def on_session_ended(self, data: dict) -> None:
        reason = data.get("reason")
        if reason == P.END_REPLACED:
            text = "You were logged out because this account logged in somewhere else."
        elif reason == P.END_LOGGED_OUT:
            text = "You logged out."
        elif reason == P.END_ACCOUNT_DELETED:
            text = account_deleted_text(self.me_name)
        elif reason in (P.END_KICKED, P.END_BANNED):
            text = ended_text(reason, data)
        elif reason == P.END_HOST_SHUTDOWN:
            # Not the end: the client waits for the host to come back.
            self.status.state = HOST_STOPPED
            self.held.clear()
            return
        else:
            text = f"The host ended the session: {data.get('message', reason)}"
        self.back_to_login(text)

    def on_connected(self, data: dict) -> None:
        self.status.state = JOINING  # the welcome follows

    def on_disconnected(self, data: dict) -> None:
        if data.get("reconnecting"):
            self.status.state = HOST_STOPPED if data.get("host_stopped") else RECONNECTING
            self.held.clear()
        else:
            self.status.state = OFFLINE
            self.back_to_login("The host was stopped." if data.get("host_stopped")
                               else "Lost the connection to the host.")

    def on_retrying(self, data: dict) -> None:
        if isinstance(data.get("in_s"), (int, float)):
            self.status.next_try_in = float(data["in_s"])

    def on_connect_failed(self, data: dict) -> None:
        message = str(data.get("message", ""))
        if P.E_INVALID_TOKEN in message or P.E_AUTH_REQUIRED in message:
            self.back_to_login("Your session has expired; please log in again.")

    def on_answer(self, data: dict) -> None:
        if data.get("event") == P.SET_LOOK:
            self.look_editor.on_answer(data.get("tag"), data.get("reply"))

    # -- simulation -------------------------------------------------------------------------
    def fixed_update(self, dt: float) -> None:
        predictor = self.predictor
        if predictor is None or self.trip is not None:
            return
        online = self.status.state == ONLINE
        predictor.update(self.direction() if online else (0.0, 0.0), dt)
        if online and self.sender.due(self.app.now, predictor.x, predictor.y):
            try:
                self.last_seq = self.client.send_move(predictor.x, predictor.y)
            except Exception:
                return  # the connection just dropped; the welcome after reconnect resets us
            self.sender.sent(self.app.now, predictor.x, predictor.y)

    # -- drawing ------------------------------------------------------------------------------
    def draw(self, surface: pygame.Surface, alpha: float) -> None:
        frame_dt = 1.0 / max(self.app.fps, 1.0) if self.app.fps else 1.0 / 60.0
        if self.predictor is None:
            surface.fill(theme.SHADE)
            theme.draw_text(surface, "Joining the world…", surface.get_rect().center, 22,
                            anchor="center")
        else:
            me_x, me_y = self.predictor.drawn(alpha)
            # Keep the player in the middle of the part of the world not under the panel.
            view_w = self.chat.rect.x if self.chat.visible else surface.get_width()
            if (self.camera.view_w, self.camera.view_h) != (view_w, surface.get_height()):
                self.camera.resize(view_w, surface.get_height())
            self.camera.follow(me_x, me_y, min(frame_dt, 0.1))
            self.tiles.draw_below(surface, self.camera, self.app.now)
            tags = self.draw_avatars(surface, me_x, me_y, min(frame_dt, 0.1))
            self.tiles.draw_above(surface, self.camera, self.app.now)
            surface.blits(tags, doreturn=False)  # names stay readable under a roof
            if self.bubbles:  # what was said nearby, over everything in the world
                self.bubbles.draw(surface, self.bubble_anchors, self.app.now,
                                  pygame.Rect(0, 0, view_w, surface.get_height()))
            if self.status.state != ONLINE:  # what is shown is no longer live
                surface.blit(theme.translucent((view_w, surface.get_height()), STALE_SHADE[:3],
                                               STALE_SHADE[3], 0), (0, 0))
        status_rect = self.status.draw(surface)
        self.chat.draw(surface)
        self.manager.draw_ui(surface)
        self.chat.draw_focus(surface)
        if self.chat.visible and (self.chat.peer is not None or self.chat.nearby_open):
            box = self.chat.entry.get_abs_rect().union(self.chat.send_button.get_abs_rect())
            self.mod.draw_muted(surface, box)
        if self.predictor is not None:
            right = self.chat.rect.x if self.chat.visible else surface.get_width()
            me = self.predictor.drawn(alpha)
            self.minimap.draw(surface, (right - 16, surface.get_height() - 16), me,
                              [(r.x, r.y) for r in self.remotes.values()], self.camera.visible())
            if not self.chat.visible:
                self._draw_hint(surface)
        view = surface.get_rect()
        if self.chat.visible:
            view.width = self.chat.rect.x
        # Notices go top centre, below whatever of the status or the chat
        # button they would cover.
        banner = self.mod.draw_banner(surface, view)
        avoid = (status_rect, self.chat.toggle_button.get_abs_rect())
        self.toasts.draw(surface, (view.centerx, 12),
                         avoid=avoid + ((banner,) if banner is not None else ()))
        if self.trip is not None:
            self._draw_trip(surface, view)
        self.look_editor.draw(surface)
        self.mod.draw(surface, self.app.now)

    def _draw_trip(self, surface: pygame.Surface, view: pygame.Rect) -> None:
        """The world greyed out, and how much of the next map has arrived."""
        trip = self.trip
        surface.blit(theme.translucent(view.size, theme.SHADE, 210, 0), view.topleft)
        theme.draw_text(surface, f"Going to {trip.name}…", (view.centerx, view.centery - 24),
                        22, anchor="center")
        if trip.total:
            bar = pygame.Rect(0, 0, min(360, view.width - 40), 12)
            bar.center = (view.centerx, view.centery + 10)
            pygame.draw.rect(surface, theme.MUTED, bar, 1, border_radius=6)
            filled = bar.inflate(-4, -4)
            filled.width = int(filled.width * min(1.0, trip.done / trip.total))
            if filled.width > 0:
                pygame.draw.rect(surface, theme.ACCENT, filled, border_radius=4)
            theme.draw_text(surface, f"{trip.done // 1024} of {trip.total // 1024} KB",
                            (view.centerx, view.centery + 34), 14, theme.MUTED, anchor="center")

    def draw_avatars(self, surface: pygame.Surface, me_x: float, me_y: float, dt: float) -> list:
        """Draw everyone's avatar; return their name tags' blits, drawn last."""
        camera, sheet = self.camera, self.avatars
        poses = self.interp.poses(self.app.now)
        margin = 48
        drawn = []
        for pid, remote in self.remotes.items():
            pose = poses.get(pid)
            if pose is None:
                continue
            remote.x, remote.y = pose.x, pose.y
            remote.moving = pose.moving
            if pose.moving:
                remote.facing = facing_for(pose.vx, pose.vy, remote.facing)
                remote.walked += math.hypot(pose.vx, pose.vy) * dt
            if camera.sees(pose.x, pose.y, margin):
                drawn.append((pose.y, pose.x, remote.look, remote.facing, remote.walked,
                              remote.moving, remote.name, False, pid))
        me = self.predictor
        if self.me_id is not None:
            drawn.append((me_y, me_x, self.me_look or P.default_look(self.me_id), me.facing,
                          me.walked, me.moving, self.me_name, True, self.me_id))
        drawn.sort(key=lambda d: d[0])
        hovered = self.avatar_at(self.mouse) if self.mouse is not None else None
        sprites, spots, heads = [], [], []
        anchors = self.bubble_anchors
        anchors.clear()
        for y, x, look, facing, walked, moving, name, mine, pid in drawn:
            sx, sy = camera.to_screen(x, y)
            sprites.append((sheet.frame(look, facing, walked, moving), sheet.topleft(sx, sy)))
            w, h = self.names.get(name, mine).get_size()
            if mine or not self.chat.model.is_blocked(name):  # a block hides their bubbles
                anchors[pid] = (int(sx), int(sy - sheet.feet_y - h - 3))  # above the name tag
            spots.append(TagSpot(name, pygame.Rect(sx - w // 2, sy - sheet.feet_y - h - 1, w, h),
                                 math.hypot(x - me_x, y - me_y), mine, not mine and name == hovered))
            heads.append((pid, spots[-1].rect.copy()))
        surface.blits(sprites, doreturn=False)
        # A crowd's tags: ours and the one under the mouse on top, the rest decluttered.
        self.tags_drawn = arrange_tags(spots)
        tags = []
        for spot, alpha in self.tags_drawn:
            tags.append((self.names.get(spot.name, spot.mine, alpha), spot.rect))
            mark = role_mark(self.mod.roles.get(spot.name), alpha) if alpha else None
            if mark is not None:  # the owner's and moderators' mark beside the name
                tags.append((mark, mark.get_rect(midright=(spot.rect.x - 1, spot.rect.centery))))
        tags.extend(self.emotes.blits(heads))  # beside the head, right of the name tag
        return tags

    def _draw_hint(self, surface: pygame.Surface) -> None:
        keys = "WASD / arrows: walk    Tab or C: chat    click someone: talk{}    1-6: emote    " \
               "M: map    L: look    Esc: menu"
        text = theme.font(13).render(keys.format(""), True, theme.INK)
        room = surface.get_width() - 52 - (self.minimap.size[0] if self.minimap.visible else 0)
        if self.mod.moderating:  # the owner's and moderators' menu, when it fits
            longer = theme.font(13).render(keys.format("    right-click: act"), True, theme.INK)
            text = longer if longer.get_width() + 24 <= room else text
        rect = pygame.Rect(12, surface.get_height() - 40, text.get_width() + 24, 28)
        surface.blit(theme.translucent(rect.size, theme.PANEL, 190, 14), rect)
        surface.blit(text, text.get_rect(center=rect.center))

    def nearby(self) -> int:
        """Other players within AREA_GUARANTEED_PX of us on both axes (the host
        always keeps us told about those); everyone else known is elsewhere."""
        if self.predictor is None:
            return 0
        x, y, reach = self.predictor.x, self.predictor.y, P.AREA_GUARANTEED_PX
        return sum(1 for r in self.remotes.values() if abs(r.x - x) <= reach and abs(r.y - y) <= reach)

    def avatar_at(self, pos: tuple[int, int]) -> str | None:
        """The name of the other player drawn under a screen position (front-most)."""
        if self.predictor is None:
            return None
        wx, wy = self.camera.to_world(*pos)
        sheet = self.avatars
        best = None
        for remote in self.remotes.values():
            left = remote.x - sheet.fw / 2
            top = remote.y - sheet.feet_y
            if left <= wx <= left + sheet.fw and top <= wy <= top + sheet.fh:
                if best is None or remote.y > best.y:
                    best = remote
        return best.name if best is not None else None

    # -- for tests and tools ------------------------------------------------------------------
    def drawn_position(self, pid: int) -> tuple[float, float] | None:
        """Where another player was drawn in the last frame (world pixels)."""
        remote = self.remotes.get(pid)
        return (remote.x, remote.y) if remote is not None else None
