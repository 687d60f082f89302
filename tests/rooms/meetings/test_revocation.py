"""Someone removed from the organisation leaves its meetings at once: seat, media, and no way back with an old ticket."""
from sqlalchemy import select

from server.orgs.models import Membership
from tests.rooms.meetings.test_signalling import attend, close_all, setup_meeting, wait_for_video


async def test_a_member_removed_from_the_organisation_loses_their_seat_and_media_and_cannot_rejoin(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)
    a = await attend(client, host.headers, host_ticket)
    await a.next("meeting.joined")
    b = await attend(client, member.headers, member_ticket)
    member_seat = (await b.next("meeting.joined"))["you"]["id"]
    await a.publish_and_subscribe()
    await b.publish_and_subscribe()
    await wait_for_video(b)

    async with db.transaction(org_id=meeting["org_id"]) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == member.id))
    resp = await client.delete(f"/api/v1/orgs/{meeting['org_id']}/members/{member_id}", headers=host.headers)
    assert resp.status == 204

    assert (await b.next("meeting.removed"))["reason"] == "removed from the organisation"
    left = await a.next("meeting.participant_left")
    assert left == {"type": "meeting.participant_left", "participant": member_seat, "reason": "removed from the organisation"}
    again = await attend(client, member.headers, member_ticket)
    assert (await again.next("error"))["error"]["code"] == "removed"
    await close_all(a, b, again)


async def test_a_ticket_issued_before_the_removal_does_not_open_a_meeting_that_was_not_live_yet(client, db):
    host, member, meeting, host_ticket, member_ticket = await setup_meeting(client, db)  # nobody has joined: not live on any node
    async with db.transaction(org_id=meeting["org_id"]) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == member.id))
    assert (await client.delete(f"/api/v1/orgs/{meeting['org_id']}/members/{member_id}", headers=host.headers)).status == 204

    late = await attend(client, member.headers, member_ticket)

    assert (await late.next("error"))["error"]["code"] == "removed"
    await close_all(late)
