"""Keeping PostgreSQL's planner statistics for the tables an import grows up to date while it grows them.

A table that was never analyzed (a fresh database; autovacuum not yet round, or
off) is planned as if it were nearly empty, and the plan sticks: the per-batch
lookups by email ran as sequential scans that each compared every account
against the batch's 1,000 addresses, so a 100,000-row import slowed down batch
after batch (1 s per batch by the end). The planner scales what ANALYZE saw by
the table's current size, so statistics only need refreshing when the table has
changed shape a lot: here, whenever this import has at least doubled the rows the
tables held when last analyzed. A large, analyzed table is never touched.
"""
from __future__ import annotations

from sqlalchemy import text

from server.db import Database

TABLES = ("users", "memberships")


class TableStatistics:
    """For one import run; ``tables`` are the tables it grows (the member import's by default)."""

    def __init__(self, db: Database, tables: tuple[str, ...] = TABLES):
        self._db = db
        self._tables = tables
        self._known_rows: float | None = None  # rows at the last ANALYZE, of the smallest of the tables
        self._created_since = 0

    async def rows_created(self, count: int) -> None:
        """Note ``count`` new rows in each table; ANALYZE them once they have doubled."""
        if self._db.dialect != "postgresql" or count == 0:
            return
        if self._known_rows is None:
            self._known_rows = await self._analyzed_rows()
        self._created_since += count
        if self._created_since <= self._known_rows:
            return
        async with self._db.transaction() as tx:
            # Only the tables' owner may ANALYZE; anyone else gets a warning, not an error.
            await tx.session.execute(text(f"ANALYZE {', '.join(self._tables)}"))
        self._known_rows += self._created_since
        self._created_since = 0

    async def _analyzed_rows(self) -> float:
        async with self._db.transaction() as tx:
            tables = ", ".join(f"'{table}'::regclass" for table in self._tables)
            counts = await tx.session.scalars(text(f"SELECT greatest(reltuples, 0) FROM pg_class WHERE oid IN ({tables})"))
            return min(counts.all())
