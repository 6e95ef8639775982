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

A connection with nothing left to read parks with the process's
``SharedReader``, which reads every parked socket from one green thread and
hands their moves on without waking the connections' own readers.
"""
from __future__ import annotations

from typing import Any, Callable

# How much one system call may take from a client's socket.
READ_CHUNK = 65536
_EPOLLIN = 0x001
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
        self.keep(data)
        return True

    def keep(self, data: bytes) -> None:
        """Add ``data`` (read from the socket) after what is left unread."""
        self.buf, self.pos = (self.buf[self.pos:] + data if self.pos < len(self.buf) else data), 0

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


def fast_messages(eio_socket: Any, ws: Any, recv: BufferedRecv,
                  shared: "SharedReader | None" = None) -> Callable[[], Any]:
    """A ``ws.wait`` for Engine.IO's websocket loop that hands each plain
    Engine.IO message straight to the server's message handler and returns
    only what Engine.IO must see itself (pongs, the upgrade, anything
    unusual, None when the connection ended).  With ``shared``, an idle
    connection parks with the shared reader instead of reading its socket
    itself (see ``SharedReader``)."""
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

    raw = getattr(ws.socket, "fd", None)
    parked = Parked(raw, recv, ws.max_frame_length, deliver) \
        if shared is not None and _plain_socket(raw) else None

    def wait_parked() -> tuple:
        """``shared.park`` as eventlet's reader would fail on an error."""
        try:
            outcome = shared.park(parked, ws.socket.gettimeout())
            if outcome[0] == "error":
                raise outcome[1]
        except Exception:
            ws.close(close_data=(1011, "Internal Server Error"))
            raise
        return outcome

    def fast_wait() -> Any:
        while True:
            text = recv.take_text_frame(ws.max_frame_length) if recv.buf else None
            if text is None and not recv.buf and not ws.websocket_closed:
                if parked is not None and eio_socket.upgraded and not eio_socket.upgrading:
                    outcome = wait_parked()
                    if outcome[0] == "end":
                        return None  # the client closed the stream, as eventlet returns
                    text = outcome[1]
                elif not read_more():
                    return None  # the client closed the stream, as eventlet returns
                else:
                    text = recv.take_text_frame(ws.max_frame_length)
            if text is None:
                text = wait()
            if not deliver(text):
                return text

    return fast_wait


def _plain_socket(sock: Any) -> bool:
    """Whether ``sock`` is the standard library's own socket (not TLS, not a
    green wrapper): what the shared reader may read without blocking."""
    kind = type(sock)
    return kind.__module__ == "socket" and kind.__name__ == "socket"


class Parked:
    """A connection whose reader waits for its client: the shared reader
    (``SharedReader``) reads it meanwhile."""

    __slots__ = ("sock", "fd", "recv", "max_length", "deliver", "event", "outcome",
                 "last_data")

    def __init__(self, sock: Any, recv: BufferedRecv, max_length: int,
                 deliver: Callable[[str], bool]):
        self.sock = sock
        self.fd = sock.fileno()
        self.recv = recv
        self.max_length = max_length
        self.deliver = deliver  # takes a hot message, or False: hand it back
        self.event: Any = None
        self.outcome: tuple = ()
        self.last_data = 0.0


class SharedReader:
    """One green thread that reads every idle WebSocket of the process.

    Read one at a time, every move a client sends wakes that connection's
    green thread: the event loop registers its socket, fires, switches to it,
    and sets and cancels a timer for the read's timeout, for a frame of some
    forty bytes.  Here a connection whose reader has nothing left to do
    *parks*: its socket joins one epoll set of this reader's own, which the
    event loop watches as one descriptor.  When it is readable, this reader
    takes a batch of ready sockets, reads each once (everything its client
    sent), and hands every plain message of a hot event (a move) to the
    connection's message handler, in order.  Anything else (another event, a
    pong, a control or unusual frame, the end of the stream, an error) wakes
    the connection's own reader, which takes it exactly as before; it parks
    again when it is done.  A connection silent for its read timeout ends as a
    read with that timeout would (``SharedReader.park``), allowing for a host
    that stood still."""

    BATCH = 64  # ready sockets served before the event loop runs its timers again

    def __init__(self, stalls: Any):
        self.stalls = stalls
        self._epoll: Any = None
        self._parked: dict[int, Parked] = {}
        self._thread: Any = None
        self.hot_prefixes: tuple[str, ...] = ()

    def set_hot_events(self, names: Any) -> None:
        """The events whose plain messages this reader delivers itself."""
        self.hot_prefixes = tuple(f'42["{name}"' for name in sorted(names))

    def park(self, parked: Parked, timeout: float | None) -> tuple:
        """Wait, without a read of the connection's own, until the shared
        reader hands the connection back: ``("text", text)`` (a message for
        the connection's reader, or None: its buffer holds a frame to read
        the usual way), ``("end",)`` or ``("error", exc)``.  Raises
        ``TimeoutError`` when nothing arrived for ``timeout`` seconds while
        the host ran."""
        import time

        from eventlet.event import Event

        if self._thread is None:
            self._start()
        parked.event = event = Event()
        parked.outcome = ()
        parked.last_data = time.monotonic()
        self._parked[parked.fd] = parked
        try:
            self._epoll.register(parked.fd, _EPOLLIN)
            while True:
                wait = None if timeout is None else \
                    max(0.0, parked.last_data + timeout - time.monotonic())
                event.wait(wait)
                if event.ready():
                    return parked.outcome
                now = time.monotonic()
                if now - parked.last_data < timeout:
                    continue
                self.stalls.alive(now)
                if not self.stalls.stalled_within(now - parked.last_data, now):
                    raise TimeoutError("timed out")
                parked.last_data = now
        finally:
            self._forget(parked)

    def _start(self) -> None:
        import eventlet
        from eventlet.patcher import original

        self._epoll = original("select").epoll()  # eventlet's green select has none
        self._thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        import time

        import greenlet
        from eventlet.hubs import get_hub

        epoll, parked_by_fd = self._epoll, self._parked
        hub = get_hub()
        me = greenlet.getcurrent()
        waiting = [False]

        def wake(fileno: int) -> None:
            # Called by the loop whenever the epoll descriptor is readable;
            # only a reader waiting for it is woken (level-triggered: a turn
            # it misses comes back).
            if waiting[0]:
                waiting[0] = False
                me.switch()

        # One registration for the reader's life, where a trampoline would
        # register and unregister the descriptor for every batch.
        listener = hub.add(hub.READ, epoll.fileno(), wake, me.throw, lambda: None)
        try:
            while True:
                waiting[0] = True
                hub.switch()
                waiting[0] = False
                ready = epoll.poll(0, self.BATCH)
                if not ready:
                    continue
                now = time.monotonic()
                for fd, _ in ready:
                    parked = parked_by_fd.get(fd)
                    if parked is not None and not parked.outcome:
                        try:
                            self._serve(parked, now)
                        except Exception as exc:  # never stop reading for everyone
                            self._hand_back(parked, ("error", exc))
        finally:
            hub.remove(listener)

    def _serve(self, parked: Parked, now: float) -> None:
        try:
            data = parked.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._hand_back(parked, ("error", exc))
            return
        if not data:
            self._hand_back(parked, ("end",))
            return
        parked.last_data = now
        recv = parked.recv
        recv.keep(data)
        hot = self.hot_prefixes
        while recv.buf:
            text = recv.take_text_frame(parked.max_length)
            if text is None or not text.startswith(hot) or not parked.deliver(text):
                self._hand_back(parked, ("text", text))
                return

    def _hand_back(self, parked: Parked, outcome: tuple) -> None:
        self._forget(parked)
        parked.outcome = outcome
        parked.event.send(True)

    def _forget(self, parked: Parked) -> None:
        """Stop reading ``parked`` (unless its descriptor went to another
        connection meanwhile)."""
        if self._parked.get(parked.fd) is parked:
            del self._parked[parked.fd]
            try:
                self._epoll.unregister(parked.fd)
            except (OSError, ValueError):
                pass
