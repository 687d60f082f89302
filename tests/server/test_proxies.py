"""X-Forwarded-For is believed only from the proxies named in MUSTER_TRUSTED_PROXIES."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.proxies import client_address, forwarded_middleware, parse_networks

NGINX = parse_networks("127.0.0.1, 10.0.0.0/8")


def test_the_first_address_not_added_by_a_trusted_proxy_is_the_client():
    assert client_address("127.0.0.1", "203.0.113.9", NGINX) == "203.0.113.9"
    # A client-written entry left of the real one is ignored; internal hops right of it are skipped.
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", NGINX) == "203.0.113.9"


def test_an_untrusted_peer_or_an_unreadable_header_keeps_the_peer():
    assert client_address("198.51.100.7", "203.0.113.9", NGINX) is None
    assert client_address("127.0.0.1", "203.0.113.9, not-an-ip", NGINX) is None
    assert client_address("127.0.0.1", "", NGINX) is None


def test_a_bad_setting_names_the_entry():
    with pytest.raises(ValueError, match="'nginx.local'"):
        parse_networks("127.0.0.1, nginx.local")


async def remote_seen(trusted: str, headers: dict[str, str]) -> tuple[str, str]:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"remote": request.remote, "scheme": request.scheme})

    app = web.Application(middlewares=[forwarded_middleware(trusted)])
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        body = await (await client.get("/", headers=headers)).json()
    return body["remote"], body["scheme"]


async def test_requests_through_a_trusted_proxy_see_the_client_and_scheme():
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert await remote_seen("127.0.0.1", headers) == ("203.0.113.9", "https")
    assert await remote_seen("10.0.0.0/8", headers) == ("127.0.0.1", "http")


async def test_metrics_are_not_loopback_when_the_caller_is_behind_the_proxy(tmp_path):
    from server.app import create_app
    from server.config import Settings

    settings = Settings(data_dir=tmp_path, secret_key="k", trusted_proxies="127.0.0.1")
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        assert (await client.get("/metrics")).status == 200
        assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status == 403
