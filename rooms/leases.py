"""A node's leases on what lives on it (the meetings it hosts, the streams it ingests), renewed until it stops.

Another node takes a meeting or a stream over only once its lease has run out,
so a node renews its leases every third of the lease's length while it runs.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("muster.rooms")


async def keep_renewing(stopping: asyncio.Event, period_s: float, renew: Callable[[], Awaitable[None]], what: str) -> None:
    """Call ``renew`` every ``period_s`` until ``stopping`` is set; a failed renewal is logged and tried again next time."""
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), period_s)
        except TimeoutError:
            pass
        if not stopping.is_set():
            try:
                await renew()
            except Exception:
                log.exception("renewing this node's leases on %s failed", what)
