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

from sqlalchemy import and_, case, func, select, update

from server.accounts.models import User
from server.db import Transaction
from server.gateway.events import emit
from server.groups.access import GroupAccess
from server.groups.direct import peer_names
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
    """The person's groups, most recently active first; a direct chat under the other person's name."""
    rows = (
        await tx.session.execute(
            select(Group.id, Group.name, Group.kind, Group.direct_key, Group.last_seq, Group.last_change_seq, GroupMember.role,
                   GroupMember.muted, GroupMember.read_seq, unread_mentions_of_member())
            .join(GroupMember, GroupMember.group_id == Group.id)
            .where(GroupMember.user_id == user_id)
            .order_by(Group.last_seq.desc(), Group.id)
        )
    ).all()
    peers = await peer_names(tx, tx.org_id, [(r.id, r.direct_key) for r in rows], [user_id])
    groups = []
    for r in rows:
        peer_id, name = peers.get((r.id, user_id), (None, r.name))
        fields = r._asdict() | {"name": name, "peer_id": peer_id}
        del fields["direct_key"]
        groups.append(MyGroupOut(**fields, unread=max(r.last_seq - r.read_seq, 0)))
    return groups


def member_name_column():
    """A member's name as the organisation lists them; a guest's own name."""
    return func.coalesce(Membership.display_name, User.name)


def member_name():
    return member_name_column().label("name")


def with_names(query):
    return query.join(User, User.id == GroupMember.user_id).outerjoin(
        Membership, and_(Membership.user_id == GroupMember.user_id, Membership.org_id == GroupMember.org_id)
    )


async def readers(
    tx: Transaction, access: GroupAccess, seq: int, sender_id: int | None, *, state: str, after_user_id: int, limit: int
) -> ReadersOut:
    """Counts of read/unread and one page of either list, by user id; the sender is in neither."""
    group_id = access.group.id
    others = [GroupMember.group_id == group_id]
    if sender_id is not None:
        others.append(GroupMember.user_id != sender_id)
    has_read = GroupMember.read_seq >= seq
    counts = (
        await tx.session.execute(
            select(func.count(case((has_read, 1))), func.count(case((~has_read, 1)))).select_from(GroupMember).where(*others)
        )
    ).one()
    page = await tx.session.execute(
        with_names(select(GroupMember.user_id, member_name()))
        .where(*others, has_read if state == "read" else ~has_read, GroupMember.user_id > after_user_id)
        .order_by(GroupMember.user_id)
        .limit(limit + 1)
    )
    people = [PersonOut(user_id=r.user_id, name=r.name) for r in page]
    more = len(people) > limit
    people = people[:limit]
    return ReadersOut(
        seq=seq,
        read_count=counts[0],
        unread_count=counts[1],
        state=state,
        members=people,
        next_after_user_id=people[-1].user_id if more else None,
    )
