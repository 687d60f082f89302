"""The migrations are the schema: after upgrading, the database matches the models exactly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import Base


async def test_migrated_schema_matches_the_models(db):
    async with db.engine.connect() as conn:
        opts = {"compare_type": False, "include_name": _modelled}
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts=opts), Base.metadata))
    assert diff == []


def _modelled(name, type_, _parent) -> bool:
    """Tables and indexes a migration creates on purpose outside the models (e.g. full-text search) are not drift."""
    return name not in Base.metadata.info.get("unmodelled", ())
