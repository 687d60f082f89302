""""This column is one of these many values", cheaply on both backends.

On PostgreSQL a list of values is ``= ANY`` of one array: a long list of
integers is written into the statement as one array constant, a short list
(or one of text) is a parameter. Each alternative costs more under some plan
PostgreSQL can pick from what it guesses:

* ``IN`` of 5,000 literal parameters: tens of milliseconds for SQLAlchemy to
  render and PostgreSQL to plan, per chunk;
* ``= ANY(:values)``, a long array as a parameter: under the generic plan a
  pooled connection may keep after five runs, a filter of it is a linear
  search of the array for every row (10,000 named members: 0.3-5 s);
* ``IN (SELECT unnest(:values))``: PostgreSQL makes the values distinct first
  and guesses 200 of them; when it also guesses the table holds a row or two
  for the organisation (never analysed, or an organisation newer than the
  last ANALYZE) it loops over those rows and searches every value for each,
  50 million comparisons for 10,000 (3.5-7 s in bench/urgent.py on a fresh
  database: tests/notify/test_recipients_cost.py).

An array constant has none of these: whatever the plan, ``= ANY`` of a
constant is an index condition or a hashed filter, linear in the values. Its
statement text is new for each list, so it is kept for lists long enough that
one more prepare costs nothing beside the query. Text values keep the
``unnest`` (no constant is written from text). SQLite takes ``IN`` lists of 5,000.
"""
from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Integer, Row, Select, any_, bindparam, false, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import UserDefinedType

from server.db import Transaction

CHUNK = 5000
CONSTANT_FROM = 64  # integers from which a list is written into the statement (see above)
T = TypeVar("T")


def one_of(tx: Transaction, column, values: Sequence) -> list[ColumnElement[bool]]:
    """Conditions that together say ``column`` is one of ``values`` (run one statement per condition and combine
    the results): one ``= ANY`` of an array on PostgreSQL (see above), an ``IN`` per chunk of 5,000 on SQLite; none for no values."""
    if not values:
        return []
    if tx.dialect == "postgresql":
        if len(values) < CONSTANT_FROM:
            return [column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))]
        if isinstance(column.type, Integer):  # rendered at execution (literal_execute): the statement still compiles once
            return [column == any_(bindparam(None, list(values), type_=_IntegersConstant(), literal_execute=True))]
        return [column.in_(select(func.unnest(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))))]
    return [column.in_(chunk) for chunk in chunks(values)]


class _IntegersConstant(UserDefinedType):
    """A list of integers written into the statement as one array constant, ``'{1,2,3}'::BIGINT[]`` (parsed at once by
    PostgreSQL; ``ARRAY[1, 2, 3]``, SQLAlchemy's own rendering, costs it ~0.3 s at 10,000). Only ints go in."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "BIGINT[]"

    def literal_processor(self, dialect):
        return lambda values: "'{" + ",".join(str(int(v)) for v in values) + "}'::BIGINT[]"


def batch_one_of(tx: Transaction, column, values: Collection) -> ColumnElement[bool]:
    """The one condition that says ``column`` is one of a batch's ``values`` (at most ``CHUNK`` of them, as the bulk
    writers of imports hold); false for none."""
    conditions = one_of(tx, column, list(values))
    assert len(conditions) <= 1, "a batch holds at most CHUNK values"
    return conditions[0] if conditions else false()


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
