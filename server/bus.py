"""The event bus: how a change made on one node reaches devices connected to any node.

Two implementations of one small interface: ``LocalBus`` (in-process, the
embedded default: one node) and ``RedisBus`` (Redis pub/sub between nodes,
in server/gateway/redis_bus.py). Handlers are plain callbacks that must not
block: they hand work to the connection queues and return.

Messages are published only after the transaction that produced them has
committed (``Transaction.publish``), so a device never hears of data it then
cannot read.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

Handler = Callable[[bytes], None]
ReconnectListener = Callable[[], None]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every payload published on ``channel``; returns an unsubscribe function."""
        ...

    def on_reconnect(self, listener: ReconnectListener) -> None:
        """Call ``listener`` after the bus lost its connection and got it back.

        Messages published meanwhile are lost; a listener re-reads what it
        missed from the database (the hub does so for every open socket).
        """
        ...


class LocalBus:
    """One process, no connection to lose: ``on_reconnect`` listeners are never called."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self._handlers.clear()

    async def publish(self, channel: str, payload: bytes) -> None:
        for handler in list(self._handlers.get(channel, ())):
            handler(payload)
        await asyncio.sleep(0)

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        self._handlers[channel].append(handler)
        return lambda: self._handlers[channel].remove(handler) if handler in self._handlers[channel] else None

    def on_reconnect(self, listener: ReconnectListener) -> None:
        pass
