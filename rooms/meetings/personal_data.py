"""What meetings hold about a person: the meetings they hosted, co-hosted or were invited to, when they were in which
meeting, under what name.

Erasing deletes their attendance rows, co-host appointments and invitations. Meetings they
host stay (the organisation's, with their host unknown once the account
goes), and so do recordings: a recording shows everyone in it and is deleted
as a whole by a host or an admin (``.../recordings/{id}``).
"""
from __future__ import annotations

from sqlalchemy import delete, select

from rooms.models import Meeting, MeetingCoHost, MeetingInvitee, MeetingParticipant
from server.config import Settings
from server.db import Transaction
from server.personal_data.parts import PersonalDataPart, iso


async def export_meetings(tx: Transaction, user_id: int) -> dict:
    hosted = await tx.session.scalars(select(Meeting).where(Meeting.host_id == user_id).order_by(Meeting.id))
    cohosted = await tx.session.scalars(select(MeetingCoHost.meeting_id).where(MeetingCoHost.user_id == user_id))
    invited = await tx.session.scalars(select(MeetingInvitee.meeting_id).where(MeetingInvitee.user_id == user_id))
    attended = await tx.session.execute(
        select(MeetingParticipant, Meeting.title)
        .join(Meeting, Meeting.id == MeetingParticipant.meeting_id)
        .where(MeetingParticipant.user_id == user_id)
        .order_by(MeetingParticipant.id)
    )
    return {
        "hosted": [{"meeting_id": m.id, "title": m.title, "scheduled_at": iso(m.scheduled_at), "status": m.status} for m in hosted],
        "cohosted": sorted(cohosted),
        "invited": sorted(invited),
        "attended": [
            {"meeting_id": p.meeting_id, "title": title, "display_name": p.display_name, "role": p.role,
             "joined_at": iso(p.joined_at), "left_at": iso(p.left_at)}
            for p, title in attended
        ],
    }


async def erase_meetings(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    attended = await tx.session.execute(
        delete(MeetingParticipant).where(MeetingParticipant.user_id == user_id).execution_options(synchronize_session=False)
    )
    cohosts = await tx.session.execute(
        delete(MeetingCoHost).where(MeetingCoHost.user_id == user_id).execution_options(synchronize_session=False)
    )
    invitations = await tx.session.execute(
        delete(MeetingInvitee).where(MeetingInvitee.user_id == user_id).execution_options(synchronize_session=False)
    )
    return {"attendances": attended.rowcount, "cohost_appointments": cohosts.rowcount, "invitations": invitations.rowcount}


PART = PersonalDataPart("meetings", export_meetings, erase_meetings)
