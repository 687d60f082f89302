"""Sending urgent broadcasts: who gets them, what is reported, who may send."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from notify.models import BroadcastRecipient
from server.gateway.models import UserEvent
from tests.factories import make_org, person
from tests.notify.conftest import add_member
from tests.server.audiences.test_expand import direct_members  # noqa: F401  (a fixture: the kind "test_direct")


def url(org, path: str = "") -> str:
    return f"/api/v1/orgs/{org.id}/broadcasts{path}"


async def send(client, org, recipients: dict, headers=None, **extra):
    body = {"title": "Code red", "body": "Evacuate ward 3 now.", "recipients": recipients, **extra}
    return await client.post(url(org), json=body, headers=headers or org.admin.headers)


async def test_a_department_reaches_its_sub_departments_and_the_list_is_kept(client, db, org, backend):
    resp = await send(client, org, {"department_ids": [org.departments["surgery"]]})
    assert resp.status == 201, await resp.text()
    sent = await resp.json()
    assert sent["recipient_count"] == 2  # nina (Ward 3, under Surgery) and noah (Surgery), not hana (Hospital)
    assert sent["counts"] == {"sent": 2, "delivered": 0, "read": 0, "confirmed": 0}
    async with db.transaction(org_id=org.id) as tx:
        kept = set(await tx.session.scalars(select(BroadcastRecipient.user_id).where(BroadcastRecipient.broadcast_id == sent["id"])))
        events = (await tx.session.execute(select(UserEvent.user_id, UserEvent.type, UserEvent.data))).all()
    assert kept == {org.people["nina"], org.people["noah"]}
    received = {u: d for u, t, d in events if t == "broadcast.received"}
    assert received.keys() == kept
    assert received[org.people["nina"]]["title"] == "Code red" and received[org.people["nina"]]["broadcast_id"] == sent["id"]


async def test_everyone_means_every_member_including_the_sender(client, org, backend):
    sent = await (await send(client, org, {"everyone": True})).json()
    assert sent["recipient_count"] == 6


async def test_an_invited_account_is_no_recipient_until_it_accepts(client, db, org, backend):
    invitee = await person(client, db, "Ivy Invited")
    invited = await client.post(f"/api/v1/orgs/{org.id}/invitations", json={"display_name": "Ivy", "email": invitee.email},
                                headers=org.admin.headers)
    assert invited.status == 201

    assert (await (await send(client, org, {"everyone": True})).json())["recipient_count"] == 6
    named = await (await send(client, org, {"user_ids": [invitee.id, org.people["pat"]]})).json()
    assert named["recipient_count"] == 1 and named["unknown"]["user_ids"] == [invitee.id]

    accepted = await client.post(f"/api/v1/invitations/{(await invited.json())['id']}/accept", headers=invitee.headers)
    assert accepted.status == 200
    assert (await (await send(client, org, {"everyone": True})).json())["recipient_count"] == 7


async def test_unknown_ids_are_reported_and_everyone_else_is_still_sent(client, org, backend):
    resp = await send(client, org, {"user_ids": [org.people["pat"], 999_999], "department_ids": [888_888], "group_ids": [777_777]})
    assert resp.status == 201
    sent = await resp.json()
    assert sent["recipient_count"] == 1
    assert sent["unknown"] == {"user_ids": [999_999], "department_ids": [888_888], "group_ids": [777_777], "parts": {}}


async def test_an_empty_recipient_set_is_a_400_that_names_the_unknown_ids(client, org, backend):
    nothing = await send(client, org, {})
    assert nothing.status == 400 and "recipients" in (await nothing.json())["error"]["message"]
    only_unknown = await send(client, org, {"user_ids": [999_999]})
    error = (await only_unknown.json())["error"]
    assert only_unknown.status == 400 and error["code"] == "no_recipients" and "999999" in error["message"]


async def test_a_member_needs_the_permission_which_an_admin_can_grant(client, db, org, backend):
    member = await person(client, db, "Mo Member")
    await add_member(db, org.id, member.id, "Mo Member")
    refused = await send(client, org, {"everyone": True}, headers=member.headers)
    assert refused.status == 403 and "may not send" in (await refused.json())["error"]["message"]
    not_admin = await client.put(f"/api/v1/orgs/{org.id}/broadcast-senders/{member.id}", headers=member.headers)
    assert not_admin.status == 403
    granted = await client.put(f"/api/v1/orgs/{org.id}/broadcast-senders/{member.id}", headers=org.admin.headers)
    assert granted.status == 200
    assert (await send(client, org, {"everyone": True}, headers=member.headers)).status == 201
    await client.delete(f"/api/v1/orgs/{org.id}/broadcast-senders/{member.id}", headers=org.admin.headers)
    assert (await send(client, org, {"everyone": True}, headers=member.headers)).status == 403


async def test_another_organisation_sees_nothing(client, db, org, backend):
    sent = await (await send(client, org, {"everyone": True})).json()
    outsider = await person(client, db, "Otto Outsider")
    other = await make_org(db, outsider.user)
    assert (await client.get(url(org, f"/{sent['id']}"), headers=outsider.headers)).status == 404
    assert (await client.get(f"/api/v1/orgs/{other.id}/broadcasts/{sent['id']}", headers=outsider.headers)).status == 404
    cross = await client.post(f"/api/v1/orgs/{other.id}/broadcasts", headers=outsider.headers,
                              json={"title": "x", "body": "y", "recipients": {"user_ids": [org.people["nina"]]}})
    assert cross.status == 400 and (await cross.json())["error"]["code"] == "no_recipients"  # org A's people are unknown in B


async def test_bad_input_is_a_clear_400(client, org, backend):
    no_title = await client.post(url(org), json={"body": "b", "recipients": {"everyone": True}}, headers=org.admin.headers)
    assert no_title.status == 400 and (await no_title.json())["error"]["field"] == "title"
    bad_link = await send(client, org, {"everyone": True}, attachments=[{"name": "plan", "url": "javascript:alert(1)"}])
    assert bad_link.status == 400 and "http" in (await bad_link.json())["error"]["message"]


async def test_a_group_reaches_its_members(client, db, org, backend):
    from server.groups.models import Group, GroupMember

    async with db.transaction(org_id=org.id) as tx:
        group = Group(org_id=org.id, name="Night shift", member_limit=100)
        tx.session.add(group)
        await tx.session.flush()
        tx.session.add_all([GroupMember(org_id=org.id, group_id=group.id, user_id=org.people[n]) for n in ("hana", "tess")])
    sent = await (await send(client, org, {"group_ids": [group.id], "user_ids": [org.people["tess"]]})).json()
    recipients = await (await client.get(url(org, f"/{sent['id']}/recipients"), headers=org.admin.headers)).json()
    assert sorted(r["name"] for r in recipients["items"]) == ["Hana", "Tess"]  # tess named twice, told once


@pytest.mark.usefixtures("direct_members")
async def test_a_kind_of_audience_a_capability_registers_is_sent_to_and_its_unknown_ids_reported(client, org, backend):
    d = org.departments
    resp = await send(client, org, {"parts": {"test_direct": [d["hospital"], 999_999]}, "user_ids": [org.people["pat"]]})
    assert resp.status == 201, await resp.text()
    sent = await resp.json()
    assert sent["recipient_count"] == 2  # hana (Hospital itself, not those under it) and pat
    assert sent["unknown"] == {"user_ids": [], "department_ids": [], "group_ids": [], "parts": {"test_direct": [999_999]}}
    unregistered = await send(client, org, {"parts": {"school_units": [1]}})
    assert unregistered.status == 400 and (await unregistered.json())["error"]["field"] == "recipients.parts"
