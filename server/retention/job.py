"""The retention job: every registered pruning (server/retention/registry.py), on one node at a time, on a schedule.

Each node wakes every ``MUSTER_RETENTION_EVERY_S`` (0: never on this node)
and tries to take the job's lease (server/leases.py); the node that gets it
runs every pruning to the end, one bounded batch per transaction, renewing
the lease after each batch and sleeping ``MUSTER_RETENTION_PAUSE_MS`` between
batches so the database's other work is not queued behind a long purge. A
pruning that fails is logged and the others still run; what it left is
deleted on the next pass.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence

from aiohttp import web

from server.appkeys import DB, SETTINGS
from server.config import Settings
from server.db import Database, utcnow
from server.leases import do_release_lease, do_take_lease
from server.retention.registry import PRUNINGS, Pruning

log = logging.getLogger("muster.retention")

JOB = "retention"
LEASE_S = 120.0  # a node that dies mid-pass hands the job over this long after its last batch


async def do_prune(db: Database, prunings: Sequence[Pruning], *, node: str, pause_s: float = 0.0) -> dict[str, int] | None:
    """One pass of every pruning under the job's lease: rows deleted per pruning, or None if another node holds the job."""
    if not await do_take_lease(db, JOB, node, LEASE_S):
        return None
    deleted: dict[str, int] = {}
    now = utcnow()
    try:
        for pruning in prunings:
            deleted[pruning.name] = 0
            try:
                async for gone in pruning.batches(db, now):
                    deleted[pruning.name] += gone
                    if not await do_take_lease(db, JOB, node, LEASE_S):
                        log.warning("retention: the lease passed to another node during %s; stopping", pruning.name)
                        return deleted
                    if pause_s:
                        await asyncio.sleep(pause_s)
            except Exception:
                log.exception("retention: pruning %s failed; the rest is left to the next pass", pruning.name)
            if deleted[pruning.name]:
                log.info("retention: %s: %d rows deleted", pruning.name, deleted[pruning.name])
    finally:
        with contextlib.suppress(Exception):
            await do_release_lease(db, JOB, node)
    return deleted


async def _prune_forever(app: web.Application) -> None:
    settings: Settings = app[SETTINGS]
    while True:
        # A period after start, not at once: nodes restarted one by one do not each take a pass; jitter spreads the asks.
        await asyncio.sleep(settings.retention_every_s * random.uniform(0.9, 1.1))
        try:
            await do_prune(app[DB], app.get(PRUNINGS, []), node=settings.node_name, pause_s=settings.retention_pause_ms / 1000)
        except Exception:  # the database is away: try again next time
            log.exception("retention: the pass failed")


async def _running(app: web.Application):
    task = asyncio.get_running_loop().create_task(_prune_forever(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    """Run the job on this node (after every part registered its prunings: they are read when the job runs)."""
    if app[SETTINGS].retention_every_s > 0:
        app.cleanup_ctx.append(_running)
