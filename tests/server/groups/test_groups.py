"""Groups: create from people or a department, rename, roles, bulk add/remove, leave, mute, the member limit."""
from __future__ import annotations

from sqlalchemy import update

from server.orgs.models import Department, Membership
from tests.server.groups.conftest import create_group, join_org, make_people_org, signed_in


async def test_the_creator_owns_a_group_made_from_a_list_of_people(client, org):
    group = await create_group(client, org, name="Ward 3")
    members = await (await client.get(org.url(f"/groups/{group['id']}/members"), headers=org.owner.headers)).json()
    assert group["name"] == "Ward 3" and group["role"] == "owner" and group["member_count"] == 4
    assert {m["user_id"]: m["role"] for m in members["members"]} == {org.owner.id: "owner", **{p.id: "member" for p in org.people}}


async def test_a_group_from_a_department_takes_its_whole_subtree(client, db, org):
    async with db.transaction(org_id=org.id) as tx:
        top = Department(org_id=org.id, name="Surgery", path="")
        tx.session.add(top)
        await tx.session.flush()
        top.path = f"/{top.id}/"
        sub = Department(org_id=org.id, parent_id=top.id, name="Theatre", path="")
        other = Department(org_id=org.id, name="Kitchen", path="")
        tx.session.add_all([sub, other])
        await tx.session.flush()
        sub.path, other.path = f"/{top.id}/{sub.id}/", f"/{other.id}/"
    placement = {org.people[0].id: top.id, org.people[1].id: sub.id, org.people[2].id: other.id}
    async with db.transaction(org_id=org.id) as tx:
        for user_id, department_id in placement.items():
            await tx.session.execute(update(Membership).where(Membership.user_id == user_id).values(department_id=department_id))
    group = await create_group(client, org, name="Surgery", member_ids=[], department_id=top.id)
    members = await (await client.get(org.url(f"/groups/{group['id']}/members"), headers=org.owner.headers)).json()
    assert {m["user_id"] for m in members["members"]} == {org.owner.id, org.people[0].id, org.people[1].id}


async def test_an_unknown_department_or_stranger_is_a_clear_400(client, db, org):
    stranger = await signed_in(db, "Stranger")
    resp = await client.post(org.url("/groups"), json={"name": "X", "member_ids": [stranger.id]}, headers=org.owner.headers)
    body = await resp.json()
    assert resp.status == 400 and body["error"]["field"] == "member_ids" and str(stranger.id) in body["error"]["message"]
    resp = await client.post(org.url("/groups"), json={"name": "X", "department_id": 999999}, headers=org.owner.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "department_id"


async def test_admins_add_and_remove_in_bulk_and_members_cannot(client, db, org):
    group = await create_group(client, org, member_ids=[org.people[0].id])
    url = org.url(f"/groups/{group['id']}/members")
    resp = await client.post(url, json={"user_ids": [org.people[1].id]}, headers=org.people[0].headers)
    assert resp.status == 403
    resp = await client.post(url, json={"user_ids": [p.id for p in org.people]}, headers=org.owner.headers)
    assert (await resp.json()) == {"added": [org.people[1].id, org.people[2].id], "removed": [], "member_count": 4}
    resp = await client.post(url + "/remove", json={"user_ids": [org.people[1].id, org.people[2].id]}, headers=org.owner.headers)
    assert (await resp.json())["member_count"] == 2
    resp = await client.get(org.url(f"/groups/{group['id']}"), headers=org.people[1].headers)
    assert resp.status == 403


async def test_more_members_than_the_limit_is_refused_and_nothing_is_added(client, db, settings):
    settings.group_member_limit = 3
    org = await make_people_org(client, db, 3)
    group = await create_group(client, org, member_ids=[org.people[0].id])
    resp = await client.post(
        org.url(f"/groups/{group['id']}/members"), json={"user_ids": [p.id for p in org.people]}, headers=org.owner.headers
    )
    body = await resp.json()
    assert resp.status == 400 and body["error"]["code"] == "too_many_members"
    assert "at most 3 members" in body["error"]["message"]
    detail = await (await client.get(org.url(f"/groups/{group['id']}"), headers=org.owner.headers)).json()
    assert detail["member_count"] == 2
    too_big = await client.post(org.url("/groups"), json={"name": "Big", "member_ids": [p.id for p in org.people]}, headers=org.owner.headers)
    assert too_big.status == 400 and (await too_big.json())["error"]["code"] == "too_many_members"
    assert len(await (await client.get(org.url("/groups"), headers=org.owner.headers)).json()) == 1  # no group was made


async def test_rename_by_an_admin_and_owner_hands_over(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}")
    admin, member = org.people[0], org.people[1]
    assert (await client.patch(url, json={"name": "New"}, headers=member.headers)).status == 403
    assert (await client.put(url + f"/members/{admin.id}/role", json={"role": "admin"}, headers=member.headers)).status == 403
    assert (await client.put(url + f"/members/{admin.id}/role", json={"role": "admin"}, headers=org.owner.headers)).status == 204
    resp = await client.patch(url, json={"name": "Renamed"}, headers=admin.headers)
    assert resp.status == 200 and (await resp.json())["name"] == "Renamed"
    assert (await client.patch(url, json={"allow_guests": True}, headers=admin.headers)).status == 403
    assert (await client.post(url + "/leave", headers=org.owner.headers)).status == 409
    assert (await client.put(url + f"/members/{admin.id}/role", json={"role": "owner"}, headers=org.owner.headers)).status == 204
    assert (await (await client.get(url, headers=admin.headers)).json())["role"] == "owner"
    assert (await client.post(url + "/leave", headers=org.owner.headers)).status == 204
    assert (await client.get(url, headers=org.owner.headers)).status == 403


async def test_mute_is_per_member(client, org):
    group = await create_group(client, org)
    url = org.url(f"/groups/{group['id']}")
    assert (await client.put(url + "/mute", json={"muted": True}, headers=org.people[0].headers)).status == 204
    mine = await (await client.get(org.url("/groups"), headers=org.people[0].headers)).json()
    theirs = await (await client.get(org.url("/groups"), headers=org.people[1].headers)).json()
    assert mine[0]["muted"] is True and theirs[0]["muted"] is False


async def test_another_organisation_sees_no_group(client, db, org):
    group = await create_group(client, org)
    other = await make_people_org(client, db, 0)
    await join_org(db, other.id, org.people[0].user)  # in both organisations
    resp = await client.get(other.url(f"/groups/{group['id']}"), headers=org.people[0].headers)
    assert resp.status == 404
    resp = await client.get(org.url(f"/groups/{group['id']}"), headers=other.owner.headers)
    assert resp.status == 404
