"""The chat panel: everyone you can message, unread badges, one conversation,
and the Nearby conversation (lines said aloud to whoever stands near us).

The state lives in ``ChatModel`` (game/client/chat_model.py); the players
list and the open conversation are drawn by ``PlayersList`` and
``ConversationView``; this is the panel around them: layout, input, and the
talk with the host.

The panel never waits for the host.  It asks with ``request(event, payload,
tag)``, given once by the scene, and the scene hands it every network event
as it drains its queue (``on_net``): the panel takes the answers to its own
requests (and their errors), the direct-message events, and what it needs
from the world's events (the welcome, players coming and going, the
connection dropping).  ``cue`` plays a sound and ``notify`` shows a toast
with an action, both in the scene's hands.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame
import pygame_gui

from game.client import net
from game.core import protocol as P

from .. import theme
from ..chat_model import ChatModel, Outgoing
from ..contacts import ContactBook
from ..nearby_log import NearbyLog
from ..sound import ENTERED, MESSAGE
from ..typing_state import TypingBoard, TypingSender
from .chat_conversation import ConversationView
from .chat_nearby import NearbyView
from .chat_players import WHEEL_PX, PlayersList

PANEL_W = 340
TITLE_H = 46
CONV_HEADER_H = 54
ENTRY_H = 56
SEARCH_H = 30
# The requests the panel makes: their answers and errors are the panel's.
REQUESTS = (P.DIRECTORY, P.DM_OPEN, P.DM_HISTORY, P.DM_SEND, P.DM_CLOSE, P.BLOCK, P.UNBLOCK,
            P.SAY)
NEARBY_ROW_H = 32
BLOCK_W = 84

Request = Callable[[str, object, object], None]
Notify = Callable[[str, Callable[[], None]], None]


class ChatPanel:
    def __init__(self, manager: pygame_gui.UIManager, me: str, request: Request,
                 clock: Callable[[], float] = time.monotonic, contacts: ContactBook | None = None,
                 cue: Callable[[str], None] | None = None, notify: Notify | None = None):
        self.manager = manager
        self.me = me
        self.request = request
        self.clock = clock
        self.cue = cue or (lambda name: None)
        self.notify = notify or (lambda text, action: None)
        self.model = ChatModel(me)
        self.contacts = contacts
        if contacts is not None:
            self.model.talked.update(contacts.load())
        self._contacts_saved = len(self.model.talked)
        self.visible = False
        self.notice = ""  # a problem with the conversation, shown above the text box
        self.lost_at: float | None = None  # when the connection dropped (None: connected)
        self.players_list = PlayersList(self.model)
        # "X is typing…": ours to the host, theirs to show (see typing_state).
        self.typing_out, self.typists = TypingSender(), TypingBoard()
        self.ids: dict[str, int] = {}  # account ids of the players online, for typing
        self._typed = False  # a key changed the message box since the last frame
        self.conversation = ConversationView(self.model, clock, lambda: self.connected)
        # The Nearby conversation: lines said aloud, sent with ``say``.
        self.nearby = NearbyLog(me)
        self.nearby_view = NearbyView(self.nearby, lambda: self.connected)
        self.nearby_open = False
        self.nearby_rect = pygame.Rect(0, 0, 0, 0)
        self.rect = pygame.Rect(0, 0, PANEL_W, 100)
        self.toggle_button = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, 110, 34), "Chat", manager, object_id="#chat_toggle")
        self.search = pygame_gui.elements.UITextEntryLine(pygame.Rect(0, 0, 200, SEARCH_H), manager,
                                                          object_id="#chat_search",
                                                          placeholder_text="Find a player…")
        self.search.set_text_length_limit(20)
        self.entry = pygame_gui.elements.UITextEntryLine(pygame.Rect(0, 0, 200, 38), manager,
                                                         object_id="#chat_entry",
                                                         placeholder_text="Write a message…")
        self.entry.set_text_length_limit(P.DM_TEXT_MAX)
        self.send_button = pygame_gui.elements.UIButton(pygame.Rect(0, 0, 70, 38), "Send", manager)
        # Block or unblock the player of the open conversation.
        self.block_button = pygame_gui.elements.UIButton(pygame.Rect(0, 0, BLOCK_W, 28), "Block",
                                                         manager, object_id="#chat_block")
        self.layout(manager.window_resolution)
        self._sync_visibility()

    # -- the model's state, as the scene and tests read it ------------------------------
    @property
    def peer(self) -> str | None:
        return self.model.peer

    @property
    def items(self) -> list[dict]:
        return self.model.items

    @property
    def unread(self) -> dict[str, int]:
        return self.model.unread

    @property
    def players(self) -> list[dict]:
        """The rows of the players list as shown (search applied)."""
        return self.model.listed(self.search.get_text())

    @property
    def opening(self) -> bool:
        return self.model.opening

    @property
    def has_more(self) -> bool:
        return self.model.has_more

    @property
    def peer_here(self) -> bool:
        return self.model.peer_here

    @property
    def peer_online(self) -> bool:
        return self.model.peer_online

    @property
    def connected(self) -> bool:
        return self.lost_at is None

    # -- the views' places and state -------------------------------------------------------
    @property
    def list_rect(self) -> pygame.Rect:
        return self.players_list.rect

    @property
    def messages_rect(self) -> pygame.Rect:
        return self.conversation.rect

    @property
    def scroll(self) -> float:
        """Pixels the conversation is scrolled up from the newest message."""
        return self.conversation.scroll

    @scroll.setter
    def scroll(self, pixels: float) -> None:
        self.conversation.scroll = pixels

    def content_height(self) -> int:
        return self.conversation.content_height()

    def max_scroll(self) -> float:
        return self.conversation.max_scroll()

    def peer_status(self) -> str:
        return self.conversation.peer_status()

    def outgoing_label(self, item: Outgoing) -> tuple[str, tuple]:
        return self.conversation.outgoing_label(item)

    # -- layout ---------------------------------------------------------------------
    def layout(self, size: tuple[int, int]) -> None:
        w, h = size
        panel_w = min(PANEL_W, max(240, w // 2))
        self.rect = pygame.Rect(w - panel_w, 0, panel_w, h)
        self.nearby_rect = pygame.Rect(self.rect.x + 6, self.rect.y + TITLE_H, panel_w - 12,
                                       NEARBY_ROW_H)
        self.players_label_y = self.nearby_rect.bottom + 8
        self.search_rect = pygame.Rect(self.rect.x + 10, self.players_label_y + 20, panel_w - 20,
                                       SEARCH_H)
        list_h = self.players_list.height(self.search.get_text(), int(h * 0.30))
        self.players_list.rect = pygame.Rect(self.rect.x, self.search_rect.bottom + 4, panel_w, list_h)
        conv_top = self.list_rect.bottom + 8
        self.conv_header = pygame.Rect(self.rect.x, conv_top, panel_w, CONV_HEADER_H)
        self.entry_rect = pygame.Rect(self.rect.x, self.rect.bottom - ENTRY_H, panel_w, ENTRY_H)
        self.conversation.header = self.conv_header
        self.conversation.rect = pygame.Rect(self.rect.x + 10, self.conv_header.bottom, panel_w - 20,
                                             self.entry_rect.top - self.conv_header.bottom - 22)
        self.nearby_view.header = self.conv_header
        self.nearby_view.rect = self.conversation.rect.copy()
        self.search.set_relative_position(self.search_rect.topleft)
        self.search.set_dimensions(self.search_rect.size)
        self.entry.set_relative_position((self.rect.x + 10, self.entry_rect.y + 9))
        self.entry.set_dimensions((panel_w - 100, 38))
        self.send_button.set_relative_position((self.rect.right - 82, self.entry_rect.y + 9))
        self.block_button.set_relative_position((self.rect.right - BLOCK_W - 12,
                                                 self.conv_header.y + 4))
        right = (self.rect.x if self.visible else w) - 12
        self.toggle_button.set_relative_position((right - 110, 12))

    def _sync_visibility(self) -> None:
        show = self.visible and self.peer is not None
        blocked = self.model.is_blocked(self.peer)
        talk = (show and not blocked) or (self.visible and self.nearby_open)
        for element, shown in ((self.entry, talk), (self.send_button, talk),
                               (self.block_button, show), (self.search, self.visible)):
            if shown and not element.visible:
                element.show()
            elif not shown and element.visible:
                element.hide()
        for element in (self.entry, self.search):
            if not element.visible and element.is_focused:
                element.unfocus()
                self.manager.set_focus_set(None)
        total = self.total_unread()
        label = "Hide chat" if self.visible else (f"Chat  ({total})" if total else "Chat")
        if self.toggle_button.text != label:
            self.toggle_button.set_text(label)
        label = "Unblock" if blocked else "Block"
        if self.block_button.text != label:
            self.block_button.set_text(label)
        self.layout(self.manager.window_resolution)

    @property
    def typing(self) -> bool:
        """Keys type into the panel (the message box or the search box)."""
        return self.visible and any(e.visible and e.is_focused for e in (self.entry, self.search))

    def total_unread(self) -> int:
        return self.model.total_unread()

    # -- showing ----------------------------------------------------------------------
    def toggle(self) -> None:
        self.set_visible(not self.visible)

    def set_visible(self, visible: bool) -> None:
        """Hiding the panel leaves the open conversation (the other player sees
        that, and new messages raise a badge); showing it again re-enters."""
        if visible == self.visible:
            return
        self.visible = visible
        if visible:
            self._ask(P.DIRECTORY, {}, None)
            self.reopen()
        elif self.peer is not None:
            self._ask(P.DM_CLOSE, {"peer": self.peer}, self.peer)
            self.model.peer_here = False
        self._sync_visibility()

    def focus_entry(self) -> None:
        if self.visible and (self.peer is not None or self.nearby_open):
            self.manager.set_focus_set(self.entry)

    def _ask(self, event: str, payload, tag) -> None:
        if self.connected:
            self.request(event, payload, tag)

    # -- the network ------------------------------------------------------------------
    def on_net(self, kind: str, data) -> bool:
        """One event from the scene's network queue.  Returns True when it was the
        panel's alone: an answer to (or an error about) one of its requests, or a
        direct-message event; the world's own events go on to the scene too."""
        if kind == net.ANSWER and isinstance(data, dict) and data.get("event") in REQUESTS:
            self.on_answer(data["event"], data.get("tag"), data.get("reply"))
            return True
        if kind == P.ERROR and isinstance(data, dict) and data.get("event") in REQUESTS:
            return True  # the answer carries it too, and the panel shows it there
        if kind in (net.ANSWER, P.ERROR) and isinstance(data, dict) and \
                data.get("event") == P.TYPING:
            return True  # nothing to show: typing is a hint
        data = data if isinstance(data, dict) else {}
        if kind == P.TYPING:
            if isinstance(data.get("name"), str):
                self.typists.on_typing(data["name"], data.get("typing") is True, self.clock())
            return True
        if kind == P.PLAYER_AWAY:
            if isinstance(data.get("name"), str):
                self.model.set_away(data["name"], data.get("away") is True)
            return False  # the world draws it too

        if kind == P.SAID:
            # Not the panel's alone: the scene draws it over the speaker too.
            self.nearby.on_said(data, self.model.blocked, showing=self.showing_nearby)
            return False
        if kind == P.DM_MESSAGE:
            if isinstance(data.get("from"), str):
                self.typists.clear(data["from"])  # what they typed is here
            self.on_message(data)
            if data.get("from") != self.me:
                self.cue(MESSAGE)
            return True
        if kind == P.DM_UNREAD:
            peer, count = data.get("peer"), data.get("unread")
            if isinstance(peer, str) and isinstance(count, int):
                self.on_unread(peer, count)
                self.cue(MESSAGE)
                if not (self.visible and self.peer == peer):
                    self.notify(f"New message from {peer}", lambda: self.show_conversation(peer))
            return True
        if kind == P.DM_PRESENCE:
            if isinstance(data.get("peer"), str):
                self.on_presence(data["peer"], str(data.get("state")))
                if data.get("state") == "entered" and data["peer"] == self.peer:
                    self.cue(ENTERED)
            return True
        if kind in (P.WELCOME, P.MAP_CHANGED, P.PLAYERS_JOINED):
            self._note_maps(kind, data)
            self._note_players(kind, data)
        if kind == P.PLAYER_MAP and isinstance(data.get("name"), str):
            self.model.set_map(data["name"], data.get("map"))
        if kind == P.WELCOME:
            self.model.set_blocked(data.get("blocked") or [])
            self.set_unread_counts(data.get("unread") or {})
            for message in data.get("missed_messages") or []:
                self.on_missed(message)
            self.set_connected(True)
            self.reopen()
            self._ask(P.DIRECTORY, {}, None)
        elif kind == P.PLAYERS_JOINED:
            self.set_online_many([p["name"] for p in data.get("players") or []
                                  if isinstance(p, dict) and isinstance(p.get("name"), str)],
                                 True)
        elif kind == P.PLAYERS_LEFT:
            left = [n for n in data.get("names") or [] if isinstance(n, str)]
            self.set_online_many(left, False)
            for name in left:
                self.model.set_away(name, False)
                self.typists.clear(name)
        elif kind == net.DISCONNECTED:
            self.set_connected(False)
            self.typing_out.stop()  # the host forgets it with the connection
        return False

    def _note_maps(self, kind: str, data: dict) -> None:
        """Which map we and the players listed are on (see ChatModel.where)."""
        you = data.get("you")
        if isinstance(you, dict):
            self.model.set_map(self.me, you.get("map"))
        for p in data.get("players") or [] if kind != P.MAP_CHANGED else []:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                self.model.set_map(p["name"], p.get("map"))

    def _note_players(self, kind: str, data: dict) -> None:
        """Account ids (``typing`` names the peer by id) and who is away."""
        listed = list(data.get("players") or [])
        if kind == P.WELCOME:
            self.model.away.clear()
            listed.append(data.get("you"))
        for p in listed:
            if isinstance(p, dict) and isinstance(p.get("name"), str) and \
                    isinstance(p.get("id"), int):
                self.ids[p["name"]] = p["id"]
                self.model.set_away(p["name"], p.get("away") is True)

    def send_typing(self) -> None:
        """Tell the peer we type, or stopped (every frame; see TypingSender)."""
        peer = self.peer if self.visible and self.connected and \
            not self.model.is_blocked(self.peer) else None
        typed, self._typed = self._typed, False
        for name, typing in self.typing_out.update(self.clock(), peer, self.entry.get_text(),
                                                   typed):
            if name in self.ids and self.connected:
                self.request(P.TYPING, {"to": self.ids[name], "typing": typing}, None)

    # -- state from the host ------------------------------------------------------------
    def set_connected(self, connected: bool) -> None:
        """Joined the world (True) or lost the connection (False)."""
        if connected == self.connected and connected == self.model.connected:
            return
        self.lost_at = None if connected else self.clock()
        self.model.set_connected(connected)
        if not connected:
            self.model.opening = False

    def set_directory(self, players: list[dict]) -> None:
        self.model.set_directory(players)
        self.layout(self.manager.window_resolution)

    def set_online(self, name: str, online: bool) -> None:
        self.set_online_many([name], online)

    def set_online_many(self, names: list[str], online: bool) -> None:
        if names:
            self.model.set_online_many(names, online)
            self.layout(self.manager.window_resolution)

    def set_unread_counts(self, counts: dict[str, int]) -> None:
        self.model.set_unread_counts(counts)
        self._sync_visibility()

    def on_unread(self, peer: str, count: int) -> None:
        self.model.on_unread(peer, count, showing=self.visible)
        self._sync_visibility()

    def on_message(self, message: dict) -> None:
        """A message in a conversation we have open (ours or theirs)."""
        self.model.on_message(message)
        self._sync_visibility()

    def on_missed(self, message: dict) -> None:
        self.model.on_missed(message)

    def on_presence(self, peer: str, state: str) -> None:
        self.model.on_presence(peer, state, time.time())

    def on_answer(self, event: str, tag, reply) -> None:
        """The host's answer to one of the panel's requests."""
        if event == P.SAY:
            if not (isinstance(reply, dict) and reply.get("ok")):
                problem = reply.get("message") if isinstance(reply, dict) else None
                self.notice = "Not said: " + str(problem or "the host did not answer")
            return
        if event in (P.BLOCK, P.UNBLOCK):
            self.on_block_answer(event, tag, reply)
            return
        problem = self.model.on_answer(event, tag, reply, self.clock())
        if problem:
            self.notice = problem
        self._sync_visibility()

    def on_block_answer(self, event: str, name, reply) -> None:
        if not (isinstance(reply, dict) and reply.get("ok")):
            problem = reply.get("message") if isinstance(reply, dict) else None
            self.notice = str(problem or "the host did not answer; try again")
            self._sync_visibility()
            return
        self.model.set_blocked(name, event == P.BLOCK)
        if event == P.BLOCK:
            self.nearby.forget(name)
        if name == self.peer:
            # Read the conversation again: empty while blocked, all of it back after.
            self.model.open(name)
            self.notice = ""
            self.reopen()
        self._sync_visibility()

    # -- actions ------------------------------------------------------------------------
    def block_items(self, name: str) -> list[tuple[str, Callable[[], None]]]:
        """Block or Unblock, for the right-click menu on a player (not on ourselves)."""
        if name == self.me:
            return []
        if self.model.is_blocked(name):
            return [("Unblock", lambda: self.set_block(name, False))]
        return [("Block", lambda: self.set_block(name, True))]

    def set_block(self, name: str, block: bool) -> None:
        """Block (or unblock) ``name``; the list and conversation follow the host's answer."""
        self._ask(P.BLOCK if block else P.UNBLOCK, {"name": name}, name)

    def show_conversation(self, name: str) -> None:
        """Show the panel with the conversation with ``name`` (a click on them, a toast)."""
        self.set_visible(True)
        self.open(name)

    @property
    def showing_nearby(self) -> bool:
        return self.visible and self.nearby_open

    def open_nearby(self) -> None:
        """Show the Nearby conversation (leaving the open direct conversation)."""
        self.set_visible(True)
        if not self.nearby_open:
            if self.peer is not None:
                self._ask(P.DM_CLOSE, {"peer": self.peer}, self.peer)
                self.model.leave()
            self.nearby_open = True
            self.notice = ""
            self.nearby_view.scroll = 0.0
        self.nearby.read()
        self._sync_visibility()
        self.focus_entry()

    def open(self, name: str) -> None:
        self.nearby_open = False
        if name == self.peer:
            self.focus_entry()
            return
        if self.peer is not None:
            self._ask(P.DM_CLOSE, {"peer": self.peer}, self.peer)
        self.model.open(name)
        self.notice = ""
        self.scroll = 0.0
        self._clear_entry()
        self._ask(P.DM_OPEN, {"peer": name}, name)
        self.model.opening = self.connected
        self._sync_visibility()
        self.focus_entry()

    def reopen(self) -> None:
        """Enter the conversation again (after a reconnect the host has
        forgotten it; after hiding the panel we had left it)."""
        if self.peer is not None and self.visible and self.connected:
            self.model.opening = True
            self.request(P.DM_OPEN, {"peer": self.peer}, self.peer)

    def _clear_entry(self) -> None:
        self.entry.set_text("")
        if self.entry.is_focused:
            # pygame_gui puts the placeholder into the focused box's text layout
            # when it is emptied, and typing then goes in front of it.
            self.entry.focus()

    def say(self) -> bool:
        """Say the text in the box aloud; it shows once the host sends it back."""
        if not self.connected:
            self.notice = "Not connected: nobody would hear you"
            return False
        try:
            payload = self.nearby.compose(self.entry.get_text(), self.clock())
        except P.ProtocolError as exc:
            if self.entry.get_text().strip():
                self.notice = exc.message
            return False
        self.request(P.SAY, payload, None)
        self._clear_entry()
        self.notice = ""
        self.nearby_view.scroll = 0.0
        return True

    def send(self) -> bool:
        """Queue the text in the box; it shows in the conversation until it is stored."""
        if self.nearby_open:
            return self.say()
        if self.peer is None:
            return False
        try:
            self.model.compose(self.peer, self.entry.get_text())
        except P.ProtocolError as exc:
            if self.entry.get_text().strip():
                self.notice = exc.message
            return False
        self._clear_entry()
        self.notice = ""
        self.scroll = 0.0
        self.flush()
        return True

    def flush(self) -> None:
        """Send what the outbox has ready (called every frame, and after a send)."""
        for event, payload, tag in self.model.next_requests(self.clock()):
            self.request(event, payload, tag)

    def retry(self, local_id: int) -> None:
        if self.model.retry(local_id):
            self.flush()

    def load_older(self) -> None:
        payload = self.model.older_request() if self.connected else None
        if payload is not None:
            self.request(P.DM_HISTORY, payload, self.peer)

    def scroll_messages(self, pixels: float) -> None:
        """Positive scrolls up towards older messages; loads more at the top."""
        top = self.max_scroll()
        self.scroll = min(max(0.0, self.scroll + pixels), top)
        if pixels > 0 and self.scroll >= top - 1:
            self.load_older()

    # -- input --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> bool:
        """Returns True when the panel used the event."""
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            if event.ui_element is self.toggle_button:
                self.toggle()
                return True
            if event.ui_element is self.block_button and self.peer is not None:
                self.set_block(self.peer, not self.model.is_blocked(self.peer))
                return True
            if event.ui_element is self.send_button:
                self.send()
                self.focus_entry()
                return True
            return False
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.entry:
            self._typed = True
            return False
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.search:
            self.players_list.scroll = 0.0
            self.layout(self.manager.window_resolution)
            return False
        if self.typing and event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                if self.search.is_focused:
                    shown = self.players
                    if shown:
                        self.open(shown[0]["name"])
                else:
                    self.send()
                return True
            if event.key == pygame.K_ESCAPE:
                for element in (self.entry, self.search):
                    element.unfocus()
                self.manager.set_focus_set(None)
                return True
        if not self.visible:
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.nearby_rect.collidepoint(event.pos):
                self.open_nearby()
                return True
            if self.list_rect.collidepoint(event.pos):
                name = self.players_list.name_at(event.pos, self.search.get_text())
                if name is not None:
                    self.open(name)
                return True
            local_id = self.conversation.retry_at(event.pos)
            if local_id is not None:
                self.retry(local_id)
                return True
        if event.type == pygame.MOUSEWHEEL:
            pos = pygame.mouse.get_pos()
            if self.list_rect.collidepoint(pos):
                self.players_list.wheel(event.y, self.search.get_text())
                return True
            if self.rect.collidepoint(pos) and self.nearby_open:
                view = self.nearby_view
                view.scroll = min(max(0.0, view.scroll + event.y * WHEEL_PX), view.max_scroll())
                return True
            if self.rect.collidepoint(pos):
                self.scroll_messages(event.y * WHEEL_PX)
                return True
        if event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP) and \
                self.rect.collidepoint(event.pos):
            return not any(e.get_abs_rect().collidepoint(event.pos)
                           for e in (self.entry, self.send_button, self.search, self.block_button))
        return False

    def update(self, dt: float) -> None:
        self.flush()
        self.send_typing()
        if self.contacts is not None and len(self.model.talked) != self._contacts_saved:
            self._contacts_saved = len(self.model.talked)
            self.contacts.save(self.model.talked)
        if self.showing_nearby:
            self.nearby.read()
        if self.visible and self.peer is not None and not self.opening and self.has_more:
            if self.content_height() < self.messages_rect.height:
                self.load_older()  # fill the view

    # -- drawing ------------------------------------------------------------------------
    def draw_focus(self, surface: pygame.Surface) -> None:
        """A ring around the text box while keys type into it (after the GUI is drawn)."""
        if self.typing:
            box = self.entry if self.entry.is_focused else self.search
            theme.rounded_rect(surface, theme.ACCENT, box.get_abs_rect().inflate(4, 4), 8, 2)

    def draw(self, surface: pygame.Surface) -> None:
        if not self.visible:
            return
        r = self.rect
        surface.fill(theme.PANEL, r)
        pygame.draw.line(surface, theme.PANEL_EDGE, r.topleft, r.bottomleft, 2)
        theme.draw_text(surface, "Chat", (r.x + 16, r.y + 12), 20, bold=True)
        theme.draw_text(surface, "Tab hides", (r.right - 14, r.y + 18), 12, theme.MUTED,
                        anchor="topright")
        self._draw_nearby_row(surface)
        label_y = self.players_label_y
        theme.draw_text(surface, "PLAYERS", (r.x + 16, label_y), 12, theme.MUTED, bold=True)
        if self.connected:
            online = sum(1 for p in self.model.players if p["online"])
            theme.draw_text(surface, f"{online} online", (r.right - 14, label_y), 12,
                            theme.MUTED, anchor="topright")
        else:
            theme.draw_text(surface, "not connected: may be out of date",
                            (r.right - 14, label_y), 12, theme.WARN, anchor="topright")
        self.players_list.draw(surface, self.search.get_text(), self.connected)
        pygame.draw.line(surface, theme.PANEL_EDGE, (r.x + 12, self.list_rect.bottom + 4),
                         (r.right - 12, self.list_rect.bottom + 4))
        if self.nearby_open:
            self.nearby_view.draw(surface)
        else:
            self.conversation.draw(surface)
        if (self.peer is not None or self.nearby_open) and self.notice:
            theme.draw_text(surface, self.notice[:60], (self.rect.x + 14, self.entry_rect.y - 18),
                            12, theme.BAD)
        elif self.peer is not None and not self.nearby_open and \
                self.typists.is_typing(self.peer, self.clock()):
            theme.draw_text(surface, f"{self.peer} is typing…",
                            (self.rect.x + 14, self.entry_rect.y - 18), 12, theme.MUTED)

    def _draw_nearby_row(self, surface: pygame.Surface) -> None:
        """The row that opens the Nearby conversation, with its unread count."""
        row = self.nearby_rect
        theme.rounded_rect(surface, theme.BUBBLE_MINE if self.nearby_open else theme.PANEL_ALT,
                           row, 6)
        # A speech bubble with three dots: talking aloud, not a direct message.
        bubble = pygame.Rect(row.x + 7, row.centery - 7, 16, 12)
        theme.rounded_rect(surface, theme.INK, bubble, 4)
        pygame.draw.polygon(surface, theme.INK, [(bubble.x + 3, bubble.bottom - 1),
                                                 (bubble.x + 3, bubble.bottom + 4),
                                                 (bubble.x + 8, bubble.bottom - 1)])
        for i in range(3):
            pygame.draw.circle(surface, theme.PANEL, (bubble.x + 4 + 4 * i, bubble.centery), 1)
        drawn = theme.draw_text(surface, "Nearby", (row.x + 30, row.centery), 15, bold=True,
                                anchor="midleft")
        theme.draw_text(surface, "say aloud", (drawn.right + 8, row.centery + 1), 12, theme.MUTED,
                        anchor="midleft")
        count = self.nearby.unread
        if count and not self.showing_nearby:
            text = theme.font(12, bold=True).render(str(min(count, 99)), True, (255, 255, 255))
            badge = pygame.Rect(0, 0, max(22, text.get_width() + 12), 20)
            badge.midright = (row.right - 8, row.centery)
            theme.rounded_rect(surface, theme.ACCENT, badge, 10)
            surface.blit(text, text.get_rect(center=badge.center))
