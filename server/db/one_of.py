""""This column is one of these many values", cheaply on both backends.

On PostgreSQL a list of values is one array parameter
(``IN (SELECT unnest(:values))``): an ``IN`` of 5,000 literal parameters cost
SQLAlchemy tens of milliseconds to render and PostgreSQL to plan, per chunk.
Not ``= ANY(:values)``: once a pooled connection has run the statement five
times PostgreSQL may keep a generic plan, and there ``= ANY`` of a parameter
that is not an index condition is a linear search of the array for every row
(10,000 named members of an organisation the statistics do not know yet:
0.28 s instead of 0.02 s, growing with the square); the ``unnest`` is a hash
or index join under any plan. SQLite takes ``IN`` lists of 5,000.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from server.db import Transaction

CHUNK = 5000
T = TypeVar("T")


def one_of(tx: Transaction, column, values: Sequence) -> list[ColumnElement[bool]]:
    """Conditions that together say ``column`` is one of ``values`` (run one statement per condition and combine
    the results): one ``IN (SELECT unnest(array))`` on PostgreSQL, an ``IN`` per chunk of 5,000 on SQLite; none for no values."""
    if not values:
        return []
    if tx.dialect == "postgresql":
        return [column.in_(select(func.unnest(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))))]
    return [column.in_(chunk) for chunk in chunks(values)]


async def rows_where_one_of(tx: Transaction, statement: Select, column, values: Sequence) -> list[Row]:
    """The rows of ``statement`` whose ``column`` is one of ``values``: one statement per condition of ``one_of``."""
    rows: list[Row] = []
    for condition in one_of(tx, column, values):
        rows += await tx.session.execute(statement.where(condition))
    return rows


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` a chunk at a time, for statements whose parameters must stay bounded."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
