"""Receipts sent over the device WebSocket: ``{"type": "broadcast.receipt", "broadcast_id", "state", "ref"}``.

When a broadcast reaches 10,000 devices, 10,000 "delivered" frames arrive
within a second. They are gathered for ``window_s`` and stored with one
UPDATE per (broadcast, state), not one transaction each. The device gets
``{"type": "broadcast.receipt.saved", "ref"}`` once its receipt is committed,
so a receipt is never acknowledged and then lost; a device that gets no
answer sends it again (receipts are idempotent: states only move forward).
Only a recipient still in the broadcast's organisation is answered "saved";
anyone else (removed since, of another organisation, a guest) gets an error
frame, as if the broadcast did not exist: one SELECT per window and state.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from notify.broadcasts import current_recipients, do_advance, do_store_recipients
from notify.models import STAGES
from server.db import Database
from server.errors import InvalidInput, NotFound
from server.gateway.frames import encode_frame
from server.gateway.hub import Connection

log = logging.getLogger("muster.notify")


class ReceiptBatcher:
    def __init__(self, db: Database, *, window_s: float = 0.02) -> None:
        self._db = db
        self._window_s = window_s
        self._pending: dict[tuple[int, str], list[tuple[int, asyncio.Future]]] = defaultdict(list)
        self._flush_task: asyncio.Task | None = None
        self._flushing: set[asyncio.Task] = set()

    async def record(self, broadcast_id: int, user_id: int, state: str) -> None:
        """Returns once the receipt is committed (together with the others of its window)."""
        done = asyncio.get_running_loop().create_future()
        self._pending[(broadcast_id, state)].append((user_id, done))
        if self._flush_task is None:
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())
            self._flushing.add(self._flush_task)
            self._flush_task.add_done_callback(self._flushing.discard)
        await done

    async def close(self) -> None:
        """Store the window in progress before the node stops, rather than leave its transaction half done."""
        await asyncio.gather(*self._flushing, return_exceptions=True)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._window_s)
        pending, self._pending, self._flush_task = self._pending, defaultdict(list), None
        allowed: set[tuple[int, int]] = set()
        try:
            async with self._db.transaction() as tx:
                for (broadcast_id, state), waiting in pending.items():
                    await do_store_recipients(tx, broadcast_id)
                    users = await current_recipients(tx, broadcast_id, sorted({user_id for user_id, _ in waiting}))
                    allowed.update((broadcast_id, user_id) for user_id in users)
                    await do_advance(tx, broadcast_id, users, state)
        except Exception as e:
            log.exception("storing %d receipts failed", sum(len(w) for w in pending.values()))
            _settle(pending, lambda _key, _user_id, error=e: error)
            return
        _settle(pending, lambda key, user_id: None if (key[0], user_id) in allowed else NotFound("no such broadcast", field="broadcast_id"))

    async def on_frame(self, connection: Connection, message: dict[str, Any]) -> None:
        """The hub's handler of ``broadcast.receipt`` frames. Only the sender's own receipt can change."""
        broadcast_id, state = message.get("broadcast_id"), message.get("state")
        if not isinstance(broadcast_id, int) or not 0 < broadcast_id < 2**63:
            raise InvalidInput("broadcast_id: a positive integer", field="broadcast_id")
        if state not in STAGES[1:]:
            raise InvalidInput("state: one of delivered, read, confirmed", field="state")
        await self.record(broadcast_id, connection.user_id, state)
        connection.send(encode_frame({"type": "broadcast.receipt.saved", "broadcast_id": broadcast_id, "state": state, "ref": message.get("ref")}))


def _settle(pending: dict, error_of: Callable[[tuple[int, str], int], Exception | None]) -> None:
    for key, waiting in pending.items():
        for user_id, done in waiting:
            if done.done():
                continue
            error = error_of(key, user_id)
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)
