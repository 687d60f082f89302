"""The JSON API's conventions: one error shape, 4xx for bad input, OpenAPI, health."""
from __future__ import annotations

from tests.factories import make_org, make_user, person


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


async def test_text_with_a_nul_character_is_a_400_in_a_body_and_in_a_query(client, db):
    """PostgreSQL cannot store NUL and SQLite's full-text search cuts the query short at it: both were 500s."""
    alice = await person(client, db, "Alice")
    org = await make_org(db, alice.user)
    for resp in (
        await client.post(f"/api/v1/orgs/{org.id}/departments", json={"name": "Ward\x003"}, headers=alice.headers),
        await client.get(f"/api/v1/orgs/{org.id}/group-messages/search", params={"q": "ward\x00"}, headers=alice.headers),
    ):
        assert resp.status == 400, await resp.text()
        assert "NUL" in (await resp.json())["error"]["message"]


async def test_an_id_too_large_for_the_database_is_a_400_naming_the_field(client, db, backend):
    alice = await person(client, db, "Alice")
    org = await make_org(db, alice.user)
    too_large = 2**63
    for url, body, field in (
        (f"/api/v1/orgs/{org.id}/groups", {"name": "Team", "member_ids": [too_large]}, "member_ids"),
        (f"/api/v1/orgs/{org.id}/departments", {"name": "Ward", "parent_id": too_large}, "parent_id"),
        (f"/api/v1/orgs/{org.id}/members", {"display_name": "Bo", "department_id": too_large}, "department_id"),
    ):
        resp = await client.post(url, json=body, headers=alice.headers)
        assert resp.status == 400, f"{url}: {await resp.text()}"
        assert (await resp.json())["error"]["field"].startswith(field)
    group = await (await client.post(f"/api/v1/orgs/{org.id}/groups", json={"name": "Team"}, headers=alice.headers)).json()
    resp = await client.post(f"/api/v1/orgs/{org.id}/groups/{group['id']}/messages", json={"body": "hi", "mentions": [too_large]}, headers=alice.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"].startswith("mentions")


async def test_openapi_keeps_two_models_of_one_name_apart(client):
    """The organisation's MemberOut and a group's MemberOut are different shapes; each route documents its own."""
    doc = await (await client.get("/api/openapi.json")).json()
    schemas = doc["components"]["schemas"]

    def response_schema(path: str) -> dict:
        ref = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    assert "display_name" in response_schema("/api/v1/orgs/{org_id}/members/{member_id}")["properties"]
    group_members = response_schema("/api/v1/orgs/{org_id}/groups/{group_id}/members")
    member_ref = group_members["properties"]["members"]["items"]["$ref"]
    assert "read_seq" in schemas[member_ref.rsplit("/", 1)[1]]["properties"]


async def test_openapi_documents_the_status_an_endpoint_answers_with_and_integer_path_ids(client):
    doc = await (await client.get("/api/openapi.json")).json()
    mute = doc["paths"]["/api/v1/orgs/{org_id}/groups/{group_id}/mute"]["put"]
    assert set(mute["responses"]) == {"204", "4XX"}
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/orgs/{org_id}/groups/{group_id}/messages/{seq}"]["patch"]["parameters"]}
    assert params["seq"]["type"] == "integer" and params["group_id"]["maximum"] == 2**63 - 1
    upload = doc["paths"]["/api/v1/uploads/{upload_id}"]["patch"]["parameters"][0]["schema"]
    assert upload["type"] == "string"
