"""Handover: a leaving member's contacts and chats go to a colleague, with every message kept."""
from __future__ import annotations

from tests.server.contacts.conftest import add_contact, bodies, make_link, member_id, outsider, say
from tests.server.orgs.conftest import ok


async def test_an_admin_hands_a_members_contacts_to_a_colleague_who_reads_the_whole_chat(client, db, org):
    mum, joined = await add_contact(client, db, org, org.nurse, "Mum")
    chat = joined["chat_group_id"]
    await say(client, org, chat, mum, "He has a fever")
    await say(client, org, chat, org.nurse, "Keep him home")
    nurse, colleague = await member_id(db, org.id, org.nurse.id), await member_id(db, org.id, org.colleague.id)
    assert (await client.post(org.url(f"/members/{nurse}/handover"), json={"to_member_id": colleague}, headers=org.nurse.headers)).status == 403
    done = await ok(await client.post(org.url(f"/members/{nurse}/handover"), json={"to_member_id": colleague}, headers=org.admin.headers))
    assert done == {"contacts": 1, "groups": 0}
    assert await bodies(client, org, chat, org.colleague) == ["He has a fever", "Keep him home"]
    assert (await client.get(org.url(f"/groups/{chat}/messages"), headers=org.nurse.headers)).status == 403
    await say(client, org, chat, mum, "Thank you")
    theirs = await ok(await client.get(org.url("/contacts"), headers=org.colleague.headers))
    assert [(c["user_id"], c["owner_name"], c["chat_group_id"]) for c in theirs["contacts"]] == [(mum.id, "Nurse Wang", chat)]
    assert theirs["contacts"][0]["handed_over_at"] is not None
    assert (await ok(await client.get(org.url("/contacts"), headers=org.nurse.headers)))["contacts"] == []
    group = await ok(await client.get(org.url(f"/groups/{chat}"), headers=org.colleague.headers))
    assert group["role"] == "owner" and group["member_count"] == 2
    audit = await ok(await client.get(org.url("/audit?action=external_contacts."), headers=org.admin.headers))
    assert [e["action"] for e in audit["items"]] == ["external_contacts.handed_over"]


async def test_an_admin_hands_over_only_the_contacts_named(client, db, org):
    _, first = await add_contact(client, db, org, org.nurse)
    _, second = await add_contact(client, db, org, org.nurse)
    nurse, colleague = await member_id(db, org.id, org.nurse.id), await member_id(db, org.id, org.colleague.id)
    body = {"to_member_id": colleague, "contact_ids": [second["contact_id"]]}
    assert (await ok(await client.post(org.url(f"/members/{nurse}/handover"), json=body, headers=org.admin.headers)))["contacts"] == 1
    left = await ok(await client.get(org.url("/contacts"), headers=org.nurse.headers))
    assert [c["id"] for c in left["contacts"]] == [first["contact_id"]]
    body["contact_ids"] = [first["contact_id"], 999_999]
    resp = await client.post(org.url(f"/members/{colleague}/handover"), json=body | {"to_member_id": nurse}, headers=org.admin.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "contact_ids"


async def test_handover_to_someone_outside_the_organisation_or_to_oneself_is_refused(client, db, org):
    await add_contact(client, db, org, org.nurse)
    nurse = await member_id(db, org.id, org.nurse.id)
    resp = await client.post(org.url(f"/members/{nurse}/handover"), json={"to_member_id": 999_999}, headers=org.admin.headers)
    assert resp.status == 404 and (await resp.json())["error"]["field"] == "to_member_id"
    resp = await client.post(org.url(f"/members/{nurse}/handover"), json={"to_member_id": nurse}, headers=org.admin.headers)
    assert resp.status == 400


async def test_a_member_removed_without_a_handover_leaves_their_contacts_and_groups_to_the_first_owner(client, db, org):
    mum, joined = await add_contact(client, db, org, org.nurse, "Mum")
    chat = joined["chat_group_id"]
    await say(client, org, chat, mum, "Hello nurse")
    group = await ok(await client.post(org.url("/external-groups"), json={"name": "Parents", "contact_ids": [mum.id]}, headers=org.nurse.headers), 201)
    unused = await make_link(client, org, org.nurse)
    await ok(await client.delete(org.url(f"/members/{await member_id(db, org.id, org.nurse.id)}"), headers=org.admin.headers), 204)
    assert await bodies(client, org, chat, org.owner) == ["Hello nurse"]
    for group_id in (chat, group["id"]):
        detail = await ok(await client.get(org.url(f"/groups/{group_id}"), headers=org.owner.headers))
        assert detail["role"] == "owner" and detail["member_count"] == 2
    everyone = await ok(await client.get(org.url("/external-contacts"), headers=org.admin.headers))
    assert [(c["user_id"], c["owner_id"]) for c in everyone["contacts"]] == [(mum.id, org.owner.id)]
    # The contact chats on, now with the owner; the leaver's link no longer works.
    await say(client, org, chat, mum, "Still there?")
    late = await outsider(db)
    assert (await client.post("/api/v1/contact-links/accept", json={"token": unused["token"]}, headers=late.headers)).status == 410
    audit = await ok(await client.get(org.url("/audit?action=external_contacts."), headers=org.admin.headers))
    assert audit["items"][0]["details"]["automatic"] is True and audit["items"][0]["details"]["to_user_id"] == org.owner.id
