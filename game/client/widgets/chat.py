"""The chat panel: everyone you can message, unread badges, one conversation.

The state lives in ``ChatModel`` (game/client/chat_model.py); this is the
view: layout, input and drawing.  The panel never waits for the host.  It
asks with ``request(event, payload, tag)`` and the world scene hands the
answers back (``on_answer``) when it drains the network queue.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame
import pygame_gui

from game import protocol as P

from .. import theme
from ..chat_model import CHECK, FAILED, SENDING, WAITING, ChatModel, Outgoing
from ..contacts import ContactBook

PANEL_W = 340
TITLE_H = 46
ROW_H = 30
CONV_HEADER_H = 54
ENTRY_H = 56
BUBBLE_PAD = 8
LINE_H = 19
MESSAGE_FONT = 14
WHEEL_PX = 40
SEARCH_H = 30

Request = Callable[[str, object, object], None]


def wrap(text: str, font: pygame.font.Font, width: int) -> list[str]:
    """Break text into lines no wider than ``width`` (long words are split)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if font.size(trial)[0] <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            while font.size(word)[0] > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and font.size(word[:cut])[0] > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


class ChatPanel:
    def __init__(self, manager: pygame_gui.UIManager, me: str, request: Request,
                 clock: Callable[[], float] = time.monotonic, contacts: ContactBook | None = None):
        self.manager = manager
        self.me = me
        self.request = request
        self.clock = clock
        self.model = ChatModel(me)
        self.contacts = contacts
        if contacts is not None:
            self.model.talked.update(contacts.load())
        self._contacts_saved = len(self.model.talked)
        self.visible = False
        self.notice = ""  # a problem with the conversation, shown above the text box
        self.scroll = 0.0  # pixels scrolled up from the newest message
        self.list_scroll = 0.0
        self.lost_at: float | None = None  # when the connection dropped (None: connected)
        self._layout_cache: dict[tuple, tuple[list[pygame.Surface], int]] = {}
        self._outgoing_rects: list[tuple[pygame.Rect, int]] = []
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

    # -- layout ---------------------------------------------------------------------
    def layout(self, size: tuple[int, int]) -> None:
        w, h = size
        panel_w = min(PANEL_W, max(240, w // 2))
        self.rect = pygame.Rect(w - panel_w, 0, panel_w, h)
        self.search_rect = pygame.Rect(self.rect.x + 10, self.rect.y + TITLE_H + 20, panel_w - 20,
                                       SEARCH_H)
        rows = len(self.players) + (1 if self.model.hidden_count(self.search.get_text()) else 0)
        list_h = min(max(ROW_H * 2, rows * ROW_H), int(h * 0.30))
        self.list_rect = pygame.Rect(self.rect.x, self.search_rect.bottom + 4, panel_w, list_h)
        conv_top = self.list_rect.bottom + 8
        self.conv_header = pygame.Rect(self.rect.x, conv_top, panel_w, CONV_HEADER_H)
        self.entry_rect = pygame.Rect(self.rect.x, self.rect.bottom - ENTRY_H, panel_w, ENTRY_H)
        self.messages_rect = pygame.Rect(self.rect.x + 10, self.conv_header.bottom,
                                         panel_w - 20, self.entry_rect.top - self.conv_header.bottom - 22)
        self.search.set_relative_position(self.search_rect.topleft)
        self.search.set_dimensions(self.search_rect.size)
        self.entry.set_relative_position((self.rect.x + 10, self.entry_rect.y + 9))
        self.entry.set_dimensions((panel_w - 100, 38))
        self.send_button.set_relative_position((self.rect.right - 82, self.entry_rect.y + 9))
        right = (self.rect.x if self.visible else w) - 12
        self.toggle_button.set_relative_position((right - 110, 12))

    def _sync_visibility(self) -> None:
        show = self.visible and self.peer is not None
        for element, shown in ((self.entry, show), (self.send_button, show),
                               (self.search, self.visible)):
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
        if self.visible and self.peer is not None:
            self.manager.set_focus_set(self.entry)

    def _ask(self, event: str, payload, tag) -> None:
        if self.connected:
            self.request(event, payload, tag)

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
        self.model.set_online(name, online)
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
        if event == P.DM_SEND:
            self.model.on_send_answer(reply, self.clock())
            self._sync_visibility()
            return
        if event == P.DM_HISTORY and isinstance(tag, tuple) and tag[:1] == (CHECK,):
            self.model.on_check_answer(tag[1], reply)
            return
        if not isinstance(reply, dict):
            return
        if event == P.DIRECTORY and reply.get("ok"):
            self.set_directory(reply.get("players") or [])
        elif event == P.DM_OPEN and tag == self.peer:
            problem = self.model.on_open_answer(reply)
            if problem:
                self.notice = problem
            self._sync_visibility()
        elif event == P.DM_HISTORY and tag == self.peer:
            self.model.on_history_answer(reply)

    # -- actions ------------------------------------------------------------------------
    def open(self, name: str) -> None:
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

    def send(self) -> bool:
        """Queue the text in the box; it shows in the conversation until it is stored."""
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
            if event.ui_element is self.send_button:
                self.send()
                self.focus_entry()
                return True
            return False
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.search:
            self.list_scroll = 0.0
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
            if self.list_rect.collidepoint(event.pos):
                index = int((event.pos[1] - self.list_rect.y + self.list_scroll) // ROW_H)
                shown = self.players
                if 0 <= index < len(shown):
                    self.open(shown[index]["name"])
                return True
            for rect, local_id in self._outgoing_rects:
                if rect.collidepoint(event.pos):
                    self.retry(local_id)
                    return True
        if event.type == pygame.MOUSEWHEEL:
            pos = pygame.mouse.get_pos()
            if self.list_rect.collidepoint(pos):
                most = max(0, len(self.players) * ROW_H - self.list_rect.height)
                self.list_scroll = min(max(0.0, self.list_scroll - event.y * WHEEL_PX), most)
                return True
            if self.rect.collidepoint(pos):
                self.scroll_messages(event.y * WHEEL_PX)
                return True
        if event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP) and \
                self.rect.collidepoint(event.pos):
            return not any(e.get_abs_rect().collidepoint(event.pos)
                           for e in (self.entry, self.send_button, self.search))
        return False

    def update(self, dt: float) -> None:
        self.flush()
        if self.contacts is not None and len(self.model.talked) != self._contacts_saved:
            self._contacts_saved = len(self.model.talked)
            self.contacts.save(self.model.talked)
        if self.visible and self.peer is not None and not self.opening and self.has_more:
            if self.content_height() < self.messages_rect.height:
                self.load_older()  # fill the view

    # -- drawing ------------------------------------------------------------------------
    def _laid_out(self, item) -> tuple[list[pygame.Surface], int]:
        width = int(self.messages_rect.width * 0.78) - 2 * BUBBLE_PAD
        if isinstance(item, Outgoing):
            key = ("out", item.local_id, width)
        else:
            key = (item.get("id"), item.get("system"), item.get("at"), width)
        cached = self._layout_cache.get(key)
        if cached is None:
            if isinstance(item, dict) and "system" in item:
                lines = [theme.font(12).render(item["system"], True, theme.MUTED)]
                cached = (lines, 24)
            else:
                text = item.text if isinstance(item, Outgoing) else item["text"]
                text = P.visible_text(text)  # never drawn as something it is not
                font = theme.font(MESSAGE_FONT)
                lines = [font.render(line, True, theme.INK) for line in wrap(text, font, width)]
                cached = (lines, len(lines) * LINE_H + 2 * BUBBLE_PAD + 18)
            self._layout_cache[key] = cached
        return cached

    def _shown(self) -> list:
        return self.model.items + self.model.outgoing()

    def content_height(self) -> int:
        return sum(self._laid_out(item)[1] for item in self._shown()) + (24 if self.has_more else 0)

    def max_scroll(self) -> float:
        return max(0.0, self.content_height() - self.messages_rect.height)

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
        theme.draw_text(surface, "PLAYERS", (r.x + 16, r.y + TITLE_H), 12, theme.MUTED, bold=True)
        if self.connected:
            online = sum(1 for p in self.model.players if p["online"])
            theme.draw_text(surface, f"{online} online", (r.right - 14, r.y + TITLE_H), 12,
                            theme.MUTED, anchor="topright")
        else:
            theme.draw_text(surface, "not connected: may be out of date",
                            (r.right - 14, r.y + TITLE_H), 12, theme.WARN, anchor="topright")
        self._draw_players(surface)
        pygame.draw.line(surface, theme.PANEL_EDGE, (r.x + 12, self.list_rect.bottom + 4),
                         (r.right - 12, self.list_rect.bottom + 4))
        self._draw_conversation(surface)

    def _draw_players(self, surface: pygame.Surface) -> None:
        area = self.list_rect
        clip = surface.get_clip()
        surface.set_clip(area)
        shown = self.players
        query = self.search.get_text().strip()
        if not shown:
            text = (f"Nobody called “{query}”." if query else
                    "Nobody else is online." if self.model.players else "Nobody else has joined yet.")
            theme.draw_text(surface, text, (area.x + 16, area.y + 6), 14, theme.MUTED)
        first = int(self.list_scroll // ROW_H)
        stale = not self.connected
        for i in range(first, min(len(shown), first + area.height // ROW_H + 2)):
            p = shown[i]
            row = pygame.Rect(area.x + 6, area.y + i * ROW_H - int(self.list_scroll), area.width - 12, ROW_H - 2)
            if p["name"] == self.peer:
                theme.rounded_rect(surface, theme.BUBBLE_MINE, row, 6)
            if stale:  # last known state: a ring, not a lit dot
                pygame.draw.circle(surface, (120, 128, 140), (row.x + 14, row.centery), 5, 1)
            else:
                dot = theme.GOOD if p["online"] else (88, 96, 112)
                pygame.draw.circle(surface, dot, (row.x + 14, row.centery), 5)
            colour = theme.INK if p["online"] and not stale else theme.MUTED
            theme.draw_text(surface, p["name"], (row.x + 28, row.centery), 15, colour,
                            anchor="midleft")
            count = self.unread.get(p["name"], 0)
            if count:
                text = theme.font(12, bold=True).render(str(min(count, 99)), True, (255, 255, 255))
                badge = pygame.Rect(0, 0, max(22, text.get_width() + 12), 20)
                badge.midright = (row.right - 8, row.centery)
                theme.rounded_rect(surface, theme.BADGE, badge, 10)
                surface.blit(text, text.get_rect(center=badge.center))
        hidden = self.model.hidden_count(query)
        if hidden:
            y = area.y + len(shown) * ROW_H - int(self.list_scroll) + ROW_H // 2
            more = "player" if hidden == 1 else "players"
            theme.draw_text(surface, f"{hidden} more {more}: type a name above to find them",
                            (area.x + 16, y), 12, theme.MUTED, anchor="midleft")
        surface.set_clip(clip)

    def peer_status(self) -> str:
        if not self.connected:
            return "not connected; messages go when it returns"
        if self.peer_here:
            return f"{self.peer} is here, in this conversation"
        if self.peer_online:
            return "online, in the world"
        return "offline; they will see your messages later"

    def _draw_conversation(self, surface: pygame.Surface) -> None:
        head = self.conv_header
        self._outgoing_rects = []
        if self.peer is None:
            theme.draw_text(surface, "Click a name to start a conversation.",
                            (head.centerx, head.y + 30), 14, theme.MUTED, anchor="midtop")
            return
        if not self.connected:
            pygame.draw.circle(surface, (120, 128, 140), (head.x + 22, head.y + 18), 5, 1)
        else:
            colour = theme.GOOD if self.peer_online else (88, 96, 112)
            pygame.draw.circle(surface, colour, (head.x + 22, head.y + 18), 5)
        theme.draw_text(surface, self.peer, (head.x + 34, head.y + 6), 18, bold=True)
        if self.opening and self._shown():
            theme.draw_text(surface, "updating…", (head.right - 14, head.y + 10), 12, theme.MUTED,
                            anchor="topright")
        theme.draw_text(surface, self.peer_status(), (head.x + 34, head.y + 30), 12,
                        theme.WARN if not self.connected else theme.MUTED)
        self._draw_messages(surface)
        if self.notice:
            theme.draw_text(surface, self.notice[:60], (self.rect.x + 14, self.entry_rect.y - 18),
                            12, theme.BAD)

    def _draw_messages(self, surface: pygame.Surface) -> None:
        area = self.messages_rect
        clip = surface.get_clip()
        surface.set_clip(area)
        shown = self._shown()
        total = self.content_height()
        y = area.bottom - total + int(self.scroll)
        if not shown:  # a note in the empty view, never over a message
            label = "Loading…" if self.opening else "No messages yet. Say hello!"
            theme.draw_text(surface, label, (area.centerx, area.y + 8), 13, theme.MUTED,
                            anchor="midtop")
        if self.has_more:
            label = "Loading older messages…" if self.model.loading_older else "Scroll up for older messages"
            theme.draw_text(surface, label, (area.centerx, y + 4), 12, theme.MUTED, anchor="midtop")
            y += 24
        for item in shown:
            lines, height = self._laid_out(item)
            if y + height >= area.y and y <= area.bottom:
                self._draw_item(surface, item, lines, y)
            y += height
        surface.set_clip(clip)

    def outgoing_label(self, item: Outgoing) -> tuple[str, tuple]:
        """The line under a message on its way: what happens to it next."""
        if item.state == FAILED:
            return f"Not sent: {item.reason}. Click to try again.", theme.BAD
        if not self.connected:
            return "Waiting for the connection…", theme.WARN
        if item.uncertain:
            return "Checking whether it arrived…", theme.MUTED
        if item.state == WAITING:
            wait = max(1, int(item.retry_at - self.clock() + 0.999))
            return f"Sends in {wait} s ({item.reason})", theme.WARN
        return ("Sending…" if item.state == SENDING else "Queued"), theme.MUTED

    def _draw_item(self, surface: pygame.Surface, item, lines: list[pygame.Surface],
                   y: int) -> None:
        area = self.messages_rect
        if isinstance(item, dict) and "system" in item:
            surface.blit(lines[0], lines[0].get_rect(midtop=(area.centerx, y + 4)))
            return
        outgoing = isinstance(item, Outgoing)
        mine = outgoing or item.get("from") == self.me
        width = max(line.get_width() for line in lines) + 2 * BUBBLE_PAD
        height = len(lines) * LINE_H + 2 * BUBBLE_PAD
        bubble = pygame.Rect(0, y, width, height)
        if mine:
            bubble.right = area.right - 2
        else:
            bubble.left = area.left + 2
        if outgoing:  # not stored yet: an outline, not a filled bubble
            theme.rounded_rect(surface, theme.PANEL, bubble, 10)
            edge = theme.BAD if item.state == FAILED else theme.BUBBLE_MINE
            theme.rounded_rect(surface, edge, bubble, 10, 2)
        else:
            theme.rounded_rect(surface, theme.BUBBLE_MINE if mine else theme.BUBBLE_THEIRS, bubble, 10)
        for i, line in enumerate(lines):
            surface.blit(line, (bubble.x + BUBBLE_PAD, bubble.y + BUBBLE_PAD + i * LINE_H))
        if outgoing:
            text, colour = self.outgoing_label(item)
            label = theme.font(11).render(text, True, colour)
            rect = label.get_rect(topright=(bubble.right - 2, bubble.bottom + 1))
            if rect.left < area.left:
                rect.left = area.left
            surface.blit(label, rect)
            if item.state == FAILED:
                self._outgoing_rects.append((bubble.union(rect), item.local_id))
            return
        sent = item.get("sent_at")
        when = time.strftime("%H:%M", time.localtime(sent / 1000.0)) if isinstance(sent, (int, float)) else ""
        label = theme.font(11).render(when, True, theme.MUTED)
        if mine:
            surface.blit(label, label.get_rect(topright=(bubble.right - 2, bubble.bottom + 1)))
        else:
            surface.blit(label, (bubble.x + 2, bubble.bottom + 1))
