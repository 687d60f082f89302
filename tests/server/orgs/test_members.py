"""Members: adding people (new or existing accounts), changing them, roles and the one-owner rule, removing them."""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import User
from server.orgs.models import Membership
from tests.server.orgs.conftest import join, new_org, ok, signed_in


async def add(client, org, headers=None, **fields) -> dict:
    return await ok(await client.post(org.url("/members"), json=fields, headers=headers or org.owner.headers), 201)


async def test_adding_a_new_email_creates_an_account_without_password(client, db, org):
    added = await add(client, org, display_name="Mei Lin", email="Mei.Lin@Example.org", phone="139 0000 0001", title="Nurse")

    assert (added["display_name"], added["email"], added["phone"], added["title"], added["role"]) == (
        "Mei Lin", "mei.lin@example.org", "+8613900000001", "Nurse", "member"
    )
    async with db.transaction() as tx:
        user = await tx.session.get(User, added["user_id"])
    assert (user.email, user.name, user.password_hash) == ("mei.lin@example.org", "Mei Lin", None)


async def test_an_existing_account_once_it_accepts_is_linked_and_the_account_left_alone(client, db, org):
    other = await new_org(db, "Other Owner")
    someone = await join(db, other.id, name="Account Name")

    invited = await ok(await client.post(org.url("/invitations"), json={"display_name": "Listed Differently", "email": someone.email.upper()},
                                         headers=org.owner.headers), 201)
    await ok(await client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=someone.headers))

    async with db.transaction() as tx:
        assert (await tx.session.get(User, someone.id)).name == "Account Name"
    # Still a member of the other organisation too.
    mine = await ok(await client.get("/api/v1/orgs", headers=someone.headers))
    assert sorted(o["id"] for o in mine) == sorted([org.id, other.id])


async def test_the_same_person_cannot_be_added_twice(client, org):
    await add(client, org, display_name="A", email="a@example.org")
    resp = await client.post(org.url("/members"), json={"display_name": "A", "email": "a@example.org"}, headers=org.owner.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["field"] == "email"


async def test_external_ids_are_unique_in_an_organisation(client, org):
    await add(client, org, display_name="A", external_id="E1")
    resp = await client.post(org.url("/members"), json={"display_name": "B", "external_id": "E1"}, headers=org.owner.headers)
    assert resp.status == 409


async def test_an_invalid_phone_is_a_400_naming_phone(client, org):
    resp = await client.post(org.url("/members"), json={"display_name": "A", "phone": "12"}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "phone"


async def test_a_member_of_another_organisation_department_is_not_accepted(client, db, org):
    other = await new_org(db, "Other Owner")
    department = await ok(await client.post(other.url("/departments"), json={"name": "Theirs"}, headers=other.owner.headers), 201)
    resp = await client.post(org.url("/members"), json={"display_name": "A", "department_id": department["id"]}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "department_id"


async def test_members_read_the_directory_but_cannot_change_it(client, db, org):
    member = await join(db, org.id)
    added = await add(client, org, display_name="Someone")

    assert (await ok(await client.get(org.url(f"/members/{added['id']}"), headers=member.headers)))["display_name"] == "Someone"
    assert (await client.post(org.url("/members"), json={"display_name": "X"}, headers=member.headers)).status == 403
    assert (await client.patch(org.url(f"/members/{added['id']}"), json={"title": "X"}, headers=member.headers)).status == 403
    assert (await client.delete(org.url(f"/members/{added['id']}"), headers=member.headers)).status == 403


async def test_patch_changes_only_the_fields_sent_and_never_the_account(client, db, org):
    added = await add(client, org, display_name="Mei Lin", email="mei@example.org", phone="13900000001", title="Nurse")

    changed = await ok(await client.patch(org.url(f"/members/{added['id']}"), json={"display_name": "Lin Mei", "phone": None}, headers=org.owner.headers))

    assert (changed["display_name"], changed["phone"], changed["title"], changed["email"]) == ("Lin Mei", None, "Nurse", "mei@example.org")
    async with db.transaction() as tx:
        assert (await tx.session.get(User, added["user_id"])).name == "Mei Lin"


async def test_only_an_owner_makes_or_unmakes_owners(client, db, org):
    admin = await join(db, org.id, "admin")
    added = await add(client, org, display_name="Someone")

    resp = await client.patch(org.url(f"/members/{added['id']}"), json={"role": "owner"}, headers=admin.headers)
    assert resp.status == 403
    resp = await client.post(org.url("/members"), json={"display_name": "X", "role": "owner"}, headers=admin.headers)
    assert resp.status == 403
    owner_member_id = (await ok(await client.get(org.url("/members"), params={"q": org.owner.email}, headers=admin.headers)))["items"][0]["id"]
    assert (await client.patch(org.url(f"/members/{owner_member_id}"), json={"role": "member"}, headers=admin.headers)).status == 403
    assert (await client.delete(org.url(f"/members/{owner_member_id}"), headers=admin.headers)).status == 403
    # An admin does manage other admins and members.
    assert (await ok(await client.patch(org.url(f"/members/{added['id']}"), json={"role": "admin"}, headers=admin.headers)))["role"] == "admin"
    assert (await ok(await client.patch(org.url(f"/members/{added['id']}"), json={"role": "owner"}, headers=org.owner.headers)))["role"] == "owner"


async def test_the_last_owner_can_neither_step_down_nor_be_removed(client, db, org):
    owner_member_id = (await ok(await client.get(org.url("/members"), params={"q": org.owner.email}, headers=org.owner.headers)))["items"][0]["id"]

    resp = await client.patch(org.url(f"/members/{owner_member_id}"), json={"role": "admin"}, headers=org.owner.headers)
    assert resp.status == 409
    assert "at least one owner" in (await resp.json())["error"]["message"]
    assert (await client.delete(org.url(f"/members/{owner_member_id}"), headers=org.owner.headers)).status == 409

    second = await add(client, org, display_name="Second Owner", role="owner")
    assert (await ok(await client.patch(org.url(f"/members/{owner_member_id}"), json={"role": "admin"}, headers=org.owner.headers)))["role"] == "admin"
    assert second["role"] == "owner"


async def test_role_cannot_be_set_to_null(client, org):
    added = await add(client, org, display_name="Someone")
    resp = await client.patch(org.url(f"/members/{added['id']}"), json={"role": None}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "role"


async def test_removing_a_member_keeps_their_account(client, db, org):
    added = await add(client, org, display_name="Leaver", email="leaver@example.org")

    await ok(await client.delete(org.url(f"/members/{added['id']}"), headers=org.owner.headers), 204)

    assert (await client.get(org.url(f"/members/{added['id']}"), headers=org.owner.headers)).status == 404
    async with db.transaction() as tx:
        assert await tx.session.get(User, added["user_id"]) is not None
        assert (await tx.session.scalars(select(Membership).where(Membership.user_id == added["user_id"]))).all() == []


async def test_people_outside_the_organisation_get_404_for_its_directory(client, db, org):
    outsider = await signed_in(db)
    assert (await client.get(org.url("/members"), headers=outsider.headers)).status == 404
