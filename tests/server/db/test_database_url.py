"""PostgreSQL on another host: the URL's password and ``ssl`` mode reach asyncpg unchanged."""
from __future__ import annotations

import pytest

from server.db import Database


@pytest.mark.parametrize("mode", ["require", "verify-full"])
async def test_a_postgresql_url_with_a_password_and_ssl_mode_reaches_asyncpg(mode):
    db = Database(f"postgresql+asyncpg://muster:s%40cret@db.internal:5432/muster?ssl={mode}")
    try:
        _, options = db.engine.dialect.create_connect_args(db.engine.url)
    finally:
        await db.close()

    assert options["user"] == "muster" and options["password"] == "s@cret"
    assert (options["host"], options["port"], options["database"]) == ("db.internal", 5432, "muster")
    assert options["ssl"] == mode
