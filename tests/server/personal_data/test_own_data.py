"""A person's own data: they download it, and an external contact deletes their account, which ends their contacts in
every organisation (each one's count goes down in the same transaction), takes them out of external groups through the
revocation path and erases what they wrote; a member is told to ask their admins; an erased member who is someone's
contact elsewhere keeps the account, so no organisation's count is left too high."""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.models import User
from server.audit.models import AuditEntry
from server.contacts.models import ContactPolicy, ExternalContact
from server.groups.models import GroupMember
from server.orgs.models import Membership
from server.personal_data.parts import PERSONAL_DATA, PersonalDataPart
from tests.factories import PASSWORD, person
from tests.server.contacts.conftest import Staff, make_link, say
from tests.server.orgs.conftest import join, new_org, ok

ZH = {"Accept-Language": "zh-CN"}


async def staff_org(db, owner_name: str) -> Staff:
    made = await new_org(db, owner_name)
    return Staff(made.id, made.owner, await join(db, made.id, "member", f"Nurse of {owner_name}"),
                 await join(db, made.id, "member", f"Colleague of {owner_name}"), await join(db, made.id, "admin", f"Admin of {owner_name}"))


async def become_contact(client, org: Staff, who, staff=None) -> dict:
    link = await make_link(client, org, staff or org.nurse)
    return await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=who.headers))


async def counts(db, *org_ids: int) -> list[int]:
    async with db.transaction() as tx:
        rows = dict((await tx.session.execute(select(ContactPolicy.org_id, ContactPolicy.contact_count))).all())
    return [rows[o] for o in org_ids]


async def actions(db, org_id: int, action: str) -> list[AuditEntry]:
    async with db.transaction(org_id=org_id) as tx:
        return list(await tx.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_an_external_contact_downloads_what_every_organisation_holds_about_them(client, db, backend):
    school, clinic = await staff_org(db, "Olivia"), await staff_org(db, "Oscar")
    mum = await person(client, db, "Mum")
    chat = await become_contact(client, school, mum)
    await become_contact(client, clinic, mum)
    await say(client, school, chat["chat_group_id"], mum, "Is the trip on Friday?")

    resp = await client.get("/api/v1/me/personal-data", headers=mum.headers)
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = await resp.json()
    assert data["account"]["name"] == "Mum" and data["account"]["email"] == mum.email
    assert [(o["org_id"], o["relation"]) for o in data["organisations"]] == [(school.id, "external_contact"), (clinic.id, "external_contact")]
    at_school = data["organisations"][0]["parts"]
    assert [c["staff_in_charge"] for c in at_school["contacts"]["as_contact"]] == ["Nurse of Olivia"]
    assert [m["body"] for m in at_school["groups"]["messages"]] == ["Is the trip on Friday?"]
    assert "organisation" not in at_school  # no membership to show
    assert len(await actions(db, school.id, "account.data_exported")) == len(await actions(db, clinic.id, "account.data_exported")) == 1

    mine = await (await client.get("/api/v1/me/personal-data", headers=school.nurse.headers)).json()
    assert [(o["org_id"], o["relation"]) for o in mine["organisations"]] == [(school.id, "member")]
    assert mine["organisations"][0]["parts"]["organisation"]["membership"]["display_name"] == "Nurse of Olivia"
    assert (await client.get("/api/v1/me/personal-data")).status == 401


async def test_an_external_contact_deletes_their_account_and_every_organisations_count_goes_down(client, db, backend):
    school, clinic = await staff_org(db, "Olivia"), await staff_org(db, "Oscar")
    mum, dad = await person(client, db, "Mum"), await person(client, db, "Dad")
    first = await become_contact(client, school, mum)
    await become_contact(client, school, mum, school.colleague)  # a second contact in the same organisation
    await become_contact(client, clinic, mum)
    await become_contact(client, school, dad)
    group = await ok(await client.post(school.url("/external-groups"), json={"name": "Class 3 parents", "contact_ids": [mum.id, dad.id]},
                                       headers=school.nurse.headers), 201)
    await say(client, school, first["chat_group_id"], mum, "Thank you")
    assert await counts(db, school.id, clinic.id) == [3, 1]

    wrong = await client.post("/api/v1/me/deletion", json={"password": "not it", "confirm": True}, headers=mum.headers)
    assert wrong.status == 403 and (await wrong.json())["error"]["field"] == "password"
    unconfirmed = await client.post("/api/v1/me/deletion", json={"password": PASSWORD, "confirm": False}, headers=mum.headers)
    assert unconfirmed.status == 400
    assert await counts(db, school.id, clinic.id) == [3, 1]

    resp = await client.post("/api/v1/me/deletion", json={"password": PASSWORD, "confirm": True}, headers=mum.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["organisations"] == sorted([school.id, clinic.id])
    assert await counts(db, school.id, clinic.id) == [1, 0]
    async with db.transaction() as tx:
        assert await tx.session.get(User, mum.id) is None
        assert await tx.session.scalar(select(func.count()).select_from(ExternalContact).where(ExternalContact.user_id == mum.id)) == 0
        in_group = set(await tx.session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group["id"])))
    assert in_group == {school.nurse.id, dad.id}  # out of the external group; the others stay
    history = await ok(await client.get(school.url(f"/groups/{first['chat_group_id']}/messages"), headers=school.nurse.headers))
    assert [m["body"] for m in history["messages"]] == [""]  # what they wrote is erased, as by an admin's erasure
    assert (await client.get("/api/v1/me", headers=mum.headers)).status == 401  # signed out everywhere
    [entry] = await actions(db, school.id, "external_contact.account_deleted")
    assert (entry.actor_user_id, entry.actor_name, entry.details["contacts"]) == (None, "", 2)

    # The places they took are free again: a school at its cap takes a new contact.
    await ok(await client.put(school.url("/external-contacts/policy"), json={"contact_limit": 2}, headers=school.admin.headers))
    await become_contact(client, school, await person(client, db, "Gran"))
    assert await counts(db, school.id) == [2]


async def test_a_member_is_told_to_ask_their_organisations_admins_and_nothing_changes(client, db, backend):
    school, clinic = await staff_org(db, "Olivia"), await staff_org(db, "Oscar")
    mia = await person(client, db, "Mia")
    async with db.transaction(org_id=school.id) as tx:
        tx.session.add(Membership(org_id=school.id, user_id=mia.id, role="member", display_name="Mia"))
    await become_contact(client, clinic, mia)
    resp = await client.post("/api/v1/me/deletion", json={"password": PASSWORD, "confirm": True}, headers={**mia.headers, **ZH})
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "still_a_member"
    assert error["message"] == "你是 Org of Olivia 的成员：请先让各组织的管理员将你移出或删除你在该组织的数据，再删除账号"
    assert (await client.get("/api/v1/me", headers=mia.headers)).status == 200
    assert await counts(db, clinic.id) == [1]  # nothing was erased anywhere


async def test_an_organisation_whose_erasure_fails_keeps_its_contact_and_its_count(app, client, db, backend):
    school, clinic = await staff_org(db, "Olivia"), await staff_org(db, "Oscar")
    mum = await person(client, db, "Mum")
    await become_contact(client, school, mum)
    await become_contact(client, clinic, mum)

    async def fail_at_the_clinic(tx, _settings, _user_id):
        if tx.org_id == clinic.id:
            raise RuntimeError("a part that cannot erase")
        return {}

    app[PERSONAL_DATA]["zz_failing"] = PersonalDataPart("zz_failing", lambda tx, user_id: {}, fail_at_the_clinic)
    try:
        resp = await client.post("/api/v1/me/deletion", json={"password": PASSWORD, "confirm": True}, headers=mum.headers)
    finally:
        del app[PERSONAL_DATA]["zz_failing"]
    assert resp.status == 500
    assert await counts(db, school.id, clinic.id) == [0, 1]  # the school's step committed whole; the clinic's not at all
    async with db.transaction() as tx:
        left = list(await tx.session.scalars(select(ExternalContact.org_id).where(ExternalContact.user_id == mum.id)))
    assert left == [clinic.id]
    again = await client.post("/api/v1/me/deletion", json={"password": PASSWORD, "confirm": True}, headers=mum.headers)
    assert again.status == 200 and (await again.json())["organisations"] == [clinic.id]
    assert await counts(db, school.id, clinic.id) == [0, 0]


async def test_an_erased_member_who_is_a_contact_elsewhere_keeps_the_account_and_that_count(client, db, backend):
    school, clinic = await staff_org(db, "Olivia"), await staff_org(db, "Oscar")
    nurse = school.nurse
    async with db.transaction() as tx:
        user = await tx.session.get(User, nurse.id)
    await become_contact(client, clinic, nurse)
    async with db.transaction(org_id=school.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == user.id))
    erased = await ok(await client.post(school.url(f"/members/{member_id}/erasure"), json={"confirm": True}, headers=school.owner.headers))
    assert erased["account_deleted"] is False
    assert await counts(db, clinic.id) == [1]
    async with db.transaction() as tx:
        assert await tx.session.get(User, nurse.id) is not None
