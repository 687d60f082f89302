"""Redis between hosts: the bus authenticates with the URL's password or ACL user and speaks TLS with rediss://."""
from __future__ import annotations

import uuid

import pytest
import redis.asyncio as redis
from redis.asyncio.connection import SSLConnection
from redis.exceptions import AuthenticationError, ResponseError

from server.gateway.redis_bus import RedisBus
from tests import services
from tests.server.gateway.sockets import wait_until

PASSWORD = "a-redis-password-" + uuid.uuid4().hex


def test_a_rediss_url_gives_a_tls_client_with_the_acl_user_and_ca():
    bus = RedisBus("rediss://muster:s3cret@redis.internal:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/etc/muster/tls/ca.pem")

    pool = bus.client().connection_pool

    assert pool.connection_class is SSLConnection
    options = pool.connection_kwargs
    assert (options["username"], options["password"], options["host"], options["port"]) == ("muster", "s3cret", "redis.internal", 6380)
    assert (options["ssl_cert_reqs"], options["ssl_ca_certs"]) == ("required", "/etc/muster/tls/ca.pem")


@pytest.fixture
def redis_with_password(tmp_path):
    """A private redis-server on a free port that demands a password; stopped after the test."""
    with services.private_redis(tmp_path, f"requirepass {PASSWORD}") as port:
        yield port


async def test_the_bus_works_through_a_redis_that_requires_a_password(redis_with_password):
    await assert_bus_carries_a_message(RedisBus(f"redis://:{PASSWORD}@127.0.0.1:{redis_with_password}/0", prefix="muster-test:"))


async def assert_bus_carries_a_message(bus: RedisBus) -> None:
    """The bus starts, answers a ping, and a message it publishes comes back to its own subscriber."""
    heard = []
    bus.subscribe("user-events", heard.append)
    try:
        await bus.start()
        await bus.ping()
        await bus.publish("user-events", b'{"n":1}')
        await wait_until(lambda: heard == [b'{"n":1}'])
    finally:
        await bus.close()


@pytest.mark.parametrize("credentials", ["", ":wrong-password@"])
async def test_the_bus_does_not_start_without_the_right_password(redis_with_password, credentials):
    bus = RedisBus(f"redis://{credentials}127.0.0.1:{redis_with_password}/0")
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            await bus.start()
    finally:
        await bus.close()


async def test_a_client_without_the_password_is_refused(redis_with_password):
    anonymous = redis.from_url(f"redis://127.0.0.1:{redis_with_password}/0")
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            await anonymous.publish("x", b"y")
    finally:
        await anonymous.aclose()
