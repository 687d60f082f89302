"""Who watched a stream, when and how long, live and in replay; who of its group did not; its export.

The watch page reports presence itself (``POST /api/v1/live/{id}/presence``
every ``live_presence_s``, and once more when it is left), whether it plays
over WebRTC or HLS (HLS viewers are behind the cache, where the server never
sees them), with the kind ``live`` or ``replay``. A report extends the
person's open stretch of that kind (``live_attendance``) if it came within
``GAP_FACTOR`` times the interval, else opens a new one; the leave closes it.
Cost of a report: one indexed SELECT and one UPDATE (or INSERT); a join or a
leave also counts the stream's viewers now (one indexed COUNT over the
stretches still open) and tells everyone watching. So a class of 1,000
watching costs 50 reports a second at the default 20 s.

A stretch is ``joined_at`` to ``left_at``: watch time is their sum, so a
viewer who closed the page unannounced is counted up to their last report.
The host's dashboard (``attendance``) reads all of a stream's stretches in
one SELECT and its group's members in another, and adds them up per person;
those of the group's members (not its owners or admins) with no live
stretch did not attend.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select

from rooms.config import RoomsSettings
from rooms.live.events import tell
from rooms.models import LiveAttendance, LiveStream
from server.accounts.models import User
from server.db import Transaction, utcnow
from server.errors import Conflict
from server.forms.calendar import org_time_zone
from server.groups.models import GroupMember
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.orgs.models import Membership

GAP_FACTOR = 2.5  # reports a stretch may miss before it has ended (a phone's page paused, a slow network)
KINDS = ("live", "replay")


def _gap(settings: RoomsSettings, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=settings.live_presence_s * GAP_FACTOR)


async def do_record_presence(tx: Transaction, settings: RoomsSettings, org: OrgContext, stream: LiveStream, kind: str, *,
                             leaving: bool) -> int | None:
    """The viewer is watching (or with ``leaving``, has stopped). Returns the number watching live now when this
    report made someone start or stop watching live (everyone watching is told it too), else None."""
    if kind == "live" and stream.status != "live":
        raise Conflict("this stream is not live: it is {status}; report 'replay' for its recording", code="not_live", status=stream.status)
    if kind == "replay" and stream.status == "scheduled":
        raise Conflict("this stream has not started: there is nothing to replay", code="not_started")
    now = utcnow()
    stretch = await tx.session.scalar(
        select(LiveAttendance).where(LiveAttendance.stream_id == stream.id, LiveAttendance.user_id == org.user_id,
                                     LiveAttendance.kind == kind, LiveAttendance.closed.is_(False), LiveAttendance.left_at > _gap(settings, now))
        .order_by(LiveAttendance.left_at.desc()).limit(1))
    if stretch is not None:
        stretch.left_at, stretch.closed = now, leaving
    elif not leaving:
        tx.session.add(LiveAttendance(org_id=stream.org_id, stream_id=stream.id, user_id=org.user_id, name=org.principal.name,
                                      guest=org.principal.is_guest, kind=kind, joined_at=now, left_at=now))
    await tx.session.flush()
    if kind != "live" or (stretch is not None) != leaving:
        return None
    count = await viewers_now(tx, settings, stream)
    tell(tx, stream.id, "live.viewers", {"viewers": count})
    return count


async def viewers_now(tx: Transaction, settings: RoomsSettings, stream: LiveStream) -> int:
    """People watching the stream live now, on any node, over WebRTC or HLS: those with an open live stretch (none once it ended)."""
    if stream.status != "live":
        return 0
    return await tx.session.scalar(
        select(func.count(func.distinct(LiveAttendance.user_id))).where(
            LiveAttendance.stream_id == stream.id, LiveAttendance.kind == "live", LiveAttendance.closed.is_(False),
            LiveAttendance.left_at > _gap(settings, utcnow()))) or 0


@dataclass
class Attendee:
    user_id: int
    name: str
    guest: bool
    first_joined_at: dt.datetime | None = None
    last_left_at: dt.datetime | None = None
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    stretches: int = 0


async def attendance(tx: Transaction, stream: LiveStream) -> tuple[list[Attendee], list[Attendee]]:
    """Those who watched (first to join first) and the group's members who did not, by name. Two SELECTs."""
    people: dict[int, Attendee] = {}
    stretches = await tx.session.scalars(select(LiveAttendance).where(LiveAttendance.stream_id == stream.id).order_by(LiveAttendance.joined_at))
    for stretch in stretches:
        person = people.setdefault(stretch.user_id, Attendee(stretch.user_id, stretch.name, stretch.guest))
        person.seconds[stretch.kind] += (stretch.left_at - stretch.joined_at).total_seconds()
        person.stretches += 1
        if stretch.kind == "live":
            person.first_joined_at = person.first_joined_at or stretch.joined_at
            person.last_left_at = max(person.last_left_at or stretch.left_at, stretch.left_at)
    members = await tx.session.execute(
        select(GroupMember.user_id, func.coalesce(Membership.display_name, User.name))
        .join(User, User.id == GroupMember.user_id)
        .join(Membership, and_(Membership.org_id == GroupMember.org_id, Membership.user_id == GroupMember.user_id), isouter=True)
        .where(GroupMember.group_id == stream.group_id, GroupMember.role == "member"))
    live = {p.user_id for p in people.values() if p.first_joined_at is not None}
    absent = sorted((Attendee(user_id, name, False) for user_id, name in members if user_id not in live), key=lambda a: a.name)
    return list(people.values()), absent


EXPORT_HEADER = (_("Name"), _("Guest"), _("Attended live"), _("Joined"), _("Left"), _("Minutes live"), _("Minutes in replay"), _("Times joined"))


def export_header(locale: str) -> list[str]:
    return [translate(locale, text) for text in EXPORT_HEADER]


async def export_pages(tx: Transaction, stream: LiveStream) -> AsyncIterator[list[list[Any]]]:
    """For server/table_export.py: the attendance as one page of rows (who watched, then who did not), times in the organisation's zone."""
    zone = await org_time_zone(tx)
    present, absent = await attendance(tx, stream)

    def local(at: dt.datetime | None) -> dt.datetime | None:
        return at.astimezone(zone).replace(tzinfo=None) if at is not None else None

    rows = [[p.name, p.guest, p.first_joined_at is not None, local(p.first_joined_at), local(p.last_left_at),
             round(p.seconds["live"] / 60, 1), round(p.seconds["replay"] / 60, 1), p.stretches] for p in present]
    rows += [[a.name, False, False, None, None, 0.0, 0.0, 0] for a in absent]

    async def pages() -> AsyncIterator[list[list[Any]]]:
        yield rows

    return pages()
