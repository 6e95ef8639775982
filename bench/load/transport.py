"""The only place the load tool reaches below the public API of its libraries.

Speed forces it there: hundreds of players in one process must not spend
their CPU decoding snapshots nobody looks at, checking the UTF-8 of text the
host built itself, or searching every payload for bytes.  Each internal used:

- ``engineio.Client._receive_packet`` (python-engineio): replaced on one
  client instance to count the bytes it receives and to drop snapshots
  unparsed, a binary one's text packet with its attachment (``tap``);
- ``engineio.packet.MESSAGE`` and ``Packet.packet_type`` / ``Packet.data``
  (python-engineio): read inside that tap;
- ``engineio.Client.websocket_extra_options`` (python-engineio): set on an
  existing client, after ``game.client.net.HostClient`` made it, to skip
  websocket-client's UTF-8 check (``skip_utf8_check``);
- ``socketio.packet.Packet.uses_binary_events`` (python-socketio): set to
  False for the whole process, so sending skips the search for binary
  attachments (``send_text_only``);
- ``socketio.Client.eio`` (python-socketio): the Engine.IO client under a
  Socket.IO client.

Import the libraries only inside the functions: a worker process switches
to green threads (``game.bots.load_net``) before anything imports them.
"""
from __future__ import annotations

from typing import Any

from game.core import protocol as P


def send_text_only() -> None:
    """Players send text only: skip Socket.IO's search of every payload for
    bytes (for the whole process)."""
    import socketio.packet

    socketio.packet.Packet.uses_binary_events = False


def skip_utf8_check(client: Any) -> None:
    """The host sends JSON text it built itself; checking its UTF-8 byte by
    byte in Python would cost the tool more than parsing it.  ``client`` is a
    ``game.client.net.HostClient`` that has not connected yet."""
    client.sio.eio.websocket_extra_options = {"skip_utf8_validation": True}


def tap(bot: Any) -> None:
    """Count what ``bot``'s socket receives, before its client handles it.

    A player that may not become a sampled observer (``bot.watching`` false,
    see ``MeasuringSwarm.choose_watchers``) walks without looking at anyone
    else, so its snapshots are counted and then dropped unparsed: decoding every snapshot for hundreds of players would
    make the tool, not the host, the bottleneck.  Watchers (and every other
    event) go through HostClient as in the game.  Adds to ``bot.bytes_in``
    and ``bot.snapshots_in``.
    """
    from engineio import packet

    eio = bot.client.sio.eio
    receive = eio._receive_packet
    # A Socket.IO EVENT on the default namespace (a JSON host), and the text
    # packet of a BINARY_EVENT, whose attachment is the next binary message.
    snapshot_prefix = '2["' + P.SNAPSHOT + '"'
    binary_prefix = '51-["' + P.SNAPSHOT + '"'
    dropping = [False]  # the attachment of a dropped snapshot comes next

    def tapped(pkt: Any) -> None:
        data = pkt.data
        if pkt.packet_type == packet.MESSAGE and isinstance(data, str):
            # engine.io type byte + WebSocket header (2 bytes, 4 above 125)
            size = len(data) + 1
            bot.bytes_in += size + (2 if size < 126 else 4)
            if not getattr(bot, "watching", False) and (data.startswith(snapshot_prefix)
                                         or data.startswith(binary_prefix)):
                bot.snapshots_in += 1
                dropping[0] = data[0] == "5"
                return
        elif pkt.packet_type == packet.MESSAGE and isinstance(data, bytes):
            # a binary message goes as it is: WebSocket header only
            size = len(data)
            bot.bytes_in += size + (2 if size < 126 else 4 if size < 65536 else 10)
            if dropping[0]:
                dropping[0] = False
                return
        receive(pkt)

    eio._receive_packet = tapped
