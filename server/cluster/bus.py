"""The host's one way to the world's Redis: messages between processes.

Every host process of a world (``host.py --redis URL``) has a ``Bus``.  It
sends *messages* (a kind and a JSON object) to every other process of the
world or to one of them, publishes raw bytes on named channels, and runs
plain Redis commands.  What arrives is handed to the handlers registered
with ``on`` (messages) or ``subscribe`` (channels).

Redis may restart or be unreachable.  The bus never raises because of it:
while Redis is down ``publish`` and ``send`` drop what they are given and
return False, ``command`` returns its default, and one listener keeps
trying to reconnect (every ``RETRY_S``).  Going down and coming back are
logged once each; ``on_up`` callbacks run after every (re)connection, so
the parts of the host built on the bus can say again who is here
(presence, subscriptions are renewed by the bus itself).

Threads: under eventlet the listener is a green thread and handlers run on
the event loop; under threading it is an OS thread and handlers run on it.
Subscribing and unsubscribing may be asked from anywhere; the listener
applies them (within ``POLL_S``), since a Redis pub/sub connection is not
shared between threads.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from typing import Any, Callable, Iterable

from ..runtime import green_yield

log = logging.getLogger("server.cluster")

# Channel names of one world start with this (several worlds may share a
# Redis server only through different database numbers or prefixes).
PREFIX = "pc:"
# Every process of the world listens here.
WORLD_CHANNEL = PREFIX + "world"
# How often the listener looks at its subscriptions, and how long a plain
# command may wait for Redis.
POLL_S = 0.02
COMMAND_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0
# How long the listener waits between attempts while Redis is down.
RETRY_S = 0.5


def node_channel(node: str) -> str:
    """The channel only process ``node`` listens on."""
    return f"{PREFIX}node:{node}"


def new_node_id() -> str:
    """A name for this process, unique in the world for its whole life."""
    return f"{socket.gethostname()[:20]}-{os.getpid()}-{secrets.token_hex(3)}"


MessageHandler = Callable[[dict, str], None]  # (payload, sending node)


class Bus:
    def __init__(self, url: str, async_mode: str, node: str | None = None):
        import redis

        self.url = url
        self.node = node or new_node_id()
        self.green = async_mode == "eventlet"
        self._redis_mod = redis
        self.redis = redis.Redis.from_url(
            url, socket_timeout=COMMAND_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=0)
        self.up = False
        # When Redis last went down (time.time()), None while it is up.
        self.down_since: float | None = time.time()
        self.reconnects = 0
        self.sent = 0
        self.sent_bytes = 0
        self.received = 0
        self.received_bytes = 0
        self._handlers: dict[str, MessageHandler] = {}
        self._channels: dict[str, Callable[[bytes], None]] = {}
        self._changed = True  # the subscriptions differ from what Redis has
        self._lock = threading.Lock()
        self._on_up: list[Callable[[], None]] = []
        self._stopped = False
        self._pubsub: Any = None
        self._task: Any = None
        self._listener: int | None = None  # the listener's thread (or green thread)
        self.subscribe(WORLD_CHANNEL, self._on_message)
        self.subscribe(node_channel(self.node), self._on_message)

    # -- what the rest of the host uses ---------------------------------
    def on(self, kind: str, handler: MessageHandler) -> None:
        """Call ``handler(payload, node)`` for every message of ``kind`` from
        another process."""
        self._handlers[kind] = handler

    def on_up(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every connection to Redis, the first included."""
        self._on_up.append(callback)

    def send(self, kind: str, payload: dict, to: str | None = None) -> bool:
        """Send a message to every other process (or to process ``to``)."""
        body = dict(payload)
        body["k"] = kind
        body["n"] = self.node
        channel = WORLD_CHANNEL if to is None else node_channel(to)
        return self.publish(channel, json.dumps(body, separators=(",", ":")).encode())

    def publish(self, channel: str, data: bytes) -> bool:
        return self.publish_many(((channel, data),))

    def publish_many(self, items: Iterable[tuple[str, bytes]]) -> bool:
        """Publish several messages in one round trip; False if Redis is down."""
        items = list(items)
        if not items:
            return True
        def send(client: Any) -> bool:
            if len(items) == 1:
                client.publish(*items[0])
            else:
                pipe = client.pipeline(transaction=False)
                for channel, data in items:
                    pipe.publish(channel, data)
                pipe.execute()
            return True

        if not self.command(send, default=False):
            return False
        self.sent += len(items)
        self.sent_bytes += sum(len(data) for _, data in items)
        return True

    def command(self, fn: Callable[[Any], Any], default: Any = None) -> Any:
        """``fn(redis_client)``'s result, or ``default`` while Redis is down."""
        if not self.up or self._stopped:
            return default
        try:
            return fn(self.redis)
        except self._redis_mod.RedisError as exc:
            self._went_down(exc)
            return default
        except (OSError, ValueError):
            if not self._stopped:
                raise
            return default  # the connections were closed under it: the host is stopping

    def subscribe(self, channel: str, handler: Callable[[bytes], None]) -> None:
        """Hand every message published on ``channel`` (raw bytes) to ``handler``."""
        with self._lock:
            if self._channels.get(channel) is not handler:
                self._channels[channel] = handler
                self._changed = True

    def unsubscribe(self, channel: str) -> None:
        with self._lock:
            if self._channels.pop(channel, None) is not None:
                self._changed = True

    def subscribed(self) -> set[str]:
        with self._lock:
            return set(self._channels)

    def health(self) -> dict:
        """What /api/health says of the cluster."""
        return {"redis": "up" if self.up else "down", "node": self.node,
                "down_since": None if self.down_since is None else round(self.down_since * 1000),
                "reconnects": self.reconnects}

    def stats(self) -> dict:
        return {"sent": self.sent, "sent_bytes": self.sent_bytes,
                "received": self.received, "received_bytes": self.received_bytes,
                "channels": len(self._channels)}

    # -- the listener ---------------------------------------------------
    def start(self, spawn: Callable[[Callable[[], None]], Any]) -> None:
        """Connect (or keep trying) in a task started with ``spawn``."""
        self._task = spawn(self._listen)

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        """Stop listening; the listener closes the connections as it ends
        (within ``POLL_S``).  A bus that never started closes them here."""
        self._stopped = True
        if self._task is None:
            self._close_connections()

    def _close_connections(self) -> None:
        self._drop_pubsub()
        try:
            self.redis.close()
        except Exception:
            pass

    def _went_down(self, exc: BaseException | None) -> None:
        if self.up:
            self.up = False
            self.down_since = time.time()
            log.warning("redis at %s unreachable (%s); serving this process's players "
                        "alone until it is back", _safe(self.url), _reason(exc))
        if threading.get_ident() == self._listener:
            # Only the listener closes its connection: another thread (a
            # publish, a command) that finds Redis gone leaves it to notice.
            self._drop_pubsub()

    def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                pass

    def _connect(self) -> None:
        self.redis.ping()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        with self._lock:
            channels = list(self._channels)
            self._changed = False
        self._pubsub.subscribe(*channels)
        self._current = set(channels)
        was_down = self.down_since
        self.up = True
        self.down_since = None
        self.reconnects += 1
        if self.reconnects == 1:
            log.info("joined the world's cluster at %s as %s", _safe(self.url), self.node)
        else:
            log.warning("redis at %s is back after %.1f s", _safe(self.url),
                        time.time() - (was_down or time.time()))
        for callback in list(self._on_up):
            try:
                callback()
            except Exception:
                log.exception("after connecting to redis")

    def _sync_subscriptions(self) -> None:
        with self._lock:
            if not self._changed:
                return
            wanted = set(self._channels)
            self._changed = False
        add, drop = wanted - self._current, self._current - wanted
        if add:
            self._pubsub.subscribe(*add)
        if drop:
            self._pubsub.unsubscribe(*drop)
        self._current = wanted

    def _listen(self) -> None:
        self._listener = threading.get_ident()
        try:
            self._listen_until_stopped()
        finally:
            self._close_connections()

    def _listen_until_stopped(self) -> None:
        sleep = _sleeper(self.green)
        failed_before = False
        while not self._stopped:
            try:
                if self._pubsub is None or not self.up:
                    # Not connected yet, or a publish or command found Redis
                    # gone: connect afresh.
                    self._drop_pubsub()
                    self._connect()
                    failed_before = False
                self._sync_subscriptions()
                # A handler that finds Redis gone drops the connection (see
                # _went_down): then the next turn connects afresh.
                pubsub = self._pubsub
                if pubsub is None:
                    continue
                message = pubsub.get_message(timeout=POLL_S)
                while message is not None:
                    self._deliver(message)
                    if self._pubsub is not pubsub:
                        break
                    message = pubsub.get_message(timeout=0)
            except self._redis_mod.RedisError as exc:
                if self.up or not failed_before:
                    self._went_down(exc)
                    if not failed_before and self.reconnects == 0:
                        log.warning("redis at %s unreachable (%s); trying again every %g s",
                                    _safe(self.url), _reason(exc), RETRY_S)
                failed_before = True
                self._drop_pubsub()
                sleep(RETRY_S)
            except Exception:
                if self._stopped:
                    return
                log.exception("cluster listener")
                sleep(RETRY_S)

    def _deliver(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        data = message["data"]
        self.received += 1
        self.received_bytes += len(data)
        handler = self._channels.get(channel)
        if handler is None:
            return
        try:
            handler(data)
        except Exception:
            log.exception("cluster message on %s", channel)

    def _on_message(self, data: bytes) -> None:
        body = json.loads(data)
        sender = body.pop("n", None)
        if sender == self.node:
            return
        handler = self._handlers.get(body.pop("k", None))
        if handler is not None:
            handler(body, sender)


def _sleeper(green: bool) -> Callable[[float], None]:
    return green_yield if green else time.sleep


def _safe(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user + ':***' if ':' in creds else user}@{host}"
    return url


def _reason(exc: BaseException | None) -> str:
    return str(exc).splitlines()[0][:120] if exc else "no answer"
