"""What arrived in someone's quiet hours, told in one push when they end.

A push round (server/groups/notifying.py) tells nobody in their quiet hours.
For each person it held something back from, it makes sure there is one
``quiet_summaries`` row for them and the organisation: since when (the first
message held back) and when their quiet hours end, read in the
organisation's time zone. That is a pointer per person, inserted once a night
(``ON CONFLICT DO NOTHING``: later rounds leave it as it is), whatever the
number of messages and groups; nothing is written per message. It is in the
database, so a restart loses nothing.

Once a second the worker takes up to ``BATCH`` rows that are due with one
``DELETE ... RETURNING`` (so each is one node's) and, for each person, counts
what arrived between ``since`` and the end of the quiet hours that is still
unread and not their own: the messages of the groups they have not muted,
and the mentions of them (or @all) in any group (a muted one only if they
keep ``mentions_when_muted``), an index range scan of each group's unread
messages. Nothing left to read, or a device connected (it shows the counts):
no push. Quiet again (the hours changed meanwhile): the row waits for the new end.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, func, or_, select, tuple_

from server.channels import texts
from server.channels.models import QuietSummary
from server.channels.registry import Message
from server.db import Database, Transaction
from server.db.upsert import insert_for
from server.groups.direct import peer_names
from server.groups.models import Group, GroupMember, GroupMention, GroupMessage
from server.i18n import translate

BATCH = 200  # rows taken per tick


@dataclass
class Missed:
    """What one person missed in one organisation's groups while quiet, still unread."""

    count: int = 0
    mentions: int = 0
    groups: dict[int, str] = field(default_factory=dict)  # group id -> its name as the person sees it


async def do_hold_back(tx: Transaction, held: dict[tuple[int, int], tuple[dt.datetime, dt.datetime]]) -> None:
    """Remember, once per quiet spell, that (user id, org id) missed pushes from ``since`` until ``due_at``."""
    if held:
        await tx.session.execute(
            insert_for(tx.dialect, QuietSummary).on_conflict_do_nothing(),
            [{"org_id": org_id, "user_id": user_id, "since": since, "due_at": due} for (user_id, org_id), (since, due) in held.items()],
        )


async def claim_due(db: Database, now: dt.datetime) -> list[QuietSummary]:
    """Take up to ``BATCH`` rows whose quiet hours are over (another node never gets the same rows)."""
    due = select(QuietSummary.org_id, QuietSummary.user_id).where(QuietSummary.due_at <= now).order_by(QuietSummary.due_at).limit(BATCH)
    async with db.transaction() as tx:
        rows = await tx.session.execute(
            delete(QuietSummary)
            .where(tuple_(QuietSummary.org_id, QuietSummary.user_id).in_(due), QuietSummary.due_at <= now)
            .returning(QuietSummary.org_id, QuietSummary.user_id, QuietSummary.since, QuietSummary.due_at)
            .execution_options(synchronize_session=False)
        )
        return [QuietSummary(org_id=r.org_id, user_id=r.user_id, since=r.since, due_at=r.due_at) for r in rows]


async def missed(tx: Transaction, user_id: int, since: dt.datetime, until: dt.datetime, mentions_when_muted: bool) -> Missed:
    """What arrived in [since, until) in the person's groups of the transaction's organisation and is still unread."""
    arrived = [
        GroupMessage.seq > GroupMember.read_seq,
        GroupMessage.created_at >= since,
        GroupMessage.created_at < until,
        GroupMessage.recalled_at.is_(None),
        func.coalesce(GroupMessage.sender_id, 0) != user_id,
    ]
    mine = [GroupMember.user_id == user_id, Group.last_seq > GroupMember.read_seq]
    messages = (
        await tx.session.execute(
            select(Group.id, func.count())
            .join(GroupMember, GroupMember.group_id == Group.id)
            .join(GroupMessage, GroupMessage.group_id == Group.id)
            .where(*mine, *arrived, GroupMember.muted.is_(False))
            .group_by(Group.id)
        )
    ).all()
    hearing = [] if mentions_when_muted else [GroupMember.muted.is_(False)]
    named = (
        select(GroupMessage.group_id.label("group_id"), GroupMember.muted.label("muted"))
        .join(GroupMember, GroupMember.group_id == GroupMessage.group_id)
        .join(Group, Group.id == GroupMessage.group_id)
        .outerjoin(GroupMention, and_(GroupMention.group_id == GroupMessage.group_id, GroupMention.seq == GroupMessage.seq,
                                      GroupMention.user_id == user_id))
        .where(*mine, *arrived, *hearing, or_(GroupMessage.mention_all, GroupMention.user_id.is_not(None)))
        .subquery()
    )
    mentions = (await tx.session.execute(select(named.c.group_id, named.c.muted, func.count()).group_by(named.c.group_id, named.c.muted))).all()
    counts = {group_id: count for group_id, count in messages}
    result = Missed(mentions=sum(n for _, _, n in mentions))
    for group_id, muted, n in mentions:
        if muted:  # a muted group's other messages are not told; its mentions are
            counts[group_id] = counts.get(group_id, 0) + n
    if counts:
        groups = list(await tx.session.scalars(select(Group).where(Group.id.in_(list(counts)))))
        peers = await peer_names(tx, tx.org_id, [(g.id, g.direct_key) for g in groups], [user_id])
        result.groups = {g.id: peers.get((g.id, user_id), (None, g.name))[1] for g in groups}
        result.count = sum(counts.values())
    return result


def summary_message(user_id: int, org_id: int, what: Missed, locale: str) -> Message:
    """One push for everything missed: where (one group's name, or the app's), how many messages, how many mentions."""
    if what.count == 1:
        body = translate(locale, texts.QUIET_ONE_MESSAGE)
    elif len(what.groups) == 1:
        body = translate(locale, texts.QUIET_MESSAGES, count=what.count)
    else:
        body = translate(locale, texts.QUIET_MESSAGES_IN_GROUPS, count=what.count, groups=len(what.groups))
    if what.mentions:
        body += "\n" + translate(locale, texts.QUIET_MENTIONS, mentions=what.mentions)
    data = {"type": "group.summary", "org_id": org_id, "unread": what.count, "mentions": what.mentions}
    if len(what.groups) == 1:
        (group_id, name), = what.groups.items()
        return Message(user_id, name, body, data=data | {"group_id": group_id})
    return Message(user_id, translate(locale, texts.APP_NAME), body, data=data)
