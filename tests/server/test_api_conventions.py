"""The JSON API's conventions: one error shape, 4xx for bad input, OpenAPI, health."""
from __future__ import annotations

from tests.factories import make_user, person


async def test_malformed_json_is_a_400_that_says_so(client):
    resp = await client.post("/api/v1/auth/login", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["code"] == "malformed_json"
    assert "not valid JSON" in body["error"]["message"]


async def test_unknown_field_is_named_in_the_error(client):
    resp = await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x", "colour": "red"})
    assert resp.status == 400
    assert (await resp.json())["error"] == {"code": "invalid", "message": "unknown field 'colour'", "field": "colour"}


async def test_wrong_type_names_the_field(client):
    resp = await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": 12})
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "password"


async def test_body_over_the_limit_is_413(client, app):
    from server.appkeys import SETTINGS

    big = b'{"email": "' + b"a" * (app[SETTINGS].max_body_bytes + 10) + b'"}'
    resp = await client.post("/api/v1/auth/login", data=big, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "too_large"


async def test_unknown_route_is_a_json_404(client):
    resp = await client.get("/api/v1/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_protected_route_without_token_is_401(client):
    resp = await client.get("/api/v1/me")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "unauthenticated"


async def test_garbage_token_is_401(client):
    resp = await client.get("/api/v1/me", headers={"Authorization": "Bearer mst_notatoken"})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "session_invalid"


async def test_sign_in_then_me(client, db):
    alice = await person(client, db, "Alice")
    resp = await client.get("/api/v1/me", headers=alice.headers)
    assert resp.status == 200
    assert (await resp.json())["name"] == "Alice"


async def test_wrong_password_is_401_and_does_not_say_which_part_was_wrong(client, db):
    user = await make_user(db)
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong password"})
    missing = await client.post("/api/v1/auth/login", json={"email": "nobody@example.org", "password": "wrong password"})
    assert resp.status == missing.status == 401
    assert (await resp.json())["error"]["message"] == (await missing.json())["error"]["message"]


async def test_openapi_lists_endpoints_with_their_schemas(client):
    resp = await client.get("/api/openapi.json")
    doc = await resp.json()
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LoginIn"}
    assert "password" in doc["components"]["schemas"]["LoginIn"]["properties"]
    assert "security" in doc["paths"]["/api/v1/me"]["get"]


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"]["database"] == "ok"


async def test_metrics_are_prometheus_text_for_loopback(client):
    await client.get("/healthz")
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert "muster_http_request_seconds" in await resp.text()
