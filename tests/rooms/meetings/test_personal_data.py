"""Meetings' share of a person's data: when they were in which meeting and what they were invited to, exported and
erased; hosted meetings stay."""
from __future__ import annotations

from sqlalchemy import select

from rooms.models import Meeting, MeetingParticipant
from server.db import utcnow
from server.orgs.models import Membership
from tests.factories import person
from tests.rooms.meetings.test_meetings_api import add_member, create, org_with_host


async def test_attendance_is_exported_and_erased_and_the_meetings_stay(client, db, backend):
    host, org = await org_with_host(client, db)
    guest_of_honour = await person(client, db, "Gu Wei")
    await add_member(db, org, guest_of_honour)
    meeting = await create(client, host, org, title="Ward round", invitee_ids=[guest_of_honour.id])
    async with db.transaction(org_id=org.id) as tx:
        tx.session.add(MeetingParticipant(org_id=org.id, meeting_id=meeting["id"], user_id=guest_of_honour.id, display_name="Dr Gu",
                                          role="member", joined_at=utcnow()))
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == guest_of_honour.id))
        host_member = await tx.session.scalar(select(Membership.id).where(Membership.user_id == host.id))
    base = f"/api/v1/orgs/{org.id}/members"

    exported = await (await client.get(f"{base}/{member_id}/personal-data", headers=host.headers)).json()
    assert [(a["title"], a["display_name"]) for a in exported["parts"]["meetings"]["attended"]] == [("Ward round", "Dr Gu")]
    assert exported["parts"]["meetings"]["invited"] == [meeting["id"]]
    hosted = await (await client.get(f"{base}/{host_member}/personal-data", headers=host.headers)).json()
    assert [m["title"] for m in hosted["parts"]["meetings"]["hosted"]] == ["Ward round"]

    erased = await (await client.post(f"{base}/{member_id}/erasure", json={"confirm": True}, headers=host.headers)).json()
    assert erased["erased"]["meetings"] == {"attendances": 1, "cohost_appointments": 0, "invitations": 1}
    async with db.transaction(org_id=org.id) as tx:
        assert list(await tx.session.scalars(select(MeetingParticipant.id))) == []
        assert (await tx.session.get(Meeting, meeting["id"])).title == "Ward round"
