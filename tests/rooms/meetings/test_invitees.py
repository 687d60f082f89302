"""A scheduled meeting's invitees change afterwards: the host, a co-host or an admin adds and removes people, who are told
at once and find the meeting on (or gone from) their upcoming list; nobody else may, and an ended meeting cannot change."""
from __future__ import annotations

from sqlalchemy import select

from rooms.meetings import meetings as meetings_module
from server.gateway.models import UserEvent
from server.orgs.models import Membership
from tests.factories import person
from tests.rooms.meetings.test_meetings_api import add_member, create, org_with_host
from tests.rooms.meetings.test_upcoming import at, upcoming


async def told(db, who) -> list[tuple[str, dict]]:
    async with db.transaction() as tx:
        return [(row.type, row.data) for row in await tx.session.execute(
            select(UserEvent.type, UserEvent.data).where(UserEvent.user_id == who.id).order_by(UserEvent.seq)
        )]


def invitees_url(org, meeting, tail: str = "") -> str:
    return f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}/invitees{tail}"


async def test_the_host_invites_more_people_and_takes_one_off_and_each_is_told(client, db, backend):
    host, org = await org_with_host(client, db)
    nina, omar = await person(client, db, "Nina"), await person(client, db, "Omar")
    for someone in (nina, omar):
        await add_member(db, org, someone)
    meeting = await create(client, host, org, title="Ward round", scheduled_at=at(2), invitee_ids=[nina.id])

    resp = await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id, nina.id, host.id]}, headers=host.headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == [{"user_id": nina.id, "display_name": "Nina"}, {"user_id": omar.id, "display_name": "Omar"}]
    assert [t for t, _ in await told(db, nina)] == ["meeting.invited"]  # invited already: not told twice
    assert await told(db, omar) == [("meeting.invited", {"org_id": org.id, "meeting_id": meeting["id"], "title": "Ward round",
                                                         "scheduled_at": meeting["scheduled_at"].replace("Z", "+00:00")})]
    assert [m["id"] for m in await upcoming(client, omar, org)] == [meeting["id"]]
    got = await (await client.get(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}", headers=host.headers)).json()
    assert got["invitee_ids"] == sorted([nina.id, omar.id])

    assert (await client.delete(invitees_url(org, meeting, f"/{nina.id}"), headers=host.headers)).status == 204
    assert (await told(db, nina))[-1] == ("meeting.uninvited", {"org_id": org.id, "meeting_id": meeting["id"]})
    assert await upcoming(client, nina, org) == []
    listed = await (await client.get(invitees_url(org, meeting), headers=omar.headers)).json()
    assert listed == [{"user_id": omar.id, "display_name": "Omar"}]
    again = await client.delete(invitees_url(org, meeting, f"/{nina.id}"), headers=host.headers)
    assert again.status == 404 and (await again.json())["error"]["field"] == "user_id"


async def test_only_members_may_be_invited_and_a_meeting_has_at_most_so_many_invitees(client, db, backend, monkeypatch):
    host, org = await org_with_host(client, db)
    nina, omar, stranger = await person(client, db, "Nina"), await person(client, db, "Omar"), await person(client, db, "Stranger")
    for someone in (nina, omar):
        await add_member(db, org, someone)
    meeting = await create(client, host, org, scheduled_at=at(2), invitee_ids=[nina.id])

    refused = await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id, stranger.id]},
                                headers={**host.headers, "Accept-Language": "zh-CN"})
    error = (await refused.json())["error"]
    assert refused.status == 400 and error["field"] == "user_ids" and str(stranger.id) in error["message"]
    assert await told(db, omar) == []  # nothing half-done

    monkeypatch.setattr(meetings_module, "MAX_INVITEES", 1)
    full = await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id]}, headers=host.headers)
    assert full.status == 400 and (await full.json())["error"]["message"] == "a meeting may have at most 1 invitees; it has 1"
    assert (await client.post(invitees_url(org, meeting), json={"user_ids": []}, headers=host.headers)).status == 400


async def test_co_hosts_and_admins_may_change_invitees_others_may_not_and_an_ended_meeting_cannot(client, db, backend):
    host, org = await org_with_host(client, db)
    cohost, admin, nina, omar = [await person(client, db, n) for n in ("Cora", "Ada", "Nina", "Omar")]
    for someone in (cohost, nina, omar):
        await add_member(db, org, someone)
    async with db.transaction(org_id=org.id) as tx:
        tx.session.add(Membership(org_id=org.id, user_id=admin.id, role="admin", display_name="Ada"))
    meeting = await create(client, host, org, scheduled_at=at(2), cohost_ids=[cohost.id], invitee_ids=[nina.id])

    by_invitee = await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id]}, headers=nina.headers)
    assert by_invitee.status == 403
    assert (await client.delete(invitees_url(org, meeting, f"/{nina.id}"), headers=omar.headers)).status == 403
    assert (await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id]}, headers=cohost.headers)).status == 200
    assert (await client.delete(invitees_url(org, meeting, f"/{omar.id}"), headers=admin.headers)).status == 204

    assert (await client.post(f"/api/v1/orgs/{org.id}/meetings/{meeting['id']}/end", headers=host.headers)).status == 200
    assert (await client.post(invitees_url(org, meeting), json={"user_ids": [omar.id]}, headers=host.headers)).status == 410
    assert (await client.delete(invitees_url(org, meeting, f"/{nina.id}"), headers=host.headers)).status == 410
