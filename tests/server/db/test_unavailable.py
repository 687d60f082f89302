"""A request that cannot reach PostgreSQL is answered 503 with Retry-After and a JSON message (server/db/unavailable.py),
never a 500; a device's hello is closed with 1013, "try again later"."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from server.app import create_app
from server.config import Settings
from server.db import Database
from server.gateway.frames import CLOSE_TRY_AGAIN
from tests import services
from tests.server.gateway.sockets import connect


@pytest.fixture
async def client(tmp_path):
    """A node whose PostgreSQL is a port nothing listens on: every connection is refused."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{services.free_port()}/muster"
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=url, secret_key="test-secret-key"))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_a_request_when_postgresql_refuses_connections_is_answered_503_with_retry_after(client):
    resp = await client.get("/api/v1/me", headers={"Authorization": "Bearer mst_whatever", "Accept-Language": "zh-CN"})
    assert resp.status == 503
    assert resp.headers["Retry-After"].isdigit()
    error = (await resp.json())["error"]
    assert error["code"] == "unavailable" and error["message"] == "暂时无法连接数据库，请几秒钟后重试"


async def test_a_device_saying_hello_when_postgresql_refuses_connections_is_told_to_try_again(client):
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), "mst_whatever")
    assert await device.closed_with() == CLOSE_TRY_AGAIN


async def test_readiness_says_the_database_is_unavailable(client):
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["checks"]["database"] == "error: Unavailable"


async def test_a_statement_cancelled_on_postgresql_stays_cancelled(postgres_url):
    """A task cancelled under a statement (a node stopping its workers) ends cancelled: were it told "unavailable",
    a worker would log it, go round again, and the node's shutdown would wait for it for ever."""
    db = Database(postgres_url)
    try:
        async def sleep_in_the_database():
            async with db.transaction() as tx:
                await tx.session.execute(text("SELECT pg_sleep(10)"))

        task = asyncio.create_task(sleep_in_the_database())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    finally:
        await db.close()
