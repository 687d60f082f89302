"""Reminding a round's non-submitters: at scheduled times, or by one click ("remind the rest"), each person once.

A reminder is a row (``form_reminders``), so it survives a restart and is
done once whichever nodes run:

* **Claim.** A node takes a due reminder with a conditional UPDATE (nobody
  holds it, or its holder's lease ran out): two nodes never both hold it.
* **Batches.** The holder goes through the round's respondents who have not
  submitted, in respondent id order after ``progress_after``, ``batch`` at a
  time (under the reminder's department, if it has one). In one transaction
  per batch it asks which of the people the respondent kind says to remind
  have a device connected (server/gateway/presence.py), emits the in-app
  event to those (``form.reminder``, server/gateway/events.py: stored in
  their streams, on their devices at once), reserves the SMS the
  organisation's policy sends to the others (server/channels/paid.py), and
  moves ``progress_after`` on, conditional on still holding the claim and on
  the cursor it read. A batch whose UPDATE finds the claim lost (another node
  took over a lapsed lease) rolls back, its events with it: nobody is told
  twice by the same reminder, and a crash mid-batch leaves the batch to be
  done again by whoever takes the lease over. Only the connected are written
  an event, so a batch costs little more than its select: the connected
  among 460,000 non-submitters are told within seconds.
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

from sqlalchemy import or_, select, update

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
from server.forms.respondents import respondent_kind
from server.gateway.events import emit
from server.gateway.presence import Presence
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.orgs.models import Department

log = logging.getLogger("muster.forms")

REMINDER_EVENT = "form.reminder"
LEASE = dt.timedelta(seconds=60)
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
    """Remind the next ``size`` non-submitters of a reminder this node holds; None if it does not hold it (any more)."""
    try:
        async with db.transaction(org_id=org_id) as tx:
            reminder = await tx.session.get(FormReminder, reminder_id)
            if reminder is None or reminder.done_at is not None or reminder.claimed_by != node:
                return None
            after = reminder.progress_after
            round_ = await tx.session.get(FormRound, reminder.round_id)
            now = utcnow()
            if round_.opened_at is None:  # not opened yet: looked at again once the lease runs out
                return Batch(0, False, Outreach())
            if now >= round_.closes_at:
                await _advance(tx, reminder_id, node, after, after, 0, done=True)
                return Batch(0, False, Outreach())
            rr = RoundRespondent
            chosen = select(rr.respondent_id).where(rr.round_id == round_.id, rr.submitted.is_(False), rr.respondent_id > after)
            if reminder.department_id is not None:
                path = await tx.session.scalar(select(Department.path).where(Department.id == reminder.department_id))
                chosen = chosen.where(rr.bucket.in_(select(RoundCount.bucket).where(RoundCount.round_id == round_.id, *under(RoundCount.path, path))))
            respondents = list(await tx.session.scalars(chosen.order_by(rr.respondent_id).limit(size)))
            if not respondents:
                await _advance(tx, reminder_id, node, after, after, 0, done=True)
                return Batch(0, False, Outreach())
            people = sorted(await respondent_kind(round_.respondent_kind).reminded(tx, respondents))
            title = await tx.session.scalar(select(Form.title).where(Form.id == round_.form_id))
            closes = round_.closes_at.astimezone(await org_time_zone(tx)).strftime("%H:%M")
            connected = await presence.connected(people)
            await emit(tx, sorted(connected), REMINDER_EVENT, {"org_id": org_id, "round_id": round_.id, "form_id": round_.form_id,
                                                               "title": title, "closes_at": round_.closes_at.isoformat(), "reminder_id": reminder_id})
            away = [p for p in people if p not in connected]
            outreach = await _outreach(tx, away, channels, reminder_id, round_, title, closes, public_url, default_locale)
            told = len(connected) + len(outreach.push) + len(outreach.sms)
            last = len(respondents) < size  # nobody after these: done now, or the worker would wait out its own lease to learn it
            await _advance(tx, reminder_id, node, after, respondents[-1], told, done=last)
        return Batch(told, not last, outreach)
    except LostClaim:
        log.info("form reminder %d: another node holds it now", reminder_id)
        return None


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
