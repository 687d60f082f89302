"""Pinned announcements, and who has and has not opened them.

An announcement is a message of kind ``announcement`` (it takes the group's
next sequence number like any message, so it arrives live and in history)
plus a pin. Opening is recorded once per person in a small table; "not
opened" is the members without a row there, so nothing is written for the
members who do nothing.
"""
from __future__ import annotations

from sqlalchemy import and_, delete, exists, func, select

from server.config import Settings
from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import NotFound
from server.i18n import _
from server.groups.access import GroupAccess
from server.groups.events import publish_to_group
from server.groups.membership import member_count
from server.groups.messages import do_post_message, messages_out
from server.groups.models import AnnouncementOpen, GroupAnnouncement, GroupMember, GroupMessage
from server.groups.reading import members_who
from server.groups.schemas import AnnouncementOut, OpensOut


async def do_announce(tx: Transaction, access: GroupAccess, settings: Settings, body: str) -> AnnouncementOut:
    """Post and pin an announcement (group admins)."""
    access.require_role("admin", _("post announcements"))
    message = await do_post_message(tx, access, settings, body=body, kind="announcement")
    pin = GroupAnnouncement(org_id=access.group.org_id, group_id=access.group.id, seq=message.seq, pinned_by=access.user_id, pinned_at=utcnow())
    tx.session.add(pin)
    await tx.session.flush()
    # The author has read it; opening is separate from reading, but an author does not need to open their own notice.
    await do_open(tx, access, message.seq)
    total = await member_count(tx, access.group.id)
    return AnnouncementOut(message=message, pinned_by=pin.pinned_by, pinned_at=pin.pinned_at, opened_count=1, not_opened_count=total - 1, opened_by_me=True)


async def do_unpin(tx: Transaction, access: GroupAccess, seq: int) -> None:
    access.require_role("admin", _("unpin announcements"))
    await _load_pin(tx, access.group.id, seq)
    await tx.session.execute(
        delete(GroupAnnouncement)
        .where(GroupAnnouncement.group_id == access.group.id, GroupAnnouncement.seq == seq)
        .execution_options(synchronize_session=False)
    )
    publish_to_group(tx, access.group.id, {"type": "group.announcement_unpinned", "group_id": access.group.id, "seq": seq})


async def do_open(tx: Transaction, access: GroupAccess, seq: int) -> None:
    """Record that the caller opened the announcement (once; opening again changes nothing)."""
    await _load_pin(tx, access.group.id, seq)
    await tx.session.execute(
        insert_for(tx.dialect, AnnouncementOpen)
        .values(org_id=access.group.org_id, group_id=access.group.id, seq=seq, user_id=access.user_id, opened_at=utcnow())
        .on_conflict_do_nothing()
    )


async def _load_pin(tx: Transaction, group_id: int, seq: int) -> GroupAnnouncement:
    pin = await tx.session.scalar(select(GroupAnnouncement).where(GroupAnnouncement.group_id == group_id, GroupAnnouncement.seq == seq))
    if pin is None:
        raise NotFound("no such pinned announcement in this group")
    return pin


async def pinned(tx: Transaction, access: GroupAccess) -> list[AnnouncementOut]:
    """The pinned announcements, newest first, with how many members opened each."""
    group_id = access.group.id
    pins = list(
        await tx.session.scalars(select(GroupAnnouncement).where(GroupAnnouncement.group_id == group_id).order_by(GroupAnnouncement.seq.desc()))
    )
    if not pins:
        return []
    seqs = [p.seq for p in pins]
    messages = {m.seq: m for m in await messages_out(tx, list(await tx.session.scalars(select(GroupMessage).where(GroupMessage.group_id == group_id, GroupMessage.seq.in_(seqs)))))}
    opened = dict(
        (
            await tx.session.execute(
                select(AnnouncementOpen.seq, func.count())
                .join(GroupMember, and_(GroupMember.group_id == AnnouncementOpen.group_id, GroupMember.user_id == AnnouncementOpen.user_id))
                .where(AnnouncementOpen.group_id == group_id, AnnouncementOpen.seq.in_(seqs))
                .group_by(AnnouncementOpen.seq)
            )
        ).all()
    )
    mine = set(
        await tx.session.scalars(
            select(AnnouncementOpen.seq).where(AnnouncementOpen.group_id == group_id, AnnouncementOpen.user_id == access.user_id, AnnouncementOpen.seq.in_(seqs))
        )
    )
    total = await member_count(tx, group_id)
    return [
        AnnouncementOut(
            message=messages[p.seq],
            pinned_by=p.pinned_by,
            pinned_at=p.pinned_at,
            opened_count=opened.get(p.seq, 0),
            not_opened_count=total - opened.get(p.seq, 0),
            opened_by_me=p.seq in mine,
        )
        for p in pins
    ]


async def opens(tx: Transaction, access: GroupAccess, seq: int, *, state: str, after_user_id: int, limit: int) -> OpensOut:
    """Counts of opened / not opened among current members, and one page of either list, by user id."""
    group_id = access.group.id
    await _load_pin(tx, group_id, seq)
    has_opened = exists().where(
        AnnouncementOpen.group_id == group_id, AnnouncementOpen.seq == seq, AnnouncementOpen.user_id == GroupMember.user_id
    )
    page, people = await members_who(tx, [GroupMember.group_id == group_id], has_opened,
                                     state="done" if state == "opened" else "not_done", after_user_id=after_user_id, limit=limit)
    return OpensOut(seq=seq, opened_count=page.done_count, not_opened_count=page.not_done_count, state=state, members=people,
                    next_after_user_id=page.next_after)
