"""Mentions: who was named in which message, each person's unread mentions, and the badge event that tells them.

A post with mentions inserts one ``group_mentions`` row per person named,
taken from the group's members (one ``INSERT ... SELECT ... RETURNING``: the
statement that stores them is the one that proves they are members; not for
@all, which the message itself records, and whose names are only checked). A person's
unread mentions in a group are their rows plus the group's @all messages
(from others) above their ``read_seq``: two index range scans per group,
whatever the group's size.

When a post or a recall changes the count of people it names, they get a
``group.mentions`` event (``{org_id, group_id, unread_mentions}``) on every
device; people with the same new count share one ``emit``. At most 100
people are named in a message, so this costs the same in a group of 10 or
10,000. @all tells nobody one by one: every member's devices get the
``group.message`` frame with ``mention_all`` (and ``group.message_updated``
when it is recalled) and count it themselves, and the API's counts
(``GET .../mentions``, ``GET .../groups``) include it, so an @all costs a
post nothing more, whatever the group's size. A read sends the count left
in the group with the ``group.read`` event (server/groups/reading.py).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import BigInteger, delete, func, literal, select

from server.db import Transaction
from server.db.one_of import batch_one_of
from server.errors import InvalidInput
from server.gateway.events import emit
from server.groups.models import GroupMember, GroupMention, GroupMessage
from server.groups.schemas import MentionCountOut, MentionsOut

MENTIONS_EVENT = "group.mentions"
_mentions = GroupMention.__table__  # the table, not the class: the ORM would make its own bulk insert of the statement


def unread_mentions_of_member():
    """A column: the unread mentions of the ``GroupMember`` row it is selected with."""
    direct = (
        select(func.count())
        .where(GroupMention.group_id == GroupMember.group_id, GroupMention.user_id == GroupMember.user_id, GroupMention.seq > GroupMember.read_seq)
        .scalar_subquery()
    )
    everyone = (
        select(func.count())
        .where(
            GroupMessage.group_id == GroupMember.group_id,
            GroupMessage.mention_all,
            GroupMessage.seq > GroupMember.read_seq,
            func.coalesce(GroupMessage.sender_id, 0) != GroupMember.user_id,
        )
        .scalar_subquery()
    )
    return (direct + everyone).label("unread_mentions")


async def do_record_mentions(tx: Transaction, message: GroupMessage) -> None:
    """Store who ``message`` names and tell each of them their new count (@all: see the module's docstring);
    refuses the message if anyone it names is not a member of its group."""
    named = [u for u in message.mentions or () if u != message.sender_id]  # a sender is a member; naming oneself tells nobody
    if not named:
        return
    members = select(GroupMember.user_id).where(GroupMember.group_id == message.group_id, batch_one_of(tx, GroupMember.user_id, named))
    if message.mention_all:
        check_members(named, set(await tx.session.scalars(members)))
        return
    at = [literal(v, BigInteger) for v in (message.org_id, message.group_id, message.seq)]
    stored = _mentions.insert().from_select(["org_id", "group_id", "seq", "user_id"], members.with_only_columns(*at, GroupMember.user_id))
    check_members(named, set(await tx.session.scalars(stored.returning(_mentions.c.user_id))))
    await do_tell_counts(tx, message.org_id, message.group_id, named)


def check_members(named: Collection[int], members: Collection[int]) -> None:
    outsiders = sorted(set(named) - set(members))
    if outsiders:
        raise InvalidInput("mentioned people are not members of this group: {outsiders}", field="mentions", outsiders=", ".join(map(str, outsiders)))


async def do_forget_mentions(tx: Transaction, message: GroupMessage, named: Collection[int], mention_all: bool) -> None:
    """A recalled message names nobody any more: its rows go, and those it named get their lower count."""
    await tx.session.execute(
        delete(GroupMention).where(GroupMention.group_id == message.group_id, GroupMention.seq == message.seq).execution_options(synchronize_session=False)
    )
    if named and not mention_all:
        await do_tell_counts(tx, message.org_id, message.group_id, [u for u in named if u != message.sender_id])


async def do_tell_counts(tx: Transaction, org_id: int, group_id: int, user_ids: Collection[int]) -> None:
    """One ``group.mentions`` event per distinct count to these members, after commit."""
    if not user_ids:
        return
    query = select(GroupMember.user_id, unread_mentions_of_member()).where(GroupMember.group_id == group_id,
                                                                           batch_one_of(tx, GroupMember.user_id, list(user_ids)))
    by_count: dict[int, list[int]] = defaultdict(list)
    for user_id, count in await tx.session.execute(query):
        by_count[count].append(user_id)
    for count, users in by_count.items():
        await emit(tx, users, MENTIONS_EVENT, {"org_id": org_id, "group_id": group_id, "unread_mentions": count})


async def unread_mentions(tx: Transaction, user_id: int, group_id: int | None = None) -> MentionsOut:
    """The person's unread mentions in each of their groups of the transaction's organisation that has any, and the total."""
    query = select(GroupMember.group_id, unread_mentions_of_member()).where(GroupMember.user_id == user_id)
    if group_id is not None:
        query = query.where(GroupMember.group_id == group_id)
    groups = [MentionCountOut(group_id=g, unread_mentions=n) for g, n in await tx.session.execute(query.order_by(GroupMember.group_id)) if n]
    return MentionsOut(total=sum(g.unread_mentions for g in groups), groups=groups)
