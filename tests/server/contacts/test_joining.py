"""Becoming an external contact: a light account or a signed-in one, the one-to-one chat, the organisation's cap, removal."""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.models import User
from server.contacts.models import ExternalContact
from tests.server.contacts.conftest import add_contact, bodies, make_link, outsider, say
from tests.server.orgs.conftest import ok


async def test_signing_up_by_a_link_makes_a_light_account_a_contact_and_a_one_to_one_chat(client, db, org):
    link = await make_link(client, org, org.nurse)
    body = {"token": link["token"], "name": "Mother of Xiaoming", "email": "mum@example.org", "password": "long enough pass"}
    joined = await ok(await client.post("/api/v1/contact-links/sign-up", json=body), 201)
    assert joined["org_id"] == org.id and joined["landing_url"] == f"/groups?org={org.id}&group={joined['chat_group_id']}"
    mum = {"Authorization": f"Bearer {joined['token']}"}
    chat = joined["chat_group_id"]
    await ok(await client.post(org.url(f"/groups/{chat}/messages"), json={"body": "Is he eating?"}, headers=mum), 201)
    await say(client, org, chat, org.nurse, "Yes, all of it")
    assert await bodies(client, org, chat, org.nurse) == ["Is he eating?", "Yes, all of it"]
    group = await ok(await client.get(org.url(f"/groups/{chat}"), headers=mum))
    assert group["external"] and group["member_count"] == 2 and group["member_limit"] == 2
    mine = await ok(await client.get(org.url("/contacts"), headers=org.nurse.headers))
    assert [(c["name"], c["owner_name"], c["chat_group_id"]) for c in mine["contacts"]] == [("Mother of Xiaoming", "Nurse Li", chat)]
    # The light account signs in again like anyone.
    await ok(await client.post("/api/v1/auth/login", json={"email": "mum@example.org", "password": "long enough pass"}))
    chats = await ok(await client.get("/api/v1/me/external-chats", headers=mum))
    assert [(c["org_id"], c["chat_group_id"], c["staff_name"]) for c in chats] == [(org.id, chat, "Nurse Li")]


async def test_a_signed_in_person_accepting_twice_is_one_contact_and_spends_one_use(client, db, org):
    link = await make_link(client, org, org.nurse, max_uses=2)
    dad = await outsider(db)
    first = await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=dad.headers))
    again = await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=dad.headers))
    assert first == again
    listed = await ok(await client.get(org.url("/contact-links"), headers=org.nurse.headers))
    assert listed[0]["uses"] == 1


async def test_a_member_of_the_organisation_cannot_be_its_external_contact(client, org):
    link = await make_link(client, org, org.nurse)
    resp = await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=org.colleague.headers)
    assert resp.status == 409 and (await resp.json())["error"]["field"] == "token"


async def test_one_contact_beyond_the_organisations_cap_is_refused_with_409_and_leaves_no_account(client, db, org):
    await ok(await client.put(org.url("/external-contacts/policy"), json={"contact_limit": 2}, headers=org.admin.headers))
    await add_contact(client, db, org, org.nurse)
    await add_contact(client, db, org, org.colleague)
    link = await make_link(client, org, org.nurse)
    body = {"token": link["token"], "name": "One too many", "email": "toomany@example.org", "password": "long enough pass"}
    resp = await client.post("/api/v1/contact-links/sign-up", json=body)
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "too_many_contacts" and "limit of 2" in error["message"]
    async with db.transaction() as tx:
        assert await tx.session.scalar(select(func.count()).select_from(User).where(User.email == "toomany@example.org")) == 0
    policy = await ok(await client.get(org.url("/external-contacts/policy"), headers=org.admin.headers))
    assert policy == {"contact_limit": 2, "group_member_limit": 500, "contact_count": 2}
    # Removing one frees a place.
    mine = await ok(await client.get(org.url("/contacts"), headers=org.nurse.headers))
    await ok(await client.delete(org.url(f"/contacts/{mine['contacts'][0]['id']}"), headers=org.nurse.headers), 204)
    await ok(await client.post("/api/v1/contact-links/sign-up", json=body), 201)


async def test_the_default_cap_is_fifty_thousand_and_admins_cannot_raise_it_past_the_server(client, org):
    policy = await ok(await client.get(org.url("/external-contacts/policy"), headers=org.admin.headers))
    assert policy["contact_limit"] == 50_000
    resp = await client.put(org.url("/external-contacts/policy"), json={"contact_limit": 50_001}, headers=org.admin.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "contact_limit"
    assert (await client.put(org.url("/external-contacts/policy"), json={"contact_limit": 10}, headers=org.nurse.headers)).status == 403


async def test_a_removed_contact_loses_the_organisations_chats_at_once(client, db, org):
    parent, joined = await add_contact(client, db, org, org.nurse)
    chat = joined["chat_group_id"]
    assert (await client.get(org.url(f"/groups/{chat}/messages"), headers=parent.headers)).status == 200
    assert (await client.delete(org.url(f"/contacts/{joined['contact_id']}"), headers=org.colleague.headers)).status == 403
    await ok(await client.delete(org.url(f"/contacts/{joined['contact_id']}"), headers=org.nurse.headers), 204)
    assert (await client.get(org.url(f"/groups/{chat}/messages"), headers=parent.headers)).status == 404
    assert (await client.get(org.url("/groups"), headers=parent.headers)).status == 404
    # The nurse keeps the chat and its history.
    assert (await client.get(org.url(f"/groups/{chat}/messages"), headers=org.nurse.headers)).status == 200


async def test_a_contact_of_two_colleagues_removed_by_one_keeps_the_others_chat(client, db, org):
    parent, with_nurse = await add_contact(client, db, org, org.nurse)
    link = await make_link(client, org, org.colleague)
    with_colleague = await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=parent.headers))
    await ok(await client.delete(org.url(f"/contacts/{with_nurse['contact_id']}"), headers=org.admin.headers), 204)
    assert (await client.get(org.url(f"/groups/{with_nurse['chat_group_id']}"), headers=parent.headers)).status == 404
    assert (await client.get(org.url(f"/groups/{with_colleague['chat_group_id']}"), headers=parent.headers)).status == 200
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(ExternalContact)) == 1


async def test_the_cap_error_is_in_the_persons_language(client, db, org):
    await ok(await client.put(org.url("/external-contacts/policy"), json={"contact_limit": 1}, headers=org.admin.headers))
    await add_contact(client, db, org, org.nurse)
    link = await make_link(client, org, org.nurse)
    body = {"token": link["token"], "name": "王芳", "email": "wangfang@example.org", "password": "long enough pass"}
    resp = await client.post("/api/v1/contact-links/sign-up", json=body, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    error = (await resp.json())["error"]
    assert resp.status == 409 and error["code"] == "too_many_contacts" and error["message"].startswith("本机构的外部联系人已达上限 1 个")
