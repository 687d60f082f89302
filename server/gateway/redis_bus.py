"""The bus between nodes: Redis pub/sub.

Two connections per node: one publishes, one is subscribed and read by a
single task that hands each message to the local handlers (which must not
block, see server/bus.py). Channel names get a prefix (``MUSTER_REDIS_PREFIX``)
so several deployments, or test runs, can share one Redis.

Pub/sub is fire-and-forget: while the subscriber connection is down, messages
are lost. The reader reconnects with exponential backoff (0.1 s doubling to 2 s),
subscribes every channel again and, once Redis confirmed them all, tells the
``on_reconnect`` listeners, which re-read what they missed from the database
(events are stored before they are published, so the database is the truth
and the bus is only the doorbell). While Redis is down a publish fails at
once with ``ConnectionError``: the publisher is the after-commit step of a
request, which must not wait for Redis. A node that lost a publish may be the
only one cut off (the other nodes' subscriptions never dropped, so nothing
tells them they missed it): once it reaches Redis again it says so on
``bus-resync``, and every other node runs its ``on_reconnect`` listeners too.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from server.bus import Handler, ReconnectListener

log = logging.getLogger("muster.bus")

_BACKOFF_FIRST_S = 0.1
_BACKOFF_MAX_S = 2.0  # Redis back: this node listens again within 2 s
_SUBSCRIBE_TIMEOUT_S = 5.0
_CONNECT_TIMEOUT_S = 2.0
_RESYNC_CHANNEL = "bus-resync"


class RedisBus:
    def __init__(self, url: str, *, prefix: str = "muster:") -> None:
        self._url = url
        self._prefix = prefix
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._reconnect_listeners: list[ReconnectListener] = []
        self._publisher: redis.Redis | None = None
        self._subscriber: redis.Redis | None = None
        self._pubsub = None
        self._reader: asyncio.Task | None = None
        self._subscribed: set[str] = set()  # channels Redis confirmed on the current connection
        self._confirmed = asyncio.Event()
        self._missed = False  # reconnected: tell the listeners once every channel is confirmed again
        self._lost_publishes = False  # tell the other nodes on bus-resync once Redis answers again
        self._announcing: asyncio.Task | None = None
        self._name = uuid.uuid4().hex.encode()  # to know its own bus-resync message
        self._handlers[_RESYNC_CHANNEL].append(self._on_resync)
        self._closing = False

    @property
    def subscriber_name(self) -> str:
        """The subscriber connection's CLIENT SETNAME, to find it in ``CLIENT LIST``."""
        return f"{self._prefix}bus-subscriber"

    def client(self, **options) -> redis.Redis:
        """A client for the bus's URL (not connected yet). The URL carries the password or ACL user
        (``redis://user:password@host``) and TLS (``rediss://...?ssl_ca_certs=...``) to redis-py as is."""
        return redis.from_url(self._url, **options)

    async def start(self) -> None:
        """Connect both connections; returns once every channel subscribed so far is confirmed by Redis."""
        # One immediate retry, on a new connection: after a Redis restart the pooled one is dead. No more: while
        # Redis is down a publish (after a commit, before the answer) fails at once rather than holding the request.
        self._publisher = self.client(retry=Retry(NoBackoff(), 1), socket_connect_timeout=_CONNECT_TIMEOUT_S)
        await self._publisher.ping()
        self._closing = False
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        await self._wait_confirmed()

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
            self._reader = None
        await self._drop_subscriber()
        if self._publisher is not None:
            await self._publisher.aclose()
            self._publisher = None
        self._handlers.clear()

    async def ping(self) -> None:
        """Raises if Redis does not answer on either connection's server (readiness probe)."""
        if self._publisher is None:
            raise ConnectionError("the Redis bus is not started")
        await self._publisher.ping()
        if self._pubsub is None or self._pubsub.connection is None or not self._pubsub.connection.is_connected:
            raise ConnectionError("the Redis subscriber connection is down")

    async def publish(self, channel: str, payload: bytes) -> None:
        """Raises ``ConnectionError`` while Redis cannot be reached (the message is lost; see the module docstring)."""
        if self._publisher is None:
            raise ConnectionError("the Redis bus is not started")
        try:
            await self._publisher.publish(self._prefix + channel, payload)
        except (RedisError, OSError) as e:
            self._lost_publishes = True
            raise ConnectionError(f"the Redis bus cannot be reached ({type(e).__name__}); {channel} message lost") from e
        if self._lost_publishes:
            await self._announce_lost_publishes()

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Local handlers are added at once; the Redis subscription follows on the reader's connection.

        Redis stays subscribed after the last handler goes: a message nobody
        handles costs one dict lookup, and the hub subscribes once per process.
        """
        new_channel = channel not in self._handlers
        self._handlers[channel].append(handler)
        if new_channel and self._pubsub is not None:
            self._confirmed.clear()
            asyncio.get_running_loop().create_task(self._subscribe_channels([channel]))

        def unsubscribe() -> None:
            handlers = self._handlers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def on_reconnect(self, listener: ReconnectListener) -> None:
        self._reconnect_listeners.append(listener)

    async def _wait_confirmed(self) -> None:
        await asyncio.wait_for(self._confirmed.wait(), _SUBSCRIBE_TIMEOUT_S)

    async def _read_forever(self) -> None:
        backoff = _BACKOFF_FIRST_S
        first = True
        while not self._closing:
            try:
                self._missed = not first
                await self._connect_subscriber()
                first = False
                backoff = _BACKOFF_FIRST_S
                while True:
                    message = await self._pubsub.get_message(timeout=None)
                    if message is not None:
                        self._dispatch(message)
            except (RedisError, OSError) as e:
                await self._drop_subscriber()
                log.warning("redis bus connection lost (%s); retrying in %.1fs", type(e).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _confirm(self) -> None:
        """Redis confirmed every channel on this connection. After a reconnect the listeners re-read what they missed
        now, not before: anything published from here on reaches this node live."""
        self._confirmed.set()
        if self._missed:
            self._missed = False
            log.warning("redis bus reconnected; listeners re-read what they missed")
            self._tell_listeners()
            if self._lost_publishes:
                self._announcing = asyncio.get_running_loop().create_task(self._announce_lost_publishes())

    def _tell_listeners(self) -> None:
        for listener in list(self._reconnect_listeners):
            listener()

    async def _announce_lost_publishes(self) -> None:
        """Messages this node published were lost, maybe while the other nodes stayed subscribed: they re-read too."""
        self._lost_publishes = False
        try:
            await self._publisher.publish(self._prefix + _RESYNC_CHANNEL, self._name)
        except (RedisError, OSError):
            self._lost_publishes = True  # said at the next publish or reconnect

    def _on_resync(self, name: bytes) -> None:
        if name != self._name:
            log.warning("another node lost bus messages; listeners re-read what they missed")
            self._tell_listeners()

    async def _connect_subscriber(self) -> None:
        # No retries inside redis-py: a lost connection must surface here, so
        # that we know to tell the reconnect listeners. Nor is a failed SUBSCRIBE
        # passed over: Redis still down, the reader must back off and try again
        # (with no connection, reading the pub/sub would fail outside RedisError).
        self._subscriber = self.client(retry=Retry(NoBackoff(), 0), socket_keepalive=True, client_name=self.subscriber_name)
        self._pubsub = self._subscriber.pubsub()
        self._subscribed = set()
        channels = list(self._handlers)
        if channels:
            await self._pubsub.subscribe(*(self._prefix + c for c in channels))
        else:
            await self._pubsub.connect()
            self._confirm()

    async def _subscribe_channels(self, channels: list[str]) -> None:
        try:
            await self._pubsub.subscribe(*(self._prefix + c for c in channels))
        except (RedisError, OSError):
            pass  # the reader sees the same failure and resubscribes everything on reconnect

    async def _drop_subscriber(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        client, self._subscriber = self._subscriber, None
        self._subscribed = set()
        self._confirmed.clear()
        for closeable in (pubsub, client):
            if closeable is not None:
                try:
                    await closeable.aclose()
                except (RedisError, OSError):
                    pass

    def _dispatch(self, message: dict) -> None:
        channel = message["channel"].decode()[len(self._prefix) :]
        if message["type"] == "subscribe":
            self._subscribed.add(channel)
            if self._subscribed >= set(self._handlers):
                self._confirm()
            return
        if message["type"] != "message":
            return
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(message["data"])
            except Exception:  # one broken handler must not stop the bus for everyone
                log.exception("bus handler failed on channel %s", channel)
