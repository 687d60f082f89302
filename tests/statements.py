"""What a piece of code asks the database: the statements sent on one transaction's connection, for tests of cost."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event


@asynccontextmanager
async def statements_sent(db, tx) -> AsyncIterator[list[str]]:
    """The statements sent on ``tx``'s connection while the block runs (other tasks share the engine: theirs are not counted),
    in a list filled as they go."""
    statements: list[str] = []
    ours = (await tx.session.connection()).sync_connection

    def record(conn, _cursor, statement, *_args) -> None:
        if conn is ours:
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
