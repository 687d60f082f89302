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


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` with every payload published on ``channel``; returns an unsubscribe function."""
        ...


class LocalBus:
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
