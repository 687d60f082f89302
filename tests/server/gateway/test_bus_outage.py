"""When the Redis connection drops, events announced meanwhile are lost on the bus; the hub
re-reads them from the database for every socket once the bus is back."""
from __future__ import annotations

import uuid

import pytest
import redis.asyncio as redis

from server.appkeys import BUS
from server.config import Settings
from server.db import Database
from tests import services
from tests.factories import person
from tests.server.gateway.sockets import connect, emit_to, token_of


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    services.require_redis()
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        redis_url=services.REDIS_URL,
        redis_prefix=f"muster-test-{uuid.uuid4().hex[:10]}:",
    )


async def test_events_missed_while_the_bus_was_down_arrive_after_it_reconnects(client, db, app, settings):
    alice = await person(client, db)
    device = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(alice.headers))
    await device.until_ready()
    await emit_to(db, [alice.id], "test.n", {"n": 1})
    assert [e["seq"] for e in await device.events(1)] == [1]

    # Stored while "the bus was down": no message will ever announce these two.
    silent = Database(settings.database_url)
    try:
        await emit_to(silent, [alice.id], "test.n", {"n": 2})
        await emit_to(silent, [alice.id], "test.n", {"n": 3})
    finally:
        await silent.close()
    admin = redis.from_url(services.REDIS_URL)
    try:
        (subscriber,) = [c for c in await admin.client_list() if c["name"] == app[BUS].subscriber_name]
        await admin.client_kill_filter(_id=subscriber["id"])
    finally:
        await admin.aclose()

    events = await device.events(2)
    assert [(e["seq"], e["data"]["n"]) for e in events] == [(2, 2), (3, 3)]
    await emit_to(db, [alice.id], "test.n", {"n": 4})
    assert [e["seq"] for e in await device.events(1)] == [4]
