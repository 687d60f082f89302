"""External groups: staff and external contacts together, capped (500 by default), the 501st refused."""
from __future__ import annotations

import uuid

from tests.server.contacts.conftest import add_contact, bodies, say
from tests.server.groups.conftest import add_bulk_members
from tests.server.orgs.conftest import ok


async def test_an_external_group_holds_staff_and_contacts_who_chat_together(client, db, org):
    mum, _ = await add_contact(client, db, org, org.nurse, "Mum")
    dad, _ = await add_contact(client, db, org, org.colleague, "Dad")
    body = {"name": "Class 3 parents", "member_ids": [org.colleague.id], "contact_ids": [mum.id, dad.id]}
    group = await ok(await client.post(org.url("/external-groups"), json=body, headers=org.nurse.headers), 201)
    assert group["external"] and group["member_limit"] == 500 and group["member_count"] == 4 and group["role"] == "owner"
    await say(client, org, group["id"], org.nurse, "Trip on Friday")
    await say(client, org, group["id"], dad, "We will be there")
    assert await bodies(client, org, group["id"], mum) == ["Trip on Friday", "We will be there"]
    members = await ok(await client.get(org.url(f"/groups/{group['id']}/members"), headers=mum.headers))
    assert sorted(m["name"] for m in members["members"]) == ["Dad", "Mum", "Nurse Li", "Nurse Wang"]


async def test_only_contacts_of_the_organisation_join_an_external_group(client, db, org):
    mum, _ = await add_contact(client, db, org, org.nurse)
    body = {"name": "Parents", "contact_ids": [mum.id, org.colleague.id]}
    resp = await client.post(org.url("/external-groups"), json=body, headers=org.nurse.headers)
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["field"] == "contact_ids" and str(org.colleague.id) in error["message"]


async def test_the_501st_member_of_an_external_group_is_refused_with_a_clear_400(client, db, org):
    first, _ = await add_contact(client, db, org, org.nurse)
    late, _ = await add_contact(client, db, org, org.nurse)
    group = await ok(await client.post(org.url("/external-groups"), json={"name": "Big", "contact_ids": [first.id]}, headers=org.nurse.headers), 201)
    await add_bulk_members(db, org.id, group["id"], 498, prefix=f"bulk-{uuid.uuid4().hex[:8]}")
    resp = await client.post(org.url(f"/external-groups/{group['id']}/contacts"), json={"user_ids": [late.id]}, headers=org.nurse.headers)
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["code"] == "too_many_members" and "at most 500" in error["message"]
    # Staff count against the same cap.
    resp = await client.post(org.url(f"/groups/{group['id']}/members"), json={"user_ids": [org.colleague.id]}, headers=org.nurse.headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "too_many_members"


async def test_an_admin_sets_the_organisations_external_group_cap_within_the_servers(client, db, org):
    people = [(await add_contact(client, db, org, org.nurse))[0] for _ in range(3)]
    resp = await client.put(org.url("/external-contacts/policy"), json={"group_member_limit": 10_001}, headers=org.admin.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "group_member_limit"
    await ok(await client.put(org.url("/external-contacts/policy"), json={"group_member_limit": 3}, headers=org.admin.headers))
    body = {"name": "Small", "contact_ids": [p.id for p in people]}
    resp = await client.post(org.url("/external-groups"), json=body, headers=org.nurse.headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "too_many_members"
    body["contact_ids"] = body["contact_ids"][:2]
    assert (await ok(await client.post(org.url("/external-groups"), json=body, headers=org.nurse.headers), 201))["member_limit"] == 3


async def test_only_a_group_admin_adds_contacts_to_an_external_group(client, db, org):
    mum, _ = await add_contact(client, db, org, org.nurse)
    group = await ok(await client.post(org.url("/external-groups"), json={"name": "G", "member_ids": [org.colleague.id]}, headers=org.nurse.headers), 201)
    resp = await client.post(org.url(f"/external-groups/{group['id']}/contacts"), json={"user_ids": [mum.id]}, headers=org.colleague.headers)
    assert resp.status == 403
    added = await ok(await client.post(org.url(f"/external-groups/{group['id']}/contacts"), json={"user_ids": [mum.id]}, headers=org.nurse.headers))
    assert added == {"added": [mum.id], "removed": [], "member_count": 3}
