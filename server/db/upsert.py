"""Bulk statements for both backends: INSERT ... ON CONFLICT in each dialect's spelling, many rows in one statement,
and the rows matching many values joined as a table (``rows_matching``); "one of these values" in a
condition is server/db/one_of.py.

Used where thousands of rows are written at once (the member import, the schools import).
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY


def insert_for(dialect: str, table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def rows_matching(tx, column, values: Collection):
    """A query of ``column``'s table's rows whose ``column`` is one of ``values`` (add the columns with ``with_only_columns``).

    Unlike ``one_of``, on PostgreSQL the values are joined as a table (``unnest``),
    so a batch of thousands against a small table (each row compared with every
    value) becomes a hash join, and against a large one index probes.
    """
    table = column.table
    if tx.dialect != "postgresql":
        return select(table).where(column.in_(list(values)))
    given = func.unnest(bindparam(None, list(values), type_=ARRAY(column.type))).table_valued("value").render_derived()
    return select(table).join(given, given.c.value == column)


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


def update_rows(tx, table, key: str, columns: dict[str, list]):
    """An UPDATE of ``table``'s rows of the transaction's organisation whose ``key`` column is each of ``columns[key]``,
    setting the other columns to their values (column name → one value per row); returns the statement and its
    executemany parameters. On PostgreSQL one statement joins the rows as unnest()ed arrays, as ``insert_rows`` does."""
    changed = [name for name in columns if name != key]
    scoped = [table.c.org_id == tx.org_id] if "org_id" in table.c else []
    if tx.dialect != "postgresql":
        statement = update(table).where(table.c[key] == bindparam(f"{key}_key"), *scoped).values({n: bindparam(f"{n}_value") for n in changed})
        rows = [dict(zip(columns, row)) for row in zip(*columns.values())]
        return statement, [{f"{key}_key": row[key]} | {f"{n}_value": row[n] for n in changed} for row in rows]
    arrays = [bindparam(f"{name}_array", values, type_=ARRAY(table.c[name].type)) for name, values in columns.items()]
    source = func.unnest(*arrays).table_valued(*columns).render_derived(name="changes")
    statement = update(table).where(table.c[key] == source.c[key], *scoped).values({n: source.c[n] for n in changed})
    return statement, None
