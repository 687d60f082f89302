"""Consent: an account that already exists joins another organisation only when its owner accepts."""
from __future__ import annotations

from sqlalchemy import select

from server.gateway.models import UserEvent
from server.orgs.models import Membership
from tests.server.orgs.conftest import join, new_org, ok, signed_in


async def invite(client, org, email: str, **fields):
    return await client.post(org.url("/invitations"), json={"display_name": "Listed Name", "email": email, **fields}, headers=org.owner.headers)


async def member_ids(db, org_id: int) -> set[int]:
    async with db.transaction(org_id=org_id) as tx:
        return set(await tx.session.scalars(select(Membership.user_id)))


async def test_an_owner_cannot_pull_an_existing_account_in_without_consent(client, db, org):
    other = await new_org(db, "Other Owner")
    someone = await join(db, other.id)

    resp = await client.post(org.url("/members"), json={"display_name": "Pulled In", "email": someone.email}, headers=org.owner.headers)

    error = (await resp.json())["error"]
    assert resp.status == 409 and (error["code"], error["field"]) == ("needs_consent", "email")
    assert "/invitations" in error["message"]
    assert someone.id not in await member_ids(db, org.id)
    assert (await client.get(org.url("/members"), headers=someone.headers)).status == 404


async def test_an_invited_account_is_told_and_is_not_a_member_until_it_accepts(client, db, org):
    someone = await signed_in(db)

    invited = await ok(await invite(client, org, someone.email, title="Nurse", phone="13900000001"), 201)

    assert someone.id not in await member_ids(db, org.id)
    assert (await client.get(org.url(), headers=someone.headers)).status == 404
    async with db.transaction() as tx:
        told = (await tx.session.execute(select(UserEvent.type, UserEvent.data).where(UserEvent.user_id == someone.id))).all()
    assert [(t, d["org_id"]) for t, d in told if t == "org.invitation"] == [("org.invitation", org.id)]
    (mine,) = await ok(await client.get("/api/v1/invitations", headers=someone.headers))
    assert (mine["id"], mine["org_id"], mine["role"], mine["display_name"]) == (invited["id"], org.id, "member", "Listed Name")

    joined = await ok(await client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=someone.headers))

    assert (joined["id"], joined["role"]) == (org.id, "member")
    listed = await ok(await client.get(org.url("/members"), params={"q": "Listed"}, headers=someone.headers))
    assert [(m["user_id"], m["title"], m["phone"]) for m in listed["items"]] == [(someone.id, "Nurse", "+8613900000001")]
    assert await ok(await client.get("/api/v1/invitations", headers=someone.headers)) == []
    assert await ok(await client.get(org.url("/invitations"), headers=org.owner.headers)) == []


async def test_declining_leaves_the_account_out_and_the_organisation_may_ask_again(client, db, org):
    someone = await signed_in(db)
    invited = await ok(await invite(client, org, someone.email), 201)
    assert (await invite(client, org, someone.email)).status == 409

    await ok(await client.post(f"/api/v1/invitations/{invited['id']}/decline", headers=someone.headers), 204)

    assert someone.id not in await member_ids(db, org.id)
    assert (await client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=someone.headers)).status == 404
    await ok(await invite(client, org, someone.email), 201)


async def test_only_the_invited_account_can_answer_its_invitation(client, db, org):
    someone, intruder = await signed_in(db), await signed_in(db)
    invited = await ok(await invite(client, org, someone.email), 201)

    for action in ("accept", "decline"):
        assert (await client.post(f"/api/v1/invitations/{invited['id']}/{action}", headers=intruder.headers)).status == 404
    assert await ok(await client.get("/api/v1/invitations", headers=intruder.headers)) == []
    assert intruder.id not in await member_ids(db, org.id)


async def test_admins_list_and_withdraw_invitations_and_members_cannot(client, db, org):
    someone = await signed_in(db)
    member = await join(db, org.id)
    invited = await ok(await invite(client, org, someone.email), 201)

    assert (await client.get(org.url("/invitations"), headers=member.headers)).status == 403
    assert [i["user_id"] for i in await ok(await client.get(org.url("/invitations"), headers=org.owner.headers))] == [someone.id]
    await ok(await client.delete(org.url(f"/invitations/{invited['id']}"), headers=org.owner.headers), 204)

    assert (await client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=someone.headers)).status == 404
    assert someone.id not in await member_ids(db, org.id)


async def test_inviting_an_email_without_an_account_says_to_add_the_person(client, org):
    resp = await invite(client, org, "nobody@example.org")
    error = (await resp.json())["error"]
    assert resp.status == 400 and error["field"] == "email" and "/members" in error["message"]


async def test_only_an_owner_can_invite_someone_as_owner(client, db, org):
    admin = await join(db, org.id, role="admin")
    someone = await signed_in(db)
    resp = await client.post(org.url("/invitations"), json={"display_name": "X", "email": someone.email, "role": "owner"}, headers=admin.headers)
    assert resp.status == 403
