"""A person's upcoming meetings: the ones they host, co-host or were invited to that have not ended.

Live meetings come first, then scheduled ones by start. A scheduled meeting
nobody started leaves the list ``FORGOTTEN_AFTER`` past its start. Cost: one
SELECT for the meetings (two ``EXISTS`` on the co-host and invitee indexes) and
one each for their co-hosts and invitees, whatever the number of meetings.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import case, exists, or_, select

from rooms.models import Meeting, MeetingCoHost, MeetingInvitee
from server.db import Transaction, utcnow

FORGOTTEN_AFTER = dt.timedelta(hours=12)
LIMIT = 100


async def upcoming_meetings(tx: Transaction, user_id: int, *, until: dt.datetime | None = None, limit: int = LIMIT) -> list[Meeting]:
    """Meetings of the person in the transaction's organisation, live first; with ``until``, scheduled ones starting by then."""
    mine = or_(
        Meeting.host_id == user_id,
        exists().where(MeetingCoHost.meeting_id == Meeting.id, MeetingCoHost.user_id == user_id),
        exists().where(MeetingInvitee.meeting_id == Meeting.id, MeetingInvitee.user_id == user_id),
    )
    scheduled = (Meeting.status == "scheduled") & (Meeting.scheduled_at > utcnow() - FORGOTTEN_AFTER)
    if until is not None:
        scheduled &= Meeting.scheduled_at <= until
    query = (
        select(Meeting).where(mine, or_(Meeting.status == "live", scheduled))
        .order_by(case((Meeting.status == "live", 0), else_=1), Meeting.scheduled_at, Meeting.id).limit(limit)
    )
    return list(await tx.session.scalars(query))


async def people_of(tx: Transaction, meeting_ids: list[int]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """The co-hosts and the invitees of each meeting (two queries for any number of meetings)."""
    found = []
    for model in (MeetingCoHost, MeetingInvitee):
        by_meeting: dict[int, list[int]] = defaultdict(list)
        if meeting_ids:
            rows = await tx.session.execute(
                select(model.meeting_id, model.user_id).where(model.meeting_id.in_(meeting_ids)).order_by(model.user_id)
            )
            for meeting_id, user_id in rows:
                by_meeting[meeting_id].append(user_id)
        found.append(by_meeting)
    return found[0], found[1]
