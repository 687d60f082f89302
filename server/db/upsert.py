"""Bulk statements for both backends: INSERT ... ON CONFLICT in each dialect's spelling, many rows in one statement,
and "one of these values" that PostgreSQL receives as one array.

Used where thousands of rows are written at once (the member import, the schools import).
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import any_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY


def insert_for(dialect: str, table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def one_of(tx, column, values: Collection):
    """``column`` equals one of ``values``: on PostgreSQL one array parameter (``= ANY``), so the
    statement is the same whatever the batch's length and is not re-rendered with 1,000 parameters."""
    if tx.dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(tx, table, columns: dict[str, list], constants: dict):
    """An INSERT into ``table`` of the rows ``columns`` holds (column name → one value per row),
    each also given ``constants``; returns the statement and its executemany parameters.

    On PostgreSQL the rows travel as one array per column, unnest()ed server
    side in their order: one statement with a dozen parameters, instead of
    SQLAlchemy rendering and binding ten parameters a row. The statement is the
    dialect's insert, so ``on_conflict_do_*`` and ``returning`` apply to it.
    """
    statement = insert_for(tx.dialect, table)
    constant_values = {name: bindparam(name, value, type_=table.c[name].type) for name, value in constants.items()}
    if tx.dialect != "postgresql":
        return statement.values(constant_values), [dict(zip(columns, row)) for row in zip(*columns.values())]
    arrays = [bindparam(f"{name}_array", values, type_=ARRAY(table.c[name].type)) for name, values in columns.items()]
    source = func.unnest(*arrays).table_valued(*columns, with_ordinality="position").render_derived()
    rows = select(*(source.c[name] for name in columns), *constant_values.values()).order_by(source.c.position)
    return statement.from_select([*columns, *constants], rows), None
