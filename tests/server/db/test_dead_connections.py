"""Pooled PostgreSQL connections are not pinged on every checkout: one that sat idle is, and one that died while busy
fails its transaction with ``Unavailable`` (a 503) and takes the pool's older connections out with it, so the next
transactions connect afresh."""
from __future__ import annotations

import pytest
from sqlalchemy import text

import server.db
from server.db import Database
from server.errors import Unavailable


async def _backend_pids(db: Database, n: int) -> set[int]:
    """Check out ``n`` connections at once and return their backends' pids (they go back to the pool idle)."""
    async with db.engine.connect() as first:
        pids = {await first.scalar(text("SELECT pg_backend_pid()"))}
        if n > 1:
            pids |= await _backend_pids(db, n - 1)
    return pids


async def _terminate(url: str, pids: set[int]) -> None:
    other = Database(url)
    try:
        async with other.transaction() as tx:
            await tx.session.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"), {"pids": sorted(pids)})
    finally:
        await other.close()


@pytest.fixture
async def pg(postgres_url):
    db = Database(postgres_url)
    yield db
    await db.close()


async def test_a_connection_that_died_while_idle_is_replaced_before_use(pg, postgres_url, monkeypatch):
    killed = await _backend_pids(pg, 3)
    await _terminate(postgres_url, killed)
    monkeypatch.setattr(server.db, "IDLE_PING_S", 0.0)  # they have been idle "long enough"
    for _ in range(3):
        async with pg.transaction() as tx:
            pid = await tx.session.scalar(text("SELECT pg_backend_pid()"))
        assert pid not in killed


async def test_a_busy_connection_is_not_pinged_and_one_that_died_fails_once_then_the_pool_recovers(pg, postgres_url, monkeypatch):
    monkeypatch.setattr(server.db, "IDLE_PING_S", 3600.0)  # never idle long enough: no ping
    killed = await _backend_pids(pg, 3)
    await _terminate(postgres_url, killed)
    with pytest.raises(Unavailable):
        async with pg.transaction() as tx:
            await tx.session.execute(text("SELECT 1"))
    for _ in range(3):  # the disconnect invalidated every connection checked out before it: all are new
        async with pg.transaction() as tx:
            pid = await tx.session.scalar(text("SELECT pg_backend_pid()"))
        assert pid not in killed
