"""Telling members who are away: Web Push of new messages (batched per window) and of mentions, and the SMS digest.

Nothing is written per member when a message is posted. Each node runs one
worker that, every second:

1. finds the due groups in one scan of ``groups``: a *whole round* is due
   when there are messages since the last one (``last_seq > told_seq``) and
   ``MUSTER_GROUP_PUSH_BATCH_S`` has passed since it; a *mentions round* when
   a mention or @all came since the last mention pushed
   (``last_mention_seq > mention_told_seq``). Each is claimed with a
   compare-and-set UPDATE of its cursors, so two nodes never handle the same
   messages;
2. reads those messages and the members who have not read them all (the
   ``(group_id, read_seq)`` index) and can be told anything: a whole round,
   those with Web Push (and those named); a mentions round, only those named
   (everyone behind, for @all). A muted group tells nobody, except of a
   mention when the person kept ``mentions_when_muted``; nobody is pushed in
   their quiet hours: they get one push summing up what is still unread when
   the quiet hours end (server/groups/quiet_summaries.py);
3. asks every node which of those people have a device connected
   (server/gateway/presence.py) and leaves them out: their devices got the
   messages live;
4. sends each remaining person one push per organisation for the round (the
   latest mention not pushed yet, else "5 new messages"), through the
   platform's push channel, at most ``MUSTER_GROUP_PUSH_PER_S`` a second. People of an organisation that chose the SMS
   digest who have no push subscription and were mentioned have the
   mentions added to their digest.

So someone away gets at most one push per group per window, plus one at once
for each round of mentions naming them.

Every ``MUSTER_SMS_DIGEST_S`` a person's digest is sent as one SMS to their
number in the organisation, reserved first against the organisation's and
the number's daily SMS allowance (server/channels/paid.py): past an
allowance the digest is dropped, never sent.

Delivery is at most once: a node that stops after claiming loses that
round's pushes (the unread counts still show everything); a push that fails
is not retried. A removed member is not among the members read in step 2,
so they are told nothing from the moment they are removed.
"""
from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import Row, and_, delete, func, or_, select, update

from server.appkeys import DB, SETTINGS
from server.channels import texts
from server.i18n import translate
from server.channels.models import NotificationSettings, PushSubscription, SmsDigest
from server.channels.paid import PaidLimitExceeded, do_reserve_paid
from server.channels.preferences import DEFAULTS, Preferences, preferences_of, sms_digest_orgs
from server.channels.providers.base import ProviderError
from server.channels.registry import CHANNELS, Channels, Message
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.db.one_of import chunks
from server.db.upsert import insert_for
from server.gateway.presence import PRESENCE, Presence
from server.groups.direct import peer_names
from server.groups.models import Group, GroupMember, GroupMessage
from server.groups.quiet_summaries import claim_due, do_hold_back, missed, summary_message
from server.accounts.models import User
from server.orgs.models import Membership, Organisation

log = logging.getLogger("muster.groups")

TICK_S = 1.0
GROUPS_PER_ROUND = 200


@dataclass
class Tell:
    """What one person is told in one round."""

    org_id: int
    count: int = 0
    group_ids: list[int] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)
    mentions: int = 0
    mention: tuple[int, str, bool, str | None] | None = None  # (group id, message body, @all, sender's name) of the latest
    push: bool = False
    locale: str = "en"  # the person's language: what they are told is written in it


@dataclass(frozen=True)
class Claimed:
    """A group's messages (``after_seq``, ``last_seq``] taken by this node; mentions up to ``mention_after`` were pushed already."""

    group_id: int
    org_id: int
    name: str
    direct_key: str | None  # a direct chat's pair: its name is the other person's
    after_seq: int
    mention_after: int
    last_seq: int
    mentions_only: bool


@dataclass
class Round:
    """What one round did (for tests and the bench)."""

    groups: int = 0
    pushed: int = 0
    failed: int = 0
    digested: int = 0
    skipped_connected: int = 0
    held: int = 0  # people in their quiet hours, told when they end


class GroupNotifier:
    def __init__(self, db: Database, settings: Settings, channels: Channels, presence: Presence) -> None:
        self.db, self.settings, self.channels, self.presence = db, settings, channels, presence
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
                await self.send_due_digests()
                await self.send_due_summaries()
            except Exception:
                log.exception("telling group members who are away failed; trying again")
            try:
                await asyncio.wait_for(self._stopping.wait(), TICK_S)
            except TimeoutError:
                pass

    # --- one round -------------------------------------------------------------

    async def run_once(self, now: dt.datetime | None = None) -> Round:
        """Handle every due group once; returns what was done."""
        now = now or utcnow()
        done = Round()
        claimed = await self._claim(now)
        if not claimed:
            return done
        done.groups = len(claimed)
        tells: dict[tuple[int, int], Tell] = {}  # (user id, org id): one push per person and organisation
        held: dict[tuple[int, int], tuple[dt.datetime, dt.datetime]] = {}  # (user id, org id): (since, due) of those in quiet hours
        async with self.db.transaction() as tx:
            for group in claimed:
                await self._gather(tx, group, tells, held, now)
            await do_hold_back(tx, held)
            done.held = len(held)
            digest_orgs = await sms_digest_orgs(tx, {t.org_id for t in tells.values() if not t.push and t.mentions})
        if tells:
            connected = await self.presence.connected(list({user_id for user_id, _ in tells}))
            for key in [key for key in tells if key[0] in connected]:
                del tells[key]
                done.skipped_connected += 1
        to_push = {u: t for u, t in tells.items() if t.push}
        digests = {u: t for u, t in tells.items() if not t.push and t.mentions and t.org_id in digest_orgs}
        if digests:
            await self._add_to_digests(digests, now)
            done.digested = len(digests)
        if to_push and self.channels.push_enabled:
            results = await self._push_all(to_push)
            done.pushed = sum(results)
            done.failed = len(results) - done.pushed
        return done

    async def _claim(self, now: dt.datetime) -> list[Claimed]:
        """Take the due groups, each with a compare-and-set of its cursors: a whole round if the window passed, else its new mentions."""
        window = dt.timedelta(seconds=self.settings.group_push_batch_s)
        batch_due = and_(Group.last_seq > Group.told_seq, or_(Group.told_at.is_(None), Group.told_at <= now - window))
        async with self.db.transaction() as tx:
            due = (
                await tx.session.execute(
                    select(Group.id, Group.org_id, Group.name, Group.direct_key, Group.told_seq, Group.mention_told_seq,
                           Group.last_seq, batch_due.label("batch"))
                    .where(or_(batch_due, Group.last_mention_seq > Group.mention_told_seq))
                    .limit(GROUPS_PER_ROUND)
                )
            ).all()
            claimed = []
            for row in due:
                cursors = {"mention_told_seq": row.last_seq}
                if row.batch:
                    cursors |= {"told_seq": row.last_seq, "told_at": now}
                taken = await tx.session.execute(
                    update(Group)
                    .where(Group.id == row.id, Group.told_seq == row.told_seq, Group.mention_told_seq == row.mention_told_seq)
                    .values(**cursors)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount:
                    after = row.told_seq if row.batch else row.mention_told_seq
                    claimed.append(Claimed(row.id, row.org_id, row.name, row.direct_key, after, row.mention_told_seq, row.last_seq,
                                           not row.batch))
        return claimed

    async def _gather(self, tx: Transaction, group: Claimed, tells: dict[tuple[int, int], Tell],
                      held: dict[tuple[int, int], tuple[dt.datetime, dt.datetime]], now: dt.datetime) -> None:
        """Add what each member who is behind should hear of ``group``'s new messages to ``tells``, and those in
        their quiet hours who would have heard of them to ``held`` (since the first message held back, until the end).

        A whole round tells everyone behind with Web Push of the messages since the last one (and of mentions not
        pushed yet); a mentions round only those named since the last mention (everyone behind, for @all).
        """
        messages = (
            await tx.session.execute(
                select(GroupMessage.seq, GroupMessage.sender_id, GroupMessage.mentions, GroupMessage.mention_all, GroupMessage.body,
                       GroupMessage.created_at)
                .where(GroupMessage.group_id == group.group_id, GroupMessage.seq > group.after_seq, GroupMessage.seq <= group.last_seq,
                       GroupMessage.recalled_at.is_(None))
                .order_by(GroupMessage.seq)
            )
        ).all()
        if not messages:
            return
        seqs = [m.seq for m in messages]
        sent_by: dict[int, list[int]] = defaultdict(list)
        named: dict[int, list[int]] = defaultdict(list)
        everyone: list[int] = []
        for m in messages:
            if m.sender_id is not None:
                sent_by[m.sender_id].append(m.seq)
            if m.seq <= group.mention_after:
                continue  # its mentions were pushed in a mentions round already
            if m.mention_all:
                everyone.append(m.seq)
            else:
                for user_id in m.mentions or ():
                    named[user_id].append(m.seq)
        if group.mentions_only and not everyone and not named:
            return
        by_seq = {m.seq: m for m in messages}
        members = await _behind(tx, group, list(named), everyone=bool(everyone))
        if not members:
            return
        zone = await tx.session.scalar(select(Organisation.time_zone).where(Organisation.id == group.org_id))  # quiet hours are read in it
        direct = await peer_names(tx, group.org_id, [(group.group_id, group.direct_key)], [m.user_id for m in members])  # a direct chat is called after the other person
        senders: dict[int, str] = {}
        for member in members:
            user_id, read_seq = member.user_id, member.read_seq
            own = sent_by.get(user_id, ())
            count = _after(seqs, read_seq) - _after(own, read_seq)
            mine = [s for s in named.get(user_id, ()) if s > read_seq] + [s for s in everyone if s > read_seq and s not in own]
            if count <= 0 or (group.mentions_only and not mine) or (not member.subscribed and not mine):
                continue  # nothing new; or a mentions round not about them; only a mention reaches someone without Web Push (SMS digest)
            choice = _preferences(member)
            if member.muted and not (mine and choice.mentions_when_muted):
                continue
            if choice.quiet_at(now, zone):
                if member.subscribed:  # told when the quiet hours end, of what is still unread then
                    first = by_seq[seqs[bisect.bisect_right(seqs, read_seq)]].created_at
                    since, due = held.get((user_id, group.org_id), (first, choice.quiet_ends(now, zone)))
                    held[(user_id, group.org_id)] = (min(since, first), due)
                continue
            locale = member.locale or self.settings.default_locale
            tell = tells.setdefault((user_id, group.org_id), Tell(org_id=group.org_id, push=member.subscribed, locale=locale))
            tell.count += count
            tell.group_ids.append(group.group_id)
            tell.group_names.append(direct.get((group.group_id, user_id), (None, group.name))[1])
            if mine:
                latest = by_seq[max(mine)]
                if latest.sender_id not in senders:
                    senders[latest.sender_id] = await _name(tx, group.org_id, latest.sender_id)
                tell.mentions += len(mine)
                tell.mention = (group.group_id, latest.body, latest.mention_all, senders[latest.sender_id])

    # --- the summaries after quiet hours (server/groups/quiet_summaries.py) --------------

    async def send_due_summaries(self, now: dt.datetime | None = None) -> int:
        """Push each person whose quiet hours are over what they missed and have not read yet; returns how many went."""
        now = now or utcnow()
        claimed = await claim_due(self.db, now)
        if not claimed:
            return 0
        summaries: list[Message] = []
        again: dict[tuple[int, int], tuple[dt.datetime, dt.datetime]] = {}
        for row in claimed:
            async with self.db.transaction(org_id=row.org_id) as tx:
                choice = (await preferences_of(tx, [row.user_id])).get(row.user_id, DEFAULTS)
                zone = await tx.session.scalar(select(Organisation.time_zone).where(Organisation.id == row.org_id))
                if choice.quiet_at(now, zone):  # the hours moved: wait for their new end
                    again[(row.user_id, row.org_id)] = (row.since, choice.quiet_ends(now, zone))
                    continue
                what = await missed(tx, row.user_id, row.since, row.due_at, choice.mentions_when_muted)
                if what.count:
                    locale = (await _locales(tx, [row.user_id])).get(row.user_id) or self.settings.default_locale
                    summaries.append(summary_message(row.user_id, row.org_id, what, locale))
        if again:
            async with self.db.transaction() as tx:
                await do_hold_back(tx, again)
        if summaries:
            connected = await self.presence.connected(list({m.user_id for m in summaries}))
            summaries = [m for m in summaries if m.user_id not in connected]
        if not summaries or not self.channels.push_enabled:
            return 0
        return sum(await self.channels["push"].send_all(summaries, per_s=self.settings.group_push_per_s))

    async def _push_all(self, tells: dict[tuple[int, int], Tell]) -> list[bool]:
        messages = [push_message(user_id, tell) for (user_id, _), tell in tells.items()]
        return await self.channels["push"].send_all(messages, per_s=self.settings.group_push_per_s)

    # --- the SMS digest ------------------------------------------------------------

    async def _add_to_digests(self, tells: dict[tuple[int, int], Tell], now: dt.datetime) -> None:
        async with self.db.transaction() as tx:
            statement = insert_for(tx.dialect, SmsDigest)
            statement = statement.on_conflict_do_update(
                index_elements=["org_id", "user_id"], set_={"mentions": SmsDigest.mentions + statement.excluded.mentions}
            )
            await tx.session.execute(
                statement, [{"org_id": org_id, "user_id": user_id, "mentions": t.mentions, "first_at": now} for (user_id, org_id), t in tells.items()]
            )

    async def send_due_digests(self, now: dt.datetime | None = None) -> int:
        """Send every digest gathered for ``MUSTER_SMS_DIGEST_S``, within the SMS allowances; returns how many went."""
        now = now or utcnow()
        async with self.db.transaction() as tx:
            due = (
                await tx.session.execute(
                    select(SmsDigest.org_id, SmsDigest.user_id, SmsDigest.first_at)
                    .where(SmsDigest.first_at <= now - dt.timedelta(seconds=self.settings.sms_digest_s))
                    .limit(GROUPS_PER_ROUND)
                )
            ).all()
        sent = 0
        for org_id, user_id, first_at in due:
            claimed = await self._claim_digest(org_id, user_id, first_at)
            if claimed is None:
                continue
            phone, mentions, locale = claimed
            key = f"muster-digest-{org_id}-{user_id}-{int(first_at.timestamp())}"
            body = translate(locale or self.settings.default_locale, texts.SMS_DIGEST, count=mentions)
            try:
                await self.channels["sms"].send(Message(user_id, "", body, to=phone, idempotency_key=key))
                sent += 1
            except ProviderError as e:
                log.info("an SMS digest was not delivered: %s", e.message)
        return sent

    async def _claim_digest(self, org_id: int, user_id: int, first_at: dt.datetime) -> tuple[str, int, str | None] | None:
        """Take the digest and reserve its SMS in one transaction: (number, mentions, language), or None (taken, no number, or over a limit)."""
        try:
            async with self.db.transaction(org_id=org_id) as tx:
                mentions = await tx.session.scalar(
                    delete(SmsDigest).where(SmsDigest.org_id == org_id, SmsDigest.user_id == user_id, SmsDigest.first_at == first_at)
                    .returning(SmsDigest.mentions)
                )
                phone = await tx.session.scalar(select(Membership.phone).where(Membership.user_id == user_id))
                if mentions is None or not phone:
                    return None
                await do_reserve_paid(tx, self.channels.settings, "sms", org_id=org_id, per_number={phone: 1})
                return phone, mentions, await tx.session.scalar(select(User.locale).where(User.id == user_id))
        except PaidLimitExceeded:
            async with self.db.transaction(org_id=org_id) as tx:  # never beyond the allowance: this digest is dropped
                await tx.session.execute(delete(SmsDigest).where(SmsDigest.org_id == org_id, SmsDigest.user_id == user_id))
            return None


def _after(seqs, read_seq: int) -> int:
    """How many of the sorted ``seqs`` are above ``read_seq``."""
    return len(seqs) - bisect.bisect_right(seqs, read_seq)


async def _behind(tx: Transaction, group: Claimed, named: list[int], *, everyone: bool) -> list[Row]:
    """In one statement, the members of ``group`` who have not read its last message and can be told anything (all of
    them for @all; else those with Web Push and those ``named``; in a mentions round only those named), with what the
    round needs of each: whether they have Web Push, their language and their notification settings (none: the defaults)."""
    subscribed = select(PushSubscription.id).where(PushSubscription.user_id == GroupMember.user_id).exists()
    behind = [GroupMember.group_id == group.group_id, GroupMember.read_seq < group.last_seq]
    if not everyone:
        behind.append(GroupMember.user_id.in_(named) if group.mentions_only else or_(subscribed, GroupMember.user_id.in_(named)))
    return list(await tx.session.execute(
        select(GroupMember.user_id, GroupMember.read_seq, GroupMember.muted, subscribed.label("subscribed"), User.locale,
               NotificationSettings.quiet_start_min, NotificationSettings.quiet_end_min, NotificationSettings.mentions_when_muted)
        .join(User, User.id == GroupMember.user_id)
        .outerjoin(NotificationSettings, NotificationSettings.user_id == GroupMember.user_id)
        .where(*behind)
    ))


def _preferences(member: Row) -> Preferences:
    """A member's notification settings as ``_behind`` read them."""
    if member.mentions_when_muted is None:  # no row: never chose anything
        return DEFAULTS
    return Preferences(member.quiet_start_min, member.quiet_end_min, member.mentions_when_muted)


async def _locales(tx: Transaction, user_ids: list[int]) -> dict[int, str | None]:
    found: dict[int, str | None] = {}
    for chunk in chunks(user_ids):
        found.update((await tx.session.execute(select(User.id, User.locale).where(User.id.in_(chunk)))).all())
    return found


async def _name(tx: Transaction, org_id: int, user_id: int | None) -> str | None:
    """The sender's name as the organisation lists them; None for someone gone (the push says "someone" in the reader's language)."""
    if user_id is None:
        return None
    name = await tx.session.scalar(
        select(func.coalesce(Membership.display_name, User.name))
        .select_from(User)
        .outerjoin(Membership, and_(Membership.user_id == User.id, Membership.org_id == org_id))
        .where(User.id == user_id)
    )
    return name


def push_message(user_id: int, tell: Tell) -> Message:
    """One push for everything of a round: the latest mention, or how many new messages where."""
    locale = tell.locale
    if tell.mention is not None:
        group_id, body, everyone, sender = tell.mention
        group = tell.group_names[tell.group_ids.index(group_id)]
        sender = sender or translate(locale, texts.SOMEONE)
        title = translate(locale, texts.MENTIONED_EVERYONE if everyone else texts.MENTIONED_YOU, name=sender, group=group)
        return Message(user_id, title, body[:200], data={"type": "group.mention", "org_id": tell.org_id, "group_id": group_id})
    count = translate(locale, texts.ONE_NEW_MESSAGE) if tell.count == 1 else translate(locale, texts.NEW_MESSAGES, count=tell.count)
    if len(tell.group_ids) == 1:
        data = {"type": "group.messages", "org_id": tell.org_id, "group_id": tell.group_ids[0], "unread": tell.count}
        return Message(user_id, tell.group_names[0], count, data=data)
    body = translate(locale, texts.NEW_MESSAGES_IN_GROUPS, count=tell.count, groups=len(tell.group_ids))
    return Message(user_id, translate(locale, texts.APP_NAME), body, data={"type": "group.messages", "org_id": tell.org_id})


NOTIFIER = web.AppKey("groups_notifier", GroupNotifier)


async def _run(app: web.Application):
    await app[NOTIFIER].start()
    yield
    await app[NOTIFIER].stop()


def setup(app: web.Application) -> None:
    app[NOTIFIER] = GroupNotifier(app[DB], app[SETTINGS], app[CHANNELS], app[PRESENCE])
    if app[SETTINGS].group_push_engine:
        app.cleanup_ctx.append(_run)
