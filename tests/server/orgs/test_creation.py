"""Who may create an organisation: its creator owns it, can add people and spend the server's SMS and calls."""
from __future__ import annotations

from sqlalchemy import func, select

from server.appkeys import SETTINGS
from server.orgs.models import Organisation
from tests.server.orgs.conftest import ok, signed_in

NEW_ORG = {"name": "Riverside", "slug": "riverside"}


async def org_count(db) -> int:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(func.count()).select_from(Organisation))


async def test_an_ordinary_account_cannot_create_an_organisation_by_default(app, client, db):
    someone = await signed_in(db)

    resp = await client.post("/api/v1/orgs", json=NEW_ORG, headers=someone.headers)

    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "org_creation_closed"
    assert await org_count(db) == 0


async def test_an_operator_creates_an_organisation_and_owns_it(app, client, db):
    operator = await signed_in(db)
    app[SETTINGS].operators = f"ops@example.org, {operator.email.upper()}"

    created = await ok(await client.post("/api/v1/orgs", json=NEW_ORG, headers=operator.headers), 201)

    mine = await ok(await client.get("/api/v1/orgs", headers=operator.headers))
    assert [(o["id"], o["role"]) for o in mine] == [(created["id"], "owner")]


async def test_with_open_creation_anyone_signed_in_creates_one(app, client, db):
    app[SETTINGS].org_creation = "anyone"
    someone = await signed_in(db)

    await ok(await client.post("/api/v1/orgs", json=NEW_ORG, headers=someone.headers), 201)
    assert await org_count(db) == 1
