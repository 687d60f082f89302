"""The migrations are the schema: after upgrading, the database matches the models exactly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import Base


async def test_migrated_schema_matches_the_models(db):
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata))
    assert diff == []
