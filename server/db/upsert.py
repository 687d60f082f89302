"""INSERT ... ON CONFLICT for both backends, which spell it with their own dialect's insert()."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite


def insert_for(dialect: str, table):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
