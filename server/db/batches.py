"""Writing a batch of imported rows all at once, or, if the database refuses the batch, one row at a time.

A batch is written in one transaction (a handful of set-based statements). If
that fails anyway (a change made meanwhile by someone else, a constraint the
checks did not foresee), the batch is written again row by row, each row in a
savepoint, so only the rows at fault fail and the rest still go in. Each row
stays all or nothing. Used by the member import and the schools import.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from server.db import Database, Transaction

log = logging.getLogger(__name__)

Row = TypeVar("Row")
Result = TypeVar("Result")


async def write_or_split(
    db: Database, org_id: int, rows: Sequence[Row], write: Callable[[Transaction, Sequence[Row]], Awaitable[Result]],
) -> tuple[list[Result], list[tuple[Row, str]]]:
    """``write(tx, rows)`` in one transaction; if the database refuses, ``write(tx, [row])`` for each row in a savepoint.
    Returns what the writes returned and the rows refused, each with the database's reason."""
    try:
        async with db.transaction(org_id=org_id) as tx:
            return [await write(tx, rows)], []
    except DBAPIError as e:
        log.info("import batch of %d rows failed (%s); writing it row by row", len(rows), type(e.orig).__name__)
    results: list[Result] = []
    refused: list[tuple[Row, str]] = []
    async with db.transaction(org_id=org_id) as tx:
        for row in rows:
            try:
                async with tx.session.begin_nested():
                    results.append(await write(tx, [row]))
            except DBAPIError as e:
                refused.append((row, database_refusal(e)))
    return results, refused


def database_refusal(e: DBAPIError) -> str:
    first_line = str(e.orig).strip().splitlines()[0][:200] if str(e.orig).strip() else type(e.orig).__name__
    return f"the database refused this row: {first_line}"
