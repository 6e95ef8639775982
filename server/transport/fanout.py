"""Tick traffic (and the world-wide joined / left notices) written straight
to each player's WebSocket.

Through python-socketio every packet to every player is queued for a writer
green thread of that player's own: a queue put, a timer to wake the writer, a
switch to it, a frame built for that one socket.  With hundreds of players
that was most of a tick's cost.  The tick instead frames each cell's snapshot
once and writes the same bytes to every socket in the cell, when nothing is
queued for that socket and its writer is idle.  Anything else (a packet already
waiting, a send in progress, a full socket buffer, the threading server) goes
the usual way, so the order in which a player receives packets never changes.
"""
from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet

from .patches import PAIRS
from .wire import (binary_event_text, compact_json, event_text, websocket_binary_frame,
                   websocket_text_frame)


class Fanout:
    def __init__(self, sio: Any, direct: bool):
        self.sio = sio
        self.direct = direct  # eventlet WebSockets only
        self.written = 0  # packets written straight to a socket
        self.queued = 0  # packets that went through Socket.IO's queue

    def emit(self, event: str, data: Any, room: str, skip_sid: str | None = None,
             skip_sids: Any = ()) -> None:
        """``sio.emit(event, data, to=room, skip_sid=...)``, encoded and framed once."""
        self.emit_json(event, compact_json(data), room, skip_sid, skip_sids)

    def emit_json(self, event: str, data_json: str, room: str,
                  skip_sid: str | None = None, skip_sids: Any = ()) -> None:
        """``emit`` for a payload already encoded as JSON."""
        message = eio_packet.Packet(eio_packet.MESSAGE, event_text(event, data_json))
        self._send((message,), room, skip_sid, skip_sids)

    def emit_binary(self, event: str, data: bytes, room: str,
                    skip_sid: str | None = None) -> None:
        """``sio.emit(event, data, to=room)`` for one bytes argument: a
        Socket.IO BINARY_EVENT, whose text packet and binary attachment go
        out back to back (one write of both frames where it is written
        straight to the socket)."""
        placeholder = eio_packet.Packet(eio_packet.MESSAGE, binary_event_text(event))
        attachment = eio_packet.Packet(eio_packet.MESSAGE, bytes(data))
        self._send((placeholder, attachment), room, skip_sid)

    def _send(self, messages: tuple, room: str, skip_sid: str | None,
              skip_sids: Any = ()) -> None:
        participants = [eio_sid for sid, eio_sid in self.sio.manager.get_participants("/", room)
                        if sid != skip_sid and sid not in skip_sids]
        send = self.sio._send_eio_packet
        if not self.direct:
            for eio_sid in participants:
                self.queued += 1
                with PAIRS:  # nothing may come between a binary event's two packets
                    for message in messages:
                        send(eio_sid, message)
            return
        frame = None
        sockets = self.sio.eio.sockets
        for eio_sid in participants:
            socket = sockets.get(eio_sid)
            ws = getattr(socket, "game_websocket", None)  # see patches.keep_websockets
            if (ws is not None and socket.upgraded and not socket.upgrading
                    and not socket.closed and not socket.queue.qsize()):
                if frame is None:
                    frame = b"".join(_frame_of(m) for m in messages)
                if self._write_now(ws, frame):
                    self.written += 1
                    continue
            self.queued += 1
            with PAIRS:
                for message in messages:
                    send(eio_sid, message)

    def _write_now(self, ws: Any, frame: bytes) -> bool:
        """Write ``frame`` without waiting; False when it has to be queued."""
        lock = ws._sendlock  # eventlet's WebSocket sends one frame at a time
        if not lock.acquire(blocking=False):
            return False  # the writer is in the middle of a send
        try:
            sent = ws.socket.fd.send(frame)  # the OS socket; non-blocking under eventlet
        except (OSError, AttributeError):  # a full buffer, or a closed socket
            sent = 0
        if 0 < sent < len(frame):
            # Part of the frame is out: the rest must follow before anything
            # else, so it is finished in the background while the lock is held.
            self.sio.start_background_task(_finish, ws, lock, memoryview(frame)[sent:])
            return True
        lock.release()
        return sent == len(frame)


def _frame_of(message: Any) -> bytes:
    encoded = message.encode()
    if isinstance(encoded, bytes):
        return websocket_binary_frame(encoded)
    return websocket_text_frame(encoded)


def _finish(ws: Any, lock: Any, rest: memoryview) -> None:
    try:
        ws.socket.sendall(rest)
    except Exception:
        pass  # the connection is gone; its reader ends the session
    finally:
        lock.release()
