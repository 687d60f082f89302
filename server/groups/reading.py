"""Read pointers: one ``read_seq`` per member per group, and everything derived from it.

* unread for a member = ``groups.last_seq - group_members.read_seq``;
* a message ``seq`` is read by the members with ``read_seq >= seq``, and not
  yet read by the others. Both lists and their counts are range scans of the
  ``(group_id, read_seq)`` index, so asking "who has not read the notice" in a
  10,000-member group reads the pointers, never 10,000 receipt rows.

Marking read only moves the pointer forward, so a slow device that reports an
older position cannot undo a newer one. When it moves, a ``group.read``
event (with the reader's unread mentions left in the group) goes to the
reader's *other* devices, which clear their badge.
"""
from __future__ import annotations

from sqlalchemy import and_, func, select, update

from server.accounts.models import User
from server.db import Transaction
from server.db.keyset import State, WhoHasPage, who_has
from server.gateway.events import emit
from server.groups.access import GroupAccess
from server.groups.mentions import unread_mentions, unread_mentions_of_member
from server.groups.models import Group, GroupMember
from server.groups.schemas import MyGroupOut, PersonOut, ReadersOut
from server.orgs.models import Membership


async def do_mark_read(tx: Transaction, access: GroupAccess, seq: int) -> int:
    """Move the caller's read pointer up to ``seq`` (at most the group's last); returns the pointer."""
    target = min(seq, access.group.last_seq)
    moved = await tx.session.execute(
        update(GroupMember)
        .where(GroupMember.group_id == access.group.id, GroupMember.user_id == access.user_id, GroupMember.read_seq < target)
        .values(read_seq=target)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount:
        access.member.read_seq = target
        mentions = (await unread_mentions(tx, access.user_id, access.group.id)).total
        await emit(tx, [access.user_id], "group.read",
                   {"org_id": access.group.org_id, "group_id": access.group.id, "read_seq": target, "unread_mentions": mentions})
    return access.member.read_seq


async def my_groups(tx: Transaction, user_id: int) -> list[MyGroupOut]:
    rows = await tx.session.execute(
        select(Group.id, Group.name, Group.last_seq, Group.last_change_seq, GroupMember.role, GroupMember.muted, GroupMember.read_seq,
               unread_mentions_of_member())
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
        .order_by(Group.last_seq.desc(), Group.id)
    )
    return [
        MyGroupOut(**r._asdict(), unread=max(r.last_seq - r.read_seq, 0))
        for r in rows
    ]


def member_name():
    """A member's name as the organisation lists them; a guest's own name."""
    return func.coalesce(Membership.display_name, User.name).label("name")


def with_names(query):
    return query.join(User, User.id == GroupMember.user_id).outerjoin(
        Membership, and_(Membership.user_id == GroupMember.user_id, Membership.org_id == GroupMember.org_id)
    )


async def members_who(
    tx: Transaction, conditions: list, done, *, state: State, after_user_id: int, limit: int
) -> tuple[WhoHasPage, list[PersonOut]]:
    """Among the group members matching ``conditions``: how many have and have not done something (``done``), and one
    page of those in ``state``, with their names (a message's readers, an announcement's opens)."""
    page = await who_has(
        tx, select(GroupMember.user_id).where(*conditions), done, GroupMember.user_id, state=state, after=after_user_id,
        limit=limit, listed=lambda chosen: with_names(chosen.add_columns(member_name())),
    )
    return page, [PersonOut(user_id=user_id, name=name) for user_id, name in page.rows]


async def readers(
    tx: Transaction, access: GroupAccess, seq: int, sender_id: int | None, *, state: str, after_user_id: int, limit: int
) -> ReadersOut:
    """Counts of read/unread and one page of either list, by user id; the sender is in neither."""
    others = [GroupMember.group_id == access.group.id]
    if sender_id is not None:
        others.append(GroupMember.user_id != sender_id)
    page, people = await members_who(tx, others, GroupMember.read_seq >= seq, state="done" if state == "read" else "not_done",
                                     after_user_id=after_user_id, limit=limit)
    return ReadersOut(seq=seq, read_count=page.done_count, unread_count=page.not_done_count, state=state, members=people,
                      next_after_user_id=page.next_after)
