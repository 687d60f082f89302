"""Lists read a page at a time, by key: the one way every long list of the API pages.

A page is ``WHERE key > :after ORDER BY key LIMIT n + 1``: the database starts
at ``after`` in the key's index instead of counting past an offset, so page
900 of 480,000 people costs what page 1 costs, and rows added or removed
meanwhile shift nothing. The extra row says whether there is a next page; the
cursor handed back is the key of the last row shown.

``keyset_page`` pages any select. ``who_has`` is the "who has / who has not"
list (read a message, opened an announcement, confirmed a notice, filled in
today's form): among a population, the counts of those for whom a condition
holds and of those for whom it does not, and one page of either (or of all).

A key is one column (``GroupMember.user_id``) or several
(``(Membership.name_sort_key, Membership.id)``), compared as a row value;
the last column must make the key unique. ``descending`` pages from the
largest key down (the audit log, newest first).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, case, func, not_, tuple_
from sqlalchemy.sql.elements import ColumnElement

from server.db import Transaction

T = TypeVar("T")
State = Literal["done", "not_done", "all"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: ``rows`` as the select names them (a select of one column or entity gives those values, else tuples),
    and ``next_after``, the key of the last row (a tuple for a key of several columns), or None on the last page."""

    rows: list[T]
    next_after: Any | None


@dataclass(frozen=True)
class WhoHasPage(Page[T]):
    """A page of a "who has / who has not" list, with both counts over the whole population."""

    done_count: int = 0
    not_done_count: int = 0


def after_key(key: ColumnElement | Sequence[ColumnElement], after: Any | None, *, descending: bool = False) -> ColumnElement | None:
    """The condition "past ``after``" on ``key`` (None when ``after`` is None: the first page)."""
    if after is None:
        return None
    columns = _columns(key)
    if len(columns) == 1:
        (column,) = columns
        value = after[0] if isinstance(after, (tuple, list)) else after
        return column < value if descending else column > value
    if not isinstance(after, (tuple, list)) or len(after) != len(columns):
        raise ValueError(f"a cursor of {len(columns)} values is needed for this key")
    row, at = tuple_(*columns), tuple_(*after)
    return row < at if descending else row > at


async def keyset_page(
    tx: Transaction,
    statement: Select,
    key: ColumnElement | Sequence[ColumnElement],
    *,
    after: Any | None,
    limit: int,
    descending: bool = False,
) -> Page:
    """One page of ``statement`` (a select with no ORDER BY or LIMIT of its own) ordered by ``key``, after ``after``.

    The key columns are selected alongside unless the statement selects them
    already, so the cursor comes from the rows read. A statement of table
    columns (Core, not ORM entities) is read as plain rows, a tuple each: the
    cheap way to read many (an export reads 480,000).
    """
    columns = _columns(key)
    width = len(statement.column_descriptions)
    at = [_position(statement, c) for c in columns] if len(statement.selected_columns) == width else [None]
    past = after_key(columns, after, descending=descending)
    if past is not None:
        statement = statement.where(past)
    added = None in at
    if added:
        statement = statement.add_columns(*(c.label(f"keyset_{i}") for i, c in enumerate(columns)))
        at = list(range(width, width + len(columns)))
    ordered = statement.order_by(*(c.desc() if descending else c.asc() for c in columns)).limit(limit + 1)
    read = (await tx.session.execute(ordered)).all()
    shown = read[:limit]
    if width == 1:
        rows = [row[0] for row in shown]
    elif added:
        rows = [tuple(row[:width]) for row in shown]
    else:
        rows = [tuple(row) for row in shown]
    next_after = None
    if len(read) > limit:
        last = tuple(shown[-1][i] for i in at)
        next_after = last[0] if len(columns) == 1 else last
    return Page(rows, next_after)


async def who_has_counts(tx: Transaction, population: Select, done: ColumnElement) -> tuple[int, int]:
    """(done, not done) among ``population`` in one query; ``done`` must never be NULL (a comparison of
    non-null columns, an ``exists()``)."""
    counting = population.with_only_columns(func.count(case((done, 1))), func.count(case((not_(done), 1))), maintain_column_froms=True)
    done_count, not_done_count = (await tx.session.execute(counting.order_by(None))).one()
    return done_count, not_done_count


async def who_has(
    tx: Transaction,
    population: Select,
    done: ColumnElement,
    key: ColumnElement | Sequence[ColumnElement],
    *,
    state: State,
    after: Any | None,
    limit: int,
    listed: Callable[[Select], Select] | None = None,
) -> WhoHasPage:
    """Among ``population`` (a select of the people, by the table that holds them), both counts and one page of
    those with ``state``: "done" (``done`` holds), "not_done", or "all". ``listed``, if given, turns the page's
    select into what to show of each (names joined from other tables), so that counting reads the population alone."""
    done_count, not_done_count = await who_has_counts(tx, population, done)
    chosen = {"done": population.where(done), "not_done": population.where(not_(done)), "all": population}[state]
    page = await keyset_page(tx, listed(chosen) if listed else chosen, key, after=after, limit=limit)
    return WhoHasPage(page.rows, page.next_after, done_count=done_count, not_done_count=not_done_count)


def _columns(key: ColumnElement | Sequence[ColumnElement]) -> list[ColumnElement]:
    return list(key) if isinstance(key, (tuple, list)) else [key]


def _position(statement: Select, column: ColumnElement) -> int | None:
    """Where ``statement`` selects ``column`` itself (not an expression of it), or None."""
    for i, selected in enumerate(statement.selected_columns):
        if selected is column or (getattr(column, "__clause_element__", None) and selected is column.__clause_element__()):
            return i
    return None
