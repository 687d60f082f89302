"""The audience preview: counts and unknown ids, for admins and those a capability lets send only."""
from __future__ import annotations

import pytest

from server.orgs.models import Membership
from tests.factories import person
from tests.server.audiences.world import build_world


@pytest.fixture
async def world(db):
    return await build_world(db)


async def member_of(client, db, world, role: str):
    someone = await person(client, db)
    async with db.transaction(org_id=world.org_id) as tx:
        tx.session.add(Membership(user_id=someone.id, display_name=someone.user.name, role=role))
    return someone


def url(world) -> str:
    return f"/api/v1/orgs/{world.org_id}/audiences/preview"


async def test_counts_per_kind_the_distinct_total_and_unknown_ids(client, db, world):
    admin = await member_of(client, db, world, "admin")
    d, g, p = world.departments, world.groups, world.people
    body = {"user_ids": [p["fay"], p["cat"], p["zed"]], "department_ids": [d["grade1"], d["other"]], "group_ids": [g["team"]]}
    resp = await client.post(url(world), json=body, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {
        "everyone": False,
        "total": 5,  # fay, cat, ben, dan, eve
        "parts": [
            {"kind": "users", "named": 3, "unknown": [p["zed"]], "people": 2},
            {"kind": "departments", "named": 2, "unknown": [d["other"]], "people": 3},
            {"kind": "groups", "named": 1, "unknown": [], "people": 2},
        ],
    }
    everyone = await (await client.post(url(world), json={"everyone": True}, headers=admin.headers)).json()
    assert everyone == {"everyone": True, "total": 7, "parts": []}  # the six and the admin


async def test_an_unregistered_kind_is_a_400_naming_the_field(client, db, world):
    admin = await member_of(client, db, world, "admin")
    resp = await client.post(url(world), json={"parts": {"school_units": [1]}}, headers=admin.headers)
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["field"] == "parts" and "school_units" in error["message"]


async def test_members_preview_only_once_a_capability_lets_them_send(client, db, world):
    admin = await member_of(client, db, world, "admin")
    member = await member_of(client, db, world, "member")
    body = {"department_ids": [world.departments["school"]]}
    assert (await client.post(url(world), json=body, headers=member.headers)).status == 403
    granted = await client.put(f"/api/v1/orgs/{world.org_id}/broadcast-senders/{member.id}", headers=admin.headers)
    assert granted.status == 200
    resp = await client.post(url(world), json=body, headers=member.headers)
    assert resp.status == 200 and (await resp.json())["total"] == 4
    outsider = await person(client, db)
    assert (await client.post(url(world), json=body, headers=outsider.headers)).status == 404
