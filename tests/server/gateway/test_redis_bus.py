"""The Redis bus against a real Redis: delivery between nodes, prefixes, reconnecting after a drop."""
from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis.asyncio as redis

from server.gateway.redis_bus import RedisBus
from tests import services
from tests.faults.private import PrivateRedis
from tests.server.gateway.sockets import wait_until


@pytest.fixture
def prefix() -> str:
    services.require_redis()
    return f"muster-test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def buses(prefix):
    started: list[RedisBus] = []

    async def make(bus_prefix: str = prefix) -> RedisBus:
        bus = RedisBus(services.REDIS_URL, prefix=bus_prefix)
        started.append(bus)
        return bus

    yield make
    for bus in started:
        await bus.close()


async def test_a_message_published_on_one_node_reaches_handlers_on_every_node(buses):
    node_a, node_b = await buses(), await buses()
    heard_a, heard_b = [], []
    node_a.subscribe("user-events", heard_a.append)
    node_b.subscribe("user-events", heard_b.append)
    await node_a.start()
    await node_b.start()
    await node_a.publish("user-events", b'{"n":1}')
    await node_b.publish("user-events", b'{"n":2}')
    await wait_until(lambda: len(heard_a) == len(heard_b) == 2)
    assert heard_a == heard_b == [b'{"n":1}', b'{"n":2}']


async def test_another_prefix_and_another_channel_hear_nothing(buses, prefix):
    node = await buses()
    stranger = await buses(prefix + "other:")
    heard, heard_by_stranger, heard_elsewhere = [], [], []
    node.subscribe("user-events", heard.append)
    node.subscribe("group-events", heard_elsewhere.append)
    stranger.subscribe("user-events", heard_by_stranger.append)
    await node.start()
    await stranger.start()
    await node.publish("user-events", b"mine")
    await wait_until(lambda: heard == [b"mine"])
    await asyncio.sleep(0.2)
    assert heard_by_stranger == [] and heard_elsewhere == []


async def test_unsubscribe_stops_one_handler(buses):
    node = await buses()
    first, second = [], []
    stop_first = node.subscribe("c", first.append)
    node.subscribe("c", second.append)
    await node.start()
    stop_first()
    await node.publish("c", b"x")
    await wait_until(lambda: second == [b"x"])
    assert first == []


async def test_a_channel_subscribed_after_start_is_heard(buses):
    node = await buses()
    await node.start()
    heard = []
    node.subscribe("late", heard.append)

    async def publish_until_heard() -> None:
        while not heard:
            await node.publish("late", b"hello")
            await asyncio.sleep(0.05)

    await asyncio.wait_for(publish_until_heard(), 5)
    assert heard[0] == b"hello"


async def test_after_the_connection_drops_it_reconnects_tells_listeners_and_delivers_again(buses, caplog):
    node = await buses()
    heard, reconnects = [], []
    node.subscribe("user-events", heard.append)
    node.on_reconnect(lambda: reconnects.append(True))
    await node.start()
    await node.ping()

    admin = redis.from_url(services.REDIS_URL)
    try:
        clients = await admin.client_list()
        (subscriber,) = [c for c in clients if c["name"] == node.subscriber_name]
        with caplog.at_level(logging.WARNING, logger="muster.bus"):
            await admin.client_kill_filter(_id=subscriber["id"])
            await wait_until(lambda: reconnects == [True])
        assert "connection lost" in caplog.text and "reconnected" in caplog.text

        async def publish_until_heard() -> None:
            while not heard:
                await node.publish("user-events", b"after")
                await asyncio.sleep(0.05)

        await asyncio.wait_for(publish_until_heard(), 5)
        assert heard[0] == b"after"
        await node.ping()
    finally:
        await admin.aclose()


async def test_close_stops_the_reader_and_both_connections(buses):
    node = await buses()
    node.subscribe("c", lambda payload: None)
    await node.start()
    await node.close()
    admin = redis.from_url(services.REDIS_URL)
    try:
        names = [c["name"] for c in await admin.client_list()]
    finally:
        await admin.aclose()
    assert node.subscriber_name not in names
    assert [t for t in asyncio.all_tasks() if t.get_name() == "redis-bus-reader"] == []
    with pytest.raises(ConnectionError):
        await node.ping()


async def test_redis_restarted_a_publish_meanwhile_fails_and_listeners_are_told_once_subscribed_again(tmp_path):
    """A real restart (the server gone, then back empty), not just one connection cut: while it is down a publish
    raises ``ConnectionError`` at once (no retries holding the request that published); when it is back the reader
    subscribes again by itself, and only then tells the listeners, so what they publish from there on is heard."""
    server = PrivateRedis(tmp_path)
    server.start()
    node = RedisBus(server.url, prefix="muster-test:")
    heard: list[bytes] = []
    told: list[asyncio.Task] = []
    node.subscribe("user-events", heard.append)
    node.on_reconnect(lambda: told.append(asyncio.get_running_loop().create_task(node.publish("user-events", b"after"))))
    try:
        await node.start()
        server.kill()
        with pytest.raises(ConnectionError):
            await node.publish("user-events", b"lost")
        await asyncio.sleep(1)  # long enough for the reader to try, and fail, more than once
        server.start()
        await wait_until(lambda: told, timeout=10)
        await told[0]
        await wait_until(lambda: heard == [b"after"])
        await node.ping()
    finally:
        await node.close()
        server.stop()
