"""/metrics with MUSTER_METRICS_TOKEN: the token lets a scraper in from anywhere, and nothing else does."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.config import Settings

TOKEN = "a-long-random-metrics-token-0123456789"
PROXIED = {"X-Forwarded-For": "203.0.113.9"}  # a caller outside, through the trusted proxy


@pytest.fixture
async def metrics_client(database_url, tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key", trusted_proxies="127.0.0.1", metrics_token=TOKEN
    )
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        yield client


async def test_the_metrics_token_lets_a_proxied_scraper_read_metrics(metrics_client, backend):
    resp = await metrics_client.get("/metrics", headers=PROXIED | {"Authorization": f"Bearer {TOKEN}"})

    assert resp.status == 200
    assert "muster_http_request_seconds" in await resp.text()


@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", "Bearer mst_not-a-session"])
async def test_metrics_without_the_right_token_are_forbidden_even_from_loopback(metrics_client, backend, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}

    resp = await metrics_client.get("/metrics", headers=headers)

    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
