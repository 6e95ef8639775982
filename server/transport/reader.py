"""Reading a client's WebSocket under eventlet: every move without a system
call, a parser object and an Engine.IO packet of its own.

A client sends a move 20 times a second.  eventlet's WebSocket reads each
frame with three system calls (header, mask, payload) and builds a message
and a UTF-8 decoder for it; Engine.IO then builds a packet object, logs it
and calls its message handler.  Here the socket is read in chunks
(``BufferedRecv``: one system call takes everything the client has sent),
and the plain frames waiting in that chunk are taken straight from it
(``take_text_frame``): an Engine.IO message among them goes straight to
Engine.IO's message handler (the connection guard), on the connection's own
reader, in order.

Anything unusual (control frames, fragments, binary or compressed frames, a
frame over the size limit or not valid UTF-8, an upgrade in progress,
anything but a ``4`` message Engine.IO would hand on as text) is left to
eventlet's and Engine.IO's own code, reading the same buffer, so it behaves
exactly as before: the fast way only skips work, never a check.
"""
from __future__ import annotations

from typing import Any, Callable

# How much one system call may take from a client's socket.
READ_CHUNK = 65536
_PLAIN_TEXT = 0x81   # FIN, no extension bits, the text opcode
_MASKED = 0x80


class BufferedRecv:
    """``socket.recv`` over a buffer: one call of the real ``recv`` takes up
    to ``READ_CHUNK`` bytes; later calls are served from what is left."""

    __slots__ = ("_recv", "buf", "pos")

    def __init__(self, recv: Callable[..., bytes]):
        self._recv = recv
        self.buf = b""
        self.pos = 0

    def __call__(self, size: int, *flags: Any) -> bytes:
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            if flags:
                return self._recv(size, *flags)
            data = self._recv(max(size, READ_CHUNK))
            if len(data) <= size:
                return data
            self.buf, self.pos = data, size
            return data[:size]
        end = min(pos + size, len(buf))
        if end == len(buf):
            self.buf, self.pos = b"", 0
        else:
            self.pos = end
        return buf[pos:end]

    def fill(self) -> bool:
        """Wait for what the client sends next and keep it; False at the end
        of the stream (nothing kept)."""
        data = self._recv(READ_CHUNK)
        if not data:
            return False
        self.buf, self.pos = (self.buf[self.pos:] + data if self.pos < len(self.buf) else data), 0
        return True

    def take_text_frame(self, max_length: int) -> str | None:
        """The text of the next frame when it is whole in the buffer and
        plain (final, unfragmented, uncompressed, masked, at most
        ``max_length`` bytes, valid UTF-8); None, taking nothing, otherwise."""
        buf, pos = self.buf, self.pos
        size = len(buf)
        if size - pos < 6 or buf[pos] != _PLAIN_TEXT:
            return None
        second = buf[pos + 1]
        if not second & _MASKED:
            return None
        length = second & 0x7F
        head = pos + 2
        if length == 126:
            length = (buf[head] << 8) | buf[head + 1]
            head += 2
        elif length == 127:
            return None
        start = head + 4
        end = start + length
        if length > max_length or end > size:
            return None
        key = int.from_bytes(buf[head:start] * (length // 4 + 1), "little") \
            & ((1 << (8 * length)) - 1)
        payload = (int.from_bytes(buf[start:end], "little") ^ key).to_bytes(length, "little")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if end == size:
            self.buf, self.pos = b"", 0
        else:
            self.pos = end
        return text


def fast_messages(eio_socket: Any, ws: Any, recv: BufferedRecv) -> Callable[[], Any]:
    """A ``ws.wait`` for Engine.IO's websocket loop that hands each plain
    Engine.IO message straight to the server's message handler and returns
    only what Engine.IO must see itself (pongs, the upgrade, anything
    unusual, None when the connection ended)."""
    wait = ws.wait

    def deliver(text: Any) -> bool:
        """Call the message handler as Engine.IO's ``receive`` would, for a
        text message on an upgraded socket; False for anything else."""
        if not (isinstance(text, str) and len(text) > 1 and text[0] == "4"
                and text[1].isnumeric()):  # what Engine.IO passes on as text
            return False
        if not eio_socket.upgraded or eio_socket.upgrading:
            return False
        server = eio_socket.server
        if server.async_handlers or len(text) > server.max_http_buffer_size:
            return False
        handler = server.handlers.get("message")
        if handler is None:
            return False
        try:
            handler(eio_socket.sid, text[1:])
        except Exception:
            server.logger.exception("message handler error")
        return True

    def read_more() -> bool:
        """``recv.fill`` as eventlet's reader would fail on an error: the
        connection closed with 1011 (False at the end of the stream)."""
        try:
            return recv.fill()
        except Exception:
            ws.close(close_data=(1011, "Internal Server Error"))
            raise

    def fast_wait() -> Any:
        while True:
            text = recv.take_text_frame(ws.max_frame_length) if recv.buf else None
            if text is None and not recv.buf and not ws.websocket_closed:
                if not read_more():
                    return None  # the client closed the stream, as eventlet returns
                text = recv.take_text_frame(ws.max_frame_length)
            if text is None:
                text = wait()
            if not deliver(text):
                return text

    return fast_wait
