"""Reminding a round's non-submitters: at scheduled times, or by one click ("remind the rest"), each person once.

A reminder is a row (``form_reminders``), so it survives a restart and is
done once whichever nodes run:

* **Claim.** A node takes a due reminder with a conditional UPDATE (nobody
  holds it, or its holder's lease ran out): two nodes never both hold it.
* **The connected first.** The holder's first step asks the nodes once who
  has a device connected (``Presence.everyone``, server/gateway/presence.py)
  and, in one statement, which of them the respondent kind says to remind for
  a respondent who has not submitted (the kind's ``reminded`` is a select the
  database joins with the connected ids); those get the in-app event
  (``form.reminder``, server/gateway/events.py) in that transaction, which
  moves ``progress_after`` from 0 to -1 conditional on the claim. However
  many respondents, the connected hear within a second or two of the due
  time (bench/health.py: 18,000 of 20,000 devices among 240,000 children).
* **Batches.** Then the holder goes through the non-submitters in respondent
  id order after ``progress_after``, ``batch`` at a time (under the
  reminder's department, if it has one), for everyone else. In one
  transaction per batch it selects the batch's people in the database (a
  join, not an id list), leaving out those the first step told (their stream
  holds this reminder's event) and those an earlier batch had (the guardian
  of two children), asks which of them connected since (they get the in-app
  event now), reserves the SMS the organisation's policy sends to the others
  (server/channels/paid.py), and moves ``progress_after`` on, conditional on
  still holding the claim and on the cursor it read. A step whose UPDATE
  finds the claim lost (another node took over a lapsed lease) rolls back,
  its events with it: nobody is told twice by the same reminder, and a crash
  mid-step leaves it to be done again by whoever takes the lease over.
* **Who.** Respondents who submitted before the batch read them are not
  reminded; a reminder of a round that has closed ends without telling anyone.
* **Beyond the app.** After the batch commits, those of its people with no
  device connected get a Web Push if they have a subscription, else, if the
  organisation chose SMS reminders and they have a number, an SMS already
  reserved in the batch; both paced (``MUSTER_FORMS_PUSH_PER_S``,
  ``MUSTER_FORMS_SMS_PER_S``). They go at most once: a node that dies between
  the commit and the send leaves them unsent rather than risk paying twice.
  Everyone still finds the form on their home page.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Select, exists, func, or_, select, update

from server.accounts.models import User
from server.channels.config import ChannelSettings
from server.channels.models import PushSubscription
from server.channels.paid import PaidLimitExceeded, do_reserve_paid
from server.channels.registry import Message
from server.db import Database, Transaction, utcnow
from server.db.one_of import one_of
from server.errors import Conflict
from server.forms.calendar import org_time_zone
from server.forms.dashboard import under
from server.forms.models import Form, FormPolicy, FormReminder, FormRound, RoundCount, RoundRespondent
from server.forms.respondents import RespondentKind, respondent_kind
from server.gateway.events import emit
from server.gateway.models import UserEvent
from server.gateway.presence import PATIENT_S, Presence
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.orgs.models import Department

log = logging.getLogger("muster.forms")

REMINDER_EVENT = "form.reminder"
LEASE = dt.timedelta(seconds=60)
NOT_STARTED, CONNECTED_TOLD = 0, -1  # ``progress_after`` before the first step and after it (no respondent id is below 1)
PUSH_TITLE = _("Please fill in {form}")
PUSH_BODY = _("It closes at {time}.")
SMS_TEXT = _("Muster: please fill in {form} before {time}: {url}")


async def do_remind_now(tx: Transaction, org: OrgContext, round_: FormRound, department_id: int | None) -> FormReminder:
    """"Remind the rest": a reminder due now, of everyone under ``department_id`` (or the whole round) who has not submitted."""
    if utcnow() >= round_.closes_at:
        raise Conflict("the round has closed: there is nobody left to remind", code="round_closed")
    reminder = FormReminder(org_id=tx.org_id, round_id=round_.id, department_id=department_id, due_at=utcnow(), created_by=org.user_id)
    tx.session.add(reminder)
    await tx.session.flush()
    return reminder


async def claim_due(db: Database, *, node: str, limit: int = 10) -> list[tuple[int, int]]:
    """Take the due reminders nobody holds (or whose holder's lease ran out): their (id, org id)."""
    now = utcnow()
    free = or_(FormReminder.claimed_by.is_(None), FormReminder.claimed_at < now - LEASE)
    claimed = []
    async with db.transaction() as tx:
        due = (await tx.session.execute(
            select(FormReminder.id, FormReminder.org_id).where(FormReminder.done_at.is_(None), FormReminder.due_at <= now, free)
            .order_by(FormReminder.due_at).limit(limit)
        )).all()
        for reminder_id, org_id in due:
            taken = await tx.session.execute(
                update(FormReminder).where(FormReminder.id == reminder_id, FormReminder.done_at.is_(None), free)
                .values(claimed_by=node, claimed_at=now).execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:
                claimed.append((reminder_id, org_id))
    return claimed


async def next_due_at(db: Database) -> dt.datetime | None:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(FormReminder.due_at).where(FormReminder.done_at.is_(None)).order_by(FormReminder.due_at).limit(1))


@dataclass
class Outreach:
    """What a committed batch still sends beyond the app."""

    push: list[Message] = field(default_factory=list)
    sms: list[Message] = field(default_factory=list)


class LostClaim(Exception):
    """Another node holds the reminder now: this batch must not commit."""


@dataclass(frozen=True)
class Batch:
    reminded: int  # people told in the app
    more: bool  # whether the reminder has respondents left
    outreach: Outreach


async def do_remind_batch(
    db: Database, reminder_id: int, org_id: int, *, node: str, size: int, presence: Presence, channels: ChannelSettings, public_url: str,
    default_locale: str,
) -> Batch | None:
    """The next step of a reminder this node holds (the connected first, then ``size`` non-submitters at a time);
    None if it does not hold it (any more)."""
    try:
        async with db.transaction(org_id=org_id) as tx:
            reminder = await tx.session.get(FormReminder, reminder_id)
            if reminder is None or reminder.done_at is not None or reminder.claimed_by != node:
                return None
            after = reminder.progress_after
            round_ = await tx.session.get(FormRound, reminder.round_id)
            if round_.opened_at is None:  # not opened yet: looked at again once the lease runs out
                return Batch(0, False, Outreach())
            if utcnow() >= round_.closes_at:
                await _advance(tx, reminder_id, node, after, after, 0, done=True)
                return Batch(0, False, Outreach())
            missing = await _missing(tx, reminder, round_)
            kind = respondent_kind(round_.respondent_kind)
            event = {"org_id": org_id, "round_id": round_.id, "form_id": round_.form_id, "title": await _title(tx, round_),
                     "closes_at": round_.closes_at.isoformat(), "reminder_id": reminder_id}
            if after == NOT_STARTED:
                told = await _tell_the_connected(tx, kind.reminded(missing), await presence.everyone(), event)
                await _advance(tx, reminder_id, node, after, CONNECTED_TOLD, told, done=False)
                return Batch(told, True, Outreach())
            rr = RoundRespondent
            page = missing.where(rr.respondent_id > after).order_by(rr.respondent_id).limit(size).subquery()
            count, last = (await tx.session.execute(select(func.count(), func.max(page.c.respondent_id)))).one()
            if not count:
                await _advance(tx, reminder_id, node, after, after, 0, done=True)
                return Batch(0, False, Outreach())
            people = await _batch_people(tx, kind, missing, after, last, reminder_id)
            connected = await presence.connected(people, patience_s=PATIENT_S)  # a late node: SMS paid for people connected
            await emit(tx, sorted(connected), REMINDER_EVENT, event)
            closes = round_.closes_at.astimezone(await org_time_zone(tx)).strftime("%H:%M")
            away = [p for p in people if p not in connected]
            outreach = await _outreach(tx, away, channels, reminder_id, round_, event["title"], closes, public_url, default_locale)
            told = len(connected) + len(outreach.push) + len(outreach.sms)
            done = count < size  # nobody after these: done now, or the worker would wait out its own lease to learn it
            await _advance(tx, reminder_id, node, after, last, told, done=done)
        return Batch(told, not done, outreach)
    except LostClaim:
        log.info("form reminder %d: another node holds it now", reminder_id)
        return None


async def _missing(tx: Transaction, reminder: FormReminder, round_: FormRound) -> Select:
    """The respondents of the round who have not submitted (under the reminder's department, if it has one)."""
    rr = RoundRespondent
    missing = select(rr.respondent_id).where(rr.round_id == round_.id, rr.submitted.is_(False))
    if reminder.department_id is not None:
        path = await tx.session.scalar(select(Department.path).where(Department.id == reminder.department_id))
        missing = missing.where(rr.bucket.in_(select(RoundCount.bucket).where(RoundCount.round_id == round_.id, *under(RoundCount.path, path))))
    return missing


async def _title(tx: Transaction, round_: FormRound) -> str:
    return await tx.session.scalar(select(Form.title).where(Form.id == round_.form_id))


async def _tell_the_connected(tx: Transaction, reminded: Select, connected: set[int], event: dict) -> int:
    """The first step: the in-app event to every connected person who answers for a respondent who has not submitted."""
    pairs = reminded.subquery()
    people: set[int] = set()
    for chosen in one_of(tx, pairs.c.user_id, sorted(connected)):
        people.update(await tx.session.scalars(select(pairs.c.user_id).where(chosen).distinct()))
    await emit(tx, sorted(people), REMINDER_EVENT, event)
    return len(people)


async def _batch_people(tx: Transaction, kind: RespondentKind, missing: Select, after: int, last: int, reminder_id: int) -> list[int]:
    """The people to remind for the non-submitters with ids in ``(after, last]``, leaving out those an earlier step told:
    in the app in the first step (their stream has this reminder's event), or in an earlier batch (a brother's guardian)."""
    rr = RoundRespondent
    pairs = kind.reminded(missing.where(rr.respondent_id > after, rr.respondent_id <= last)).subquery()
    earlier = kind.reminded(missing.where(rr.respondent_id <= after)).subquery()
    told_in_app = exists().where(UserEvent.user_id == pairs.c.user_id, UserEvent.type == REMINDER_EVENT,
                                 UserEvent.data["reminder_id"].as_integer() == reminder_id)
    in_an_earlier_batch = exists().where(earlier.c.user_id == pairs.c.user_id)
    chosen = select(pairs.c.user_id).where(~told_in_app, ~in_an_earlier_batch).distinct()
    return sorted(await tx.session.scalars(chosen))


async def _advance(tx: Transaction, reminder_id: int, node: str, after: int, last: int, reminded: int, *, done: bool) -> None:
    """Move the cursor (and the lease) on, only if this node still holds the reminder at the cursor it read."""
    values: dict = {"progress_after": last, "claimed_at": utcnow(), "reminded": FormReminder.reminded + reminded}
    if done:
        values["done_at"] = utcnow()
    moved = await tx.session.execute(
        update(FormReminder).where(FormReminder.id == reminder_id, FormReminder.claimed_by == node, FormReminder.progress_after == after,
                                   FormReminder.done_at.is_(None))
        .values(**values).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise LostClaim()


async def _outreach(
    tx: Transaction, away: list[int], channels: ChannelSettings, reminder_id: int, round_: FormRound, title: str, closes: str,
    public_url: str, default_locale: str,
) -> Outreach:
    """Push for the people with no device connected who subscribed; SMS (reserved here) for the rest, if the organisation chose it.
    Only those who get a message have their language read."""
    if not away:
        return Outreach()
    with_push: set[int] = set()
    for chosen in one_of(tx, PushSubscription.user_id, away):
        with_push.update(await tx.session.scalars(select(PushSubscription.user_id).where(chosen).distinct()))
    phones: dict[int, str] = {}
    if await tx.session.scalar(select(FormPolicy.reminder_sms)):
        phones = await respondent_kind(round_.respondent_kind).phones(tx, [u for u in away if u not in with_push])
    if phones:
        try:
            async with tx.session.begin_nested():
                await do_reserve_paid(tx, channels, "sms", org_id=round_.org_id, per_number={p: 1 for p in phones.values()})
        except PaidLimitExceeded as e:
            log.warning("form reminder %d: %d SMS not sent: %s", reminder_id, len(phones), e.message)
            phones = {}
    locales: dict[int, str | None] = {}
    for chosen in one_of(tx, User.id, sorted(with_push | phones.keys())):
        locales.update((await tx.session.execute(select(User.id, User.locale).where(chosen))).all())
    outreach = Outreach()
    for user_id in sorted(with_push):
        locale = locales.get(user_id) or default_locale
        outreach.push.append(Message(user_id, translate(locale, PUSH_TITLE, form=title), translate(locale, PUSH_BODY, time=closes),
                                     data={"type": "form.reminder", "org_id": round_.org_id, "round_id": round_.id, "lang": locale}))
    url = f"{public_url.rstrip('/')}/f/{round_.id}?org={round_.org_id}"  # the link names its organisation: a guardian is in none
    for user_id, phone in sorted(phones.items()):
        text = translate(locales.get(user_id) or default_locale, SMS_TEXT, form=title, time=closes, url=url)
        outreach.sms.append(Message(user_id, "", text, to=phone, idempotency_key=f"muster-form-reminder-{reminder_id}-{user_id}"))
    return outreach
