"""The chat panel: everyone you can message, unread badges, one conversation.

The panel never waits for the host.  It asks with ``request(event, payload,
tag)`` and the world scene hands the answers back (``on_answer``) when it
drains the network queue.
"""
from __future__ import annotations

import time
from typing import Callable

import pygame
import pygame_gui

from game import protocol as P

from .. import theme

PANEL_W = 340
TITLE_H = 46
ROW_H = 30
CONV_HEADER_H = 54
ENTRY_H = 56
BUBBLE_PAD = 8
LINE_H = 19
MESSAGE_FONT = 14
WHEEL_PX = 40

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
    def __init__(self, manager: pygame_gui.UIManager, me: str, request: Request):
        self.manager = manager
        self.me = me
        self.request = request
        self.visible = False
        self.players: list[dict] = []  # {"name", "online"}, online first
        self.unread: dict[str, int] = {}
        self.peer: str | None = None
        self.items: list[dict] = []  # messages (with "id") and notices ("system"), oldest first
        self.ids: set[int] = set()
        self.has_more = False
        self.loading_older = False
        self.opening = False
        self.peer_here = False
        self.peer_online = False
        self.notice = ""  # a problem sending, shown above the text box
        self.scroll = 0.0  # pixels scrolled up from the newest message
        self.list_scroll = 0.0
        self._layout_cache: dict[tuple, tuple[list[pygame.Surface], int]] = {}
        self.rect = pygame.Rect(0, 0, PANEL_W, 100)
        self.toggle_button = pygame_gui.elements.UIButton(
            pygame.Rect(0, 0, 110, 34), "Chat", manager, object_id="#chat_toggle")
        self.entry = pygame_gui.elements.UITextEntryLine(pygame.Rect(0, 0, 200, 38), manager,
                                                         object_id="#chat_entry",
                                                         placeholder_text="Write a message…")
        self.entry.set_text_length_limit(P.DM_TEXT_MAX)
        self.send_button = pygame_gui.elements.UIButton(pygame.Rect(0, 0, 70, 38), "Send", manager)
        self.layout(manager.window_resolution)
        self._sync_visibility()

    # -- layout ---------------------------------------------------------------------
    def layout(self, size: tuple[int, int]) -> None:
        w, h = size
        panel_w = min(PANEL_W, max(240, w // 2))
        self.rect = pygame.Rect(w - panel_w, 0, panel_w, h)
        list_h = min(max(ROW_H * 2, len(self.players) * ROW_H), int(h * 0.34))
        self.list_rect = pygame.Rect(self.rect.x, self.rect.y + TITLE_H + 24, panel_w, list_h)
        conv_top = self.list_rect.bottom + 8
        self.conv_header = pygame.Rect(self.rect.x, conv_top, panel_w, CONV_HEADER_H)
        self.entry_rect = pygame.Rect(self.rect.x, self.rect.bottom - ENTRY_H, panel_w, ENTRY_H)
        self.messages_rect = pygame.Rect(self.rect.x + 10, self.conv_header.bottom,
                                         panel_w - 20, self.entry_rect.top - self.conv_header.bottom - 22)
        self.entry.set_relative_position((self.rect.x + 10, self.entry_rect.y + 9))
        self.entry.set_dimensions((panel_w - 100, 38))
        self.send_button.set_relative_position((self.rect.right - 82, self.entry_rect.y + 9))
        right = (self.rect.x if self.visible else w) - 12
        self.toggle_button.set_relative_position((right - 110, 12))

    def _sync_visibility(self) -> None:
        show = self.visible and self.peer is not None
        for element in (self.entry, self.send_button):
            if show and not element.visible:
                element.show()
            elif not show and element.visible:
                element.hide()
        if not show and self.entry.is_focused:
            self.entry.unfocus()
            self.manager.set_focus_set(None)
        total = self.total_unread()
        label = "Hide chat" if self.visible else (f"Chat  ({total})" if total else "Chat")
        if self.toggle_button.text != label:
            self.toggle_button.set_text(label)
        self.layout(self.manager.window_resolution)

    @property
    def typing(self) -> bool:
        return self.visible and self.entry.visible and self.entry.is_focused

    def total_unread(self) -> int:
        return sum(self.unread.values())

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
            self.request(P.DIRECTORY, {}, None)
            self.reopen()
        elif self.peer is not None:
            self.request(P.DM_CLOSE, {"peer": self.peer}, self.peer)
            self.peer_here = False
        self._sync_visibility()

    def focus_entry(self) -> None:
        if self.visible and self.peer is not None:
            self.manager.set_focus_set(self.entry)

    # -- state from the host ------------------------------------------------------------
    def set_directory(self, players: list[dict]) -> None:
        self.players = [{"name": p["name"], "online": bool(p.get("online"))}
                        for p in players if isinstance(p, dict) and p.get("name") != self.me]
        self._sort()

    def _sort(self) -> None:
        self.players.sort(key=lambda p: (not p["online"], p["name"].lower()))
        self.layout(self.manager.window_resolution)

    def set_online(self, name: str, online: bool) -> None:
        if name == self.me:
            return
        for p in self.players:
            if p["name"] == name:
                p["online"] = online
                break
        else:
            self.players.append({"name": name, "online": online})
        if name == self.peer:
            self.peer_online = online
            if not online:
                self.peer_here = False
        self._sort()

    def set_unread_counts(self, counts: dict[str, int]) -> None:
        self.unread = {name: int(n) for name, n in counts.items() if int(n) > 0 and name != self.peer}
        self._sync_visibility()

    def on_unread(self, peer: str, count: int) -> None:
        if peer == self.peer and self.visible:
            return  # that conversation is open; the message arrives by itself
        self.unread[peer] = count
        if not any(p["name"] == peer for p in self.players):
            self.players.append({"name": peer, "online": True})
            self._sort()
        self._sync_visibility()

    def on_message(self, message: dict) -> None:
        """A message in a conversation we have open (ours or theirs)."""
        peer = message.get("from") if message.get("from") != self.me else message.get("to")
        if peer != self.peer:
            if message.get("from") != self.me:
                self.unread[peer] = self.unread.get(peer, 0) + 1
                self._sync_visibility()
            return
        self._append(message)

    def on_missed(self, message: dict) -> None:
        """A message sent while we were away (already counted in the unread counts)."""
        if self.peer is not None and self.peer in (message.get("from"), message.get("to")):
            self._append(message)

    def _append(self, message: dict) -> None:
        mid = message.get("id")
        if not isinstance(mid, int) or mid in self.ids:
            return
        self.ids.add(mid)
        # Normally the newest; keep id order if answers cross.
        index = len(self.items)
        while index > 0 and self.items[index - 1].get("id", 0) > mid:
            index -= 1
        self.items.insert(index, message)

    def on_presence(self, peer: str, state: str) -> None:
        if peer != self.peer:
            return
        self.peer_here = state == "entered"
        if state == "entered":
            self.peer_online = True
        verb = "entered" if state == "entered" else "left"
        self.items.append({"system": f"{peer} {verb} the conversation", "at": time.time()})

    def on_answer(self, event: str, tag, reply) -> None:
        if not isinstance(reply, dict):
            return
        if event == P.DIRECTORY and reply.get("ok"):
            self.set_directory(reply.get("players") or [])
        elif event == P.DM_OPEN and tag == self.peer:
            self.opening = False
            if not reply.get("ok"):
                self.notice = reply.get("message", "could not open the conversation")
                return
            for message in reply.get("messages") or []:
                self._append(message)
            self.has_more = bool(reply.get("has_more"))
            self.peer_here = bool(reply.get("peer_present"))
            self.peer_online = bool(reply.get("peer_online"))
            self.unread.pop(self.peer, None)
            self._sync_visibility()
        elif event == P.DM_HISTORY and tag == self.peer:
            self.loading_older = False
            if reply.get("ok"):
                for message in reply.get("messages") or []:
                    self._append(message)
                self.has_more = bool(reply.get("has_more"))
        elif event == P.DM_SEND:
            if reply.get("ok") and isinstance(reply.get("message"), dict):
                self.on_message(reply["message"])
            else:
                self.notice = reply.get("message", "message not sent")

    # -- actions ------------------------------------------------------------------------
    def open(self, name: str) -> None:
        if name == self.peer:
            self.focus_entry()
            return
        if self.peer is not None:
            self.request(P.DM_CLOSE, {"peer": self.peer}, self.peer)
        self.peer = name
        self.items, self.ids = [], set()
        self.has_more = self.loading_older = False
        self.opening = True
        self.peer_here = False
        self.peer_online = any(p["name"] == name and p["online"] for p in self.players)
        self.notice = ""
        self.scroll = 0.0
        self.unread.pop(name, None)
        self.entry.set_text("")
        self.request(P.DM_OPEN, {"peer": name}, name)
        self._sync_visibility()
        self.focus_entry()

    def reopen(self) -> None:
        """Enter the conversation again (after a reconnect the host has
        forgotten it; after hiding the panel we had left it)."""
        if self.peer is not None and self.visible:
            self.opening = True
            self.request(P.DM_OPEN, {"peer": self.peer}, self.peer)

    def send(self) -> bool:
        if self.peer is None:
            return False
        try:
            text = P.clean_dm_text(self.entry.get_text())
        except P.ProtocolError as exc:
            if self.entry.get_text().strip():
                self.notice = exc.message
            return False
        self.request(P.DM_SEND, {"to": self.peer, "text": text}, self.peer)
        self.entry.set_text("")
        self.notice = ""
        self.scroll = 0.0
        return True

    def load_older(self) -> None:
        if self.peer is None or not self.has_more or self.loading_older or self.opening:
            return
        oldest = next((m["id"] for m in self.items if "id" in m), None)
        if oldest is None:
            return
        self.loading_older = True
        self.request(P.DM_HISTORY, {"peer": self.peer, "before_id": oldest,
                                    "limit": P.HISTORY_PAGE_DEFAULT}, self.peer)

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
        if self.typing and event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.send()
                return True
            if event.key == pygame.K_ESCAPE:
                self.entry.unfocus()
                self.manager.set_focus_set(None)
                return True
        if not self.visible:
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.list_rect.collidepoint(event.pos):
                index = int((event.pos[1] - self.list_rect.y + self.list_scroll) // ROW_H)
                if 0 <= index < len(self.players):
                    self.open(self.players[index]["name"])
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
            return not self.entry.get_abs_rect().collidepoint(event.pos) and \
                not self.send_button.get_abs_rect().collidepoint(event.pos)
        return False

    def update(self, dt: float) -> None:
        if self.visible and self.peer is not None and not self.opening and self.has_more:
            if self.content_height() < self.messages_rect.height:
                self.load_older()  # fill the view

    # -- drawing ------------------------------------------------------------------------
    def _laid_out(self, item: dict) -> tuple[list[pygame.Surface], int]:
        width = int(self.messages_rect.width * 0.78) - 2 * BUBBLE_PAD
        key = (item.get("id"), item.get("system"), item.get("at"), width)
        cached = self._layout_cache.get(key)
        if cached is None:
            if "system" in item:
                lines = [theme.font(12).render(item["system"], True, theme.MUTED)]
                cached = (lines, 24)
            else:
                font = theme.font(MESSAGE_FONT)
                text = P.visible_text(item["text"])  # never drawn as something it is not
                lines = [font.render(line, True, theme.INK) for line in wrap(text, font, width)]
                cached = (lines, len(lines) * LINE_H + 2 * BUBBLE_PAD + 18)
            self._layout_cache[key] = cached
        return cached

    def content_height(self) -> int:
        return sum(self._laid_out(item)[1] for item in self.items) + (24 if self.has_more else 0)

    def max_scroll(self) -> float:
        return max(0.0, self.content_height() - self.messages_rect.height)

    def draw_focus(self, surface: pygame.Surface) -> None:
        """A ring around the text box while keys type into it (after the GUI is drawn)."""
        if self.typing:
            theme.rounded_rect(surface, theme.ACCENT, self.entry.get_abs_rect().inflate(4, 4), 8, 2)

    def draw(self, surface: pygame.Surface) -> None:
        if not self.visible:
            return
        r = self.rect
        surface.fill(theme.PANEL, r)
        pygame.draw.line(surface, theme.PANEL_EDGE, r.topleft, r.bottomleft, 2)
        theme.draw_text(surface, "Chat", (r.x + 16, r.y + 12), 20, bold=True)
        theme.draw_text(surface, "Tab hides", (r.right - 14, r.y + 18), 12, theme.MUTED,
                        anchor="topright")
        online = sum(1 for p in self.players if p["online"])
        theme.draw_text(surface, "PLAYERS", (r.x + 16, r.y + TITLE_H), 12, theme.MUTED, bold=True)
        theme.draw_text(surface, f"{online} online", (r.right - 14, r.y + TITLE_H), 12,
                        theme.MUTED, anchor="topright")
        self._draw_players(surface)
        pygame.draw.line(surface, theme.PANEL_EDGE, (r.x + 12, self.list_rect.bottom + 4),
                         (r.right - 12, self.list_rect.bottom + 4))
        self._draw_conversation(surface)

    def _draw_players(self, surface: pygame.Surface) -> None:
        area = self.list_rect
        clip = surface.get_clip()
        surface.set_clip(area)
        if not self.players:
            theme.draw_text(surface, "Nobody else has joined yet.", (area.x + 16, area.y + 6),
                            14, theme.MUTED)
        first = int(self.list_scroll // ROW_H)
        for i in range(first, min(len(self.players), first + area.height // ROW_H + 2)):
            p = self.players[i]
            row = pygame.Rect(area.x + 6, area.y + i * ROW_H - int(self.list_scroll), area.width - 12, ROW_H - 2)
            if p["name"] == self.peer:
                theme.rounded_rect(surface, theme.BUBBLE_MINE, row, 6)
            dot = theme.GOOD if p["online"] else (88, 96, 112)
            pygame.draw.circle(surface, dot, (row.x + 14, row.centery), 5)
            colour = theme.INK if p["online"] else theme.MUTED
            theme.draw_text(surface, p["name"], (row.x + 28, row.centery), 15, colour,
                            anchor="midleft")
            count = self.unread.get(p["name"], 0)
            if count:
                text = theme.font(12, bold=True).render(str(min(count, 99)), True, (255, 255, 255))
                badge = pygame.Rect(0, 0, max(22, text.get_width() + 12), 20)
                badge.midright = (row.right - 8, row.centery)
                theme.rounded_rect(surface, theme.BADGE, badge, 10)
                surface.blit(text, text.get_rect(center=badge.center))
        surface.set_clip(clip)

    def _draw_conversation(self, surface: pygame.Surface) -> None:
        head = self.conv_header
        if self.peer is None:
            theme.draw_text(surface, "Click a name to start a conversation.",
                            (head.centerx, head.y + 30), 14, theme.MUTED, anchor="midtop")
            return
        colour = theme.GOOD if self.peer_online else (88, 96, 112)
        pygame.draw.circle(surface, colour, (head.x + 22, head.y + 18), 5)
        theme.draw_text(surface, self.peer, (head.x + 34, head.y + 6), 18, bold=True)
        if self.peer_here:
            status = f"{self.peer} is here, in this conversation"
        elif self.peer_online:
            status = "online, in the world"
        else:
            status = "offline; they will see your messages later"
        theme.draw_text(surface, status, (head.x + 34, head.y + 30), 12, theme.MUTED)
        self._draw_messages(surface)
        if self.notice:
            theme.draw_text(surface, self.notice[:60], (self.rect.x + 14, self.entry_rect.y - 18),
                            12, theme.BAD)

    def _draw_messages(self, surface: pygame.Surface) -> None:
        area = self.messages_rect
        clip = surface.get_clip()
        surface.set_clip(area)
        total = self.content_height()
        y = area.bottom - total + int(self.scroll)
        if self.opening:
            theme.draw_text(surface, "Loading…", (area.centerx, area.y + 8), 13, theme.MUTED,
                            anchor="midtop")
        elif not self.items:
            theme.draw_text(surface, "No messages yet. Say hello!", (area.centerx, area.y + 8),
                            13, theme.MUTED, anchor="midtop")
        if self.has_more:
            label = "Loading older messages…" if self.loading_older else "Scroll up for older messages"
            theme.draw_text(surface, label, (area.centerx, y + 4), 12, theme.MUTED, anchor="midtop")
            y += 24
        for item in self.items:
            lines, height = self._laid_out(item)
            if y + height >= area.y and y <= area.bottom:
                self._draw_item(surface, item, lines, y)
            y += height
        surface.set_clip(clip)

    def _draw_item(self, surface: pygame.Surface, item: dict, lines: list[pygame.Surface],
                   y: int) -> None:
        area = self.messages_rect
        if "system" in item:
            surface.blit(lines[0], lines[0].get_rect(midtop=(area.centerx, y + 4)))
            return
        mine = item.get("from") == self.me
        width = max(line.get_width() for line in lines) + 2 * BUBBLE_PAD
        height = len(lines) * LINE_H + 2 * BUBBLE_PAD
        bubble = pygame.Rect(0, y, width, height)
        if mine:
            bubble.right = area.right - 2
        else:
            bubble.left = area.left + 2
        theme.rounded_rect(surface, theme.BUBBLE_MINE if mine else theme.BUBBLE_THEIRS, bubble, 10)
        for i, line in enumerate(lines):
            surface.blit(line, (bubble.x + BUBBLE_PAD, bubble.y + BUBBLE_PAD + i * LINE_H))
        sent = item.get("sent_at")
        when = time.strftime("%H:%M", time.localtime(sent / 1000.0)) if isinstance(sent, (int, float)) else ""
        label = theme.font(11).render(when, True, theme.MUTED)
        if mine:
            surface.blit(label, label.get_rect(topright=(bubble.right - 2, bubble.bottom + 1)))
        else:
            surface.blit(label, (bubble.x + 2, bubble.bottom + 1))
