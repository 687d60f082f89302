"""The deploy samples are safe as shipped: TURN never relays into private networks, nginx sends HSTS,
and the Redis ACL user is enough for the bus and nothing else."""
from __future__ import annotations

import ipaddress
import re
import ssl

import aiohttp
import pytest

from server.gateway.redis_bus import RedisBus
from tests import services
from tests.server.gateway.test_redis_bus_auth import assert_bus_carries_a_message

DEPLOY = services.REPO / "deploy"


def turn_denied_ranges() -> list[tuple[ipaddress._BaseAddress, ipaddress._BaseAddress]]:
    lines = (DEPLOY / "coturn" / "turnserver.conf").read_text().splitlines()
    ranges = []
    for line in lines:
        if line.startswith("denied-peer-ip="):
            first, last = line.removeprefix("denied-peer-ip=").split("-")
            ranges.append((ipaddress.ip_address(first), ipaddress.ip_address(last)))
    return ranges


@pytest.mark.parametrize("address", [
    "0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "100.127.255.254", "127.0.0.1", "169.254.169.254", "172.16.0.1",
    "172.31.255.254", "192.0.0.8", "192.168.1.1", "198.18.0.1", "240.0.0.1", "255.255.255.255",
    "::", "::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "fc00::1", "fd12:3456::1",
    "fe80::1", "fec0::1", "ff02::1", "2001:db8::1", "2002:a00:1::1", "2001::1",
])
def test_turn_relays_to_no_private_link_local_cgnat_or_special_address(address):
    ip = ipaddress.ip_address(address)
    assert any(first.version == ip.version and first <= ip <= last for first, last in turn_denied_ranges())


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_turn_still_relays_to_public_addresses(address):
    ip = ipaddress.ip_address(address)
    assert not any(first.version == ip.version and first <= ip <= last for first, last in turn_denied_ranges())


def test_every_turn_denied_range_is_in_order():
    for first, last in turn_denied_ranges():
        assert first.version == last.version and first <= last, (first, last)


async def test_nginx_sends_hsts_even_on_an_error_page(tmp_path):
    unreachable_node = f"http://127.0.0.1:{services.free_port()}"
    with services.nginx_in_front(tmp_path, [unreachable_node]) as url:
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz", ssl=insecure) as resp:
            assert resp.status == 502
            hsts = resp.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts)[1]) >= 365 * 24 * 3600


@pytest.fixture
def redis_with_the_sample_acl(tmp_path):
    """A private redis-server configured with deploy/redis-muster.conf's users (its listening address replaced)."""
    users = [line for line in (DEPLOY / "redis-muster.conf").read_text().splitlines() if line.startswith("user ")]
    with services.private_redis(tmp_path, *users) as port:
        yield port


async def test_the_sample_redis_acl_user_can_run_the_bus(redis_with_the_sample_acl):
    await assert_bus_carries_a_message(RedisBus(f"redis://muster:CHANGE-ME-redis-password@127.0.0.1:{redis_with_the_sample_acl}/0", prefix="muster:"))


async def test_the_sample_redis_acl_refuses_anyone_without_the_password_and_any_key_command(redis_with_the_sample_acl):
    import redis.asyncio as redis
    from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

    anonymous = redis.from_url(f"redis://127.0.0.1:{redis_with_the_sample_acl}/0")
    muster = redis.from_url(f"redis://muster:CHANGE-ME-redis-password@127.0.0.1:{redis_with_the_sample_acl}/0")
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            await anonymous.ping()
        with pytest.raises(NoPermissionError):
            await muster.get("anything")
        with pytest.raises(NoPermissionError):
            await muster.publish("other-deployment:user-events", b"x")
    finally:
        await anonymous.aclose()
        await muster.aclose()
