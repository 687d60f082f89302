"""What the retention job prunes: each part of the platform and each capability registers the tables it lets grow.

A ``Pruning`` is a name and ``batches(db, now)``: an async iterator that
deletes one bounded batch per transaction and yields how many rows went, so
no pruning holds locks for long and the job (server/retention/job.py) can
renew its lease, or stop, between batches. ``aged_rows`` is the common case:
rows whose time column is older than a period, found through an index on
that column, oldest first. Parts with their own rule (the event streams'
watermark, forms' per-organisation retention) write their own iterator.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import ColumnElement, Date, delete, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from server.db import Database

Batches = Callable[[Database, dt.datetime], AsyncIterator[int]]


@dataclass(frozen=True)
class Pruning:
    name: str  # for logs and metrics: what goes ("ended device sessions")
    batches: Batches


PRUNINGS = web.AppKey("prunings", list)


def register_pruning(app: web.Application, pruning: Pruning) -> None:
    """Have the node's retention job run ``pruning`` (from a setup, once)."""
    if PRUNINGS not in app:
        app[PRUNINGS] = []
    app[PRUNINGS].append(pruning)


def aged_rows(name: str, column: InstrumentedAttribute, keep: dt.timedelta, *, where: ColumnElement[bool] | None = None,
              batch: int) -> Pruning:
    """Delete the rows whose ``column`` is older than ``keep`` (and that ``where`` allows), ``batch`` at a time, oldest first.

    Each batch is one DELETE of the primary keys a LIMITed select picks by ``column``: an index that
    ``column`` leads makes it a range read of just those rows. A ``Date`` column counts whole days.
    """
    table = column.class_.__table__
    keys = list(table.primary_key.columns)
    whole_days = isinstance(column.type, Date)

    async def batches(db: Database, now: dt.datetime) -> AsyncIterator[int]:
        due = column < ((now - keep).date() if whole_days else now - keep)
        if where is not None:
            due = due & where
        picked = select(*keys).where(due).order_by(column).limit(batch)
        statement = delete(table).where((keys[0] if len(keys) == 1 else tuple_(*keys)).in_(picked))
        while True:
            async with db.transaction() as tx:
                gone = (await tx.session.execute(statement)).rowcount
            yield gone
            if gone < batch:
                return

    return Pruning(name, batches)
