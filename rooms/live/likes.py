"""Likes: counted in memory on the node that takes them, added to the stream's counter once an interval, the total told to all.

A like is one request that only adds to a number in this node's memory
(after the viewer's token bucket: ``live_likes_per_s``, a burst of
``live_likes_burst``, else 429 with Retry-After; per node, as the device
socket's budgets are). Every ``live_likes_flush_s`` the node writes what it
took: per stream that got likes, one short transaction of an ``UPDATE
live_streams SET likes = likes + n`` and a read of the total, and one
``live.likes`` event with that total. So a
class pressing like a thousand times a second costs each node one statement a
second per stream, never a row per like. Likes not yet written when the node
dies are lost (a second's worth); the node's stop writes what it holds.
"""
from __future__ import annotations

import asyncio
import math
import time

from sqlalchemy import select, update

from rooms.config import RoomsSettings
from rooms.leases import keep_renewing
from rooms.live.events import tell
from rooms.models import LiveStream
from server.db import Database
from server.errors import RateLimited
from server.gateway.budgets import TokenBucket

BUCKETS_KEPT = 10_000  # viewers' buckets a node remembers; full ones are forgotten first


class Likes:
    def __init__(self, db: Database, settings: RoomsSettings) -> None:
        self.db, self.settings = db, settings
        self.pending: dict[int, tuple[int, int]] = {}  # stream id -> (org id, likes not yet written)
        self._buckets: dict[tuple[int, int], TokenBucket] = {}  # (stream id, user id) -> the viewer's bucket
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def take(self, org_id: int, stream_id: int, user_id: int) -> None:
        """One like from a viewer; 429 when their bucket is empty."""
        now = time.monotonic()
        bucket = self._buckets.get((stream_id, user_id))
        if bucket is None:
            if len(self._buckets) >= BUCKETS_KEPT:
                self._buckets = {key: b for key, b in self._buckets.items() if not b.full(now)}
            bucket = self._buckets[(stream_id, user_id)] = TokenBucket(self.settings.live_likes_per_s, self.settings.live_likes_burst, now)
        if not bucket.can_pay(1, now):
            retry_after_s = max(1, math.ceil((1 - bucket.tokens) / bucket.rate))
            raise RateLimited("too many likes at once; wait {seconds} seconds", retry_after_s=retry_after_s, seconds=retry_after_s)
        bucket.pay(1)
        self.pending[stream_id] = (org_id, self.pending.get(stream_id, (org_id, 0))[1] + 1)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            keep_renewing(self._stopping, self.settings.live_likes_flush_s, self.flush, "likes"))

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def flush(self) -> None:
        """Write the likes taken since the last flush: one UPDATE per stream, then its total to everyone watching."""
        taken, self.pending = self.pending, {}
        for stream_id, (org_id, count) in taken.items():
            async with self.db.transaction(org_id=org_id) as tx:
                await tx.session.execute(update(LiveStream).where(LiveStream.id == stream_id).values(likes=LiveStream.likes + count)
                                         .execution_options(synchronize_session=False))
                total = await tx.session.scalar(select(LiveStream.likes).where(LiveStream.id == stream_id))
                if total is not None:
                    tell(tx, stream_id, "live.likes", {"likes": total})
