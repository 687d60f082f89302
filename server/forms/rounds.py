"""Rounds: a form version sent to an audience, once or on a recurrence, open from one time until another.

A round is stored when it is sent (or, for a recurrence, when its time comes)
and *opened* at ``opens_at``: its expected respondents are written in bulk to
``round_respondents`` with one ``INSERT ... SELECT`` from the respondent kind's
expansion (server/forms/respondents.py), and its counters per bucket to
``round_counts`` with one ``INSERT ... SELECT ... GROUP BY`` over those rows,
in the transaction that sets ``opened_at``. Opening is conditional on
``opened_at`` still being NULL, so whichever node (or request) opens a round
first does it and everyone else waits for its commit, then finds it done.

Who answers is fixed when the round opens: people who join later are not
expected, people who leave stay expected (their row is history). A
recurrence's rounds take the form's current version when each opens.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import logging

from sqlalchemy import BigInteger, Boolean, func, literal, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite

from server.audit.record import do_audit
from server.db import Database, Transaction, utcnow
from server.errors import InvalidInput, NotFound
from server.forms.calendar import Calendar, load_calendar, next_opening, org_time_zone
from server.forms.models import Form, FormRound, FormVersion, FormReminder, RoundCount, RoundRespondent, RoundSchedule
from server.audiences.expand import Audience
from server.forms.respondents import audience_from_json, audience_json, respondent_kind
from server.orgs.access import OrgContext
from server.orgs.models import Department

log = logging.getLogger("muster.forms")

MAX_OPEN = dt.timedelta(days=366)
ANALYZE_AFTER = 10_000  # respondents: a round at least this big has the tables' statistics renewed once it opened


async def get_form(tx: Transaction, form_id: int) -> Form:
    form = await tx.session.scalar(select(Form).where(Form.id == form_id))
    if form is None:
        raise NotFound("no such form")
    return form


def may_run(org: OrgContext, form: Form) -> bool:
    """Who sends a form and follows its rounds: organisation admins and the form's author."""
    return org.is_admin or form.created_by == org.user_id


async def get_round(tx: Transaction, round_id: int) -> FormRound:
    found = await tx.session.scalar(select(FormRound).where(FormRound.id == round_id))
    if found is None:
        raise NotFound("no such round")
    return found


async def current_version(tx: Transaction, form: Form) -> FormVersion:
    version = await tx.session.scalar(select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.number == form.current_version))
    if version is None:
        raise InvalidInput("the form has no version to send yet", field="form_id")
    return version


def check_times(opens_at: dt.datetime, closes_at: dt.datetime) -> None:
    if closes_at <= opens_at:
        raise InvalidInput("a round must close after it opens", field="closes_at")
    if closes_at - opens_at > MAX_OPEN:
        raise InvalidInput("a round can stay open for at most a year", field="closes_at")


async def check_audience(tx: Transaction, kind: str, audience: Audience) -> None:
    """Bad input now (a kind or an id that names nothing) rather than a round that opens to nobody."""
    if not audience.everyone and not any(audience.parts.values()):
        raise InvalidInput("name who the form goes to", field="audience")
    await respondent_kind(kind).expand(tx, audience)


async def do_create_round(
    tx: Transaction, form: Form, *, created_by: int | None, audience: Audience, kind: str, opens_at: dt.datetime, closes_at: dt.datetime,
    remind_at: Sequence[dt.datetime] = (), schedule_id: int | None = None,
) -> FormRound:
    """Store a round of the form's current version; it opens (its respondents are written) at ``opens_at``."""
    check_times(opens_at, closes_at)
    for at in remind_at:
        if not opens_at <= at < closes_at:
            raise InvalidInput("a reminder must be due while the round is open", field="remind_at")
    version = await current_version(tx, form)
    await check_audience(tx, kind, audience)
    round_ = FormRound(org_id=tx.org_id, form_id=form.id, version_id=version.id, schedule_id=schedule_id, audience=audience_json(audience),
                       respondent_kind=kind, opens_at=opens_at, closes_at=closes_at, created_by=created_by)
    tx.session.add(round_)
    await tx.session.flush()
    for at in sorted(set(remind_at)):
        tx.session.add(FormReminder(org_id=tx.org_id, round_id=round_.id, due_at=at, created_by=created_by))
    await tx.session.flush()
    return round_


async def do_open_round(tx: Transaction, round_id: int) -> bool:
    """Write the round's respondents and counters, if nobody did yet; returns whether this call did.

    The conditional UPDATE is the claim: a second caller blocks on the row until the first commits, then
    updates nothing.
    """
    now = utcnow()
    claimed = (await tx.session.execute(
        update(FormRound).where(FormRound.id == round_id, FormRound.opened_at.is_(None)).values(opened_at=now)
        .returning(FormRound.respondent_kind, FormRound.audience).execution_options(synchronize_session=False)
    )).first()
    if claimed is None:
        return False
    expansion = (await respondent_kind(claimed.respondent_kind).expand(tx, audience_from_json(claimed.audience))).subquery()
    respondent_id, bucket = expansion.c
    rows = select(literal(tx.org_id, BigInteger), literal(round_id, BigInteger), respondent_id, bucket, literal(False, Boolean),
                  literal(False, Boolean)).where(true())  # SQLite: an INSERT ... SELECT with ON CONFLICT needs a WHERE
    insert = (postgresql.insert if tx.dialect == "postgresql" else sqlite.insert)(RoundRespondent.__table__)
    await tx.session.execute(insert.from_select(["org_id", "round_id", "respondent_id", "bucket", "submitted", "abnormal"], rows).on_conflict_do_nothing())
    rr = RoundRespondent.__table__.c
    per_bucket = (
        select(literal(tx.org_id, BigInteger), literal(round_id, BigInteger), rr.bucket, func.coalesce(func.min(Department.path), "/"),
               func.count(), literal(0), literal(0))
        .select_from(RoundRespondent.__table__)
        .outerjoin(Department.__table__, Department.__table__.c.id == rr.bucket)
        .where(rr.round_id == round_id)
        .group_by(rr.bucket)
    )
    await tx.session.execute(
        RoundCount.__table__.insert().from_select(["org_id", "round_id", "bucket", "path", "expected", "submitted", "abnormal"], per_bucket)
    )
    expected = await tx.session.scalar(select(func.coalesce(func.sum(RoundCount.expected), 0)).where(RoundCount.round_id == round_id))
    await tx.session.execute(update(FormRound).where(FormRound.id == round_id).values(expected=expected).execution_options(synchronize_session=False))
    if tx.dialect == "postgresql" and expected >= ANALYZE_AFTER:
        tx.after_commit(lambda: _analyze(tx.db))
    return True


async def _analyze(db: Database) -> None:
    """A round of many thousands changes the tables' shape at once: new statistics now, not when autovacuum gets to it,
    so the missing lists and roll-ups are planned for the size they have (an index scan of a class, not of the round)."""
    async with db.transaction() as tx:
        await tx.session.execute(text("ANALYZE round_respondents, round_counts"))


async def do_open_due_rounds(db: Database, *, limit: int = 10) -> list[FormRound]:
    """Open the rounds whose time has come (any organisation), each in its own transaction; returns those opened."""
    async with db.transaction() as tx:
        due = list((await tx.session.execute(
            select(FormRound.id, FormRound.org_id).where(FormRound.opened_at.is_(None), FormRound.opens_at <= utcnow())
            .order_by(FormRound.opens_at).limit(limit)
        )).all())
    opened = []
    for round_id, org_id in due:
        async with db.transaction(org_id=org_id) as tx:
            if await do_open_round(tx, round_id):
                opened.append(await get_round(tx, round_id))
    return opened


async def do_open_if_due(db: Database, round_: FormRound) -> FormRound:
    """A request that needs the round's respondents before the worker got to it opens it itself."""
    if round_.opened_at is not None or round_.opens_at > utcnow():
        return round_
    async with db.transaction(org_id=round_.org_id) as tx:
        await do_open_round(tx, round_.id)
        return await get_round(tx, round_.id)


async def do_close_round(tx: Transaction, org: OrgContext, round_: FormRound) -> None:
    """Close a round now: no more submissions or edits, and reminders not yet sent are dropped."""
    now = utcnow()
    if round_.closes_at > now:
        round_.closes_at = max(now, round_.opens_at)
        await tx.session.execute(update(FormReminder).where(FormReminder.round_id == round_.id, FormReminder.done_at.is_(None))
                                 .values(done_at=now).execution_options(synchronize_session=False))
        await do_audit(tx, org.principal, "form.round_closed", target=("form_round", round_.id))
        await tx.session.flush()


# --- recurrences ---------------------------------------------------------------------------------------------


async def do_create_schedule(
    tx: Transaction, org: OrgContext, form: Form, *, audience: Audience, kind: str, days: str, open_minute: int, open_minutes: int,
    remind_after: Sequence[int], starts_on: dt.date, ends_on: dt.date | None,
) -> RoundSchedule:
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("a schedule must end on or after the day it starts", field="ends_on")
    if any(not 0 < m < open_minutes for m in remind_after):
        raise InvalidInput("a reminder must be due while the round is open", field="remind_after")
    await current_version(tx, form)
    await check_audience(tx, kind, audience)
    schedule = RoundSchedule(org_id=tx.org_id, form_id=form.id, audience=audience_json(audience), respondent_kind=kind, days=days,
                             open_minute=open_minute, open_minutes=open_minutes, remind_after=sorted(set(remind_after)), starts_on=starts_on,
                             ends_on=ends_on, created_by=org.user_id)
    now = utcnow()
    zone = await org_time_zone(tx)
    schedule.next_open_at = next_opening(schedule, await load_calendar(tx, now.astimezone(zone).date() - dt.timedelta(days=1)), zone, now)
    tx.session.add(schedule)
    await tx.session.flush()
    await do_audit(tx, org.principal, "form.schedule_created", target=("round_schedule", schedule.id),
                   details={"form_id": form.id, "days": days, "open_minute": open_minute})
    return schedule


async def do_stop_schedule(tx: Transaction, org: OrgContext, schedule: RoundSchedule) -> None:
    schedule.next_open_at = None
    schedule.stopped_at = schedule.stopped_at or utcnow()
    await do_audit(tx, org.principal, "form.schedule_stopped", target=("round_schedule", schedule.id))
    await tx.session.flush()


async def do_make_scheduled_rounds(db: Database, *, limit: int = 10) -> int:
    """Make and open the rounds of schedules whose time has come; returns how many.

    Each in one transaction: the UPDATE that moves ``next_open_at`` on is conditional on the value read,
    so a schedule's round is made once whichever nodes look at it at the same time. A schedule whose form
    has no version any more is stopped.
    """
    now = utcnow()
    async with db.transaction() as tx:
        due = list((await tx.session.execute(
            select(RoundSchedule.id, RoundSchedule.org_id, RoundSchedule.next_open_at).where(RoundSchedule.next_open_at <= now)
            .order_by(RoundSchedule.next_open_at).limit(limit)
        )).all())
    made = 0
    for schedule_id, org_id, opens_at in due:
        async with db.transaction(org_id=org_id) as tx:
            schedule = await tx.session.get(RoundSchedule, schedule_id)
            zone = await org_time_zone(tx)
            calendar: Calendar = await load_calendar(tx, opens_at.astimezone(zone).date())
            following = next_opening(schedule, calendar, zone, max(opens_at, now))
            moved = await tx.session.execute(
                update(RoundSchedule).where(RoundSchedule.id == schedule_id, RoundSchedule.next_open_at == opens_at)
                .values(next_open_at=following).execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                continue
            form = await get_form(tx, schedule.form_id)
            if form.archived_at is not None:
                continue
            closes_at = opens_at + dt.timedelta(minutes=schedule.open_minutes)
            try:
                async with tx.session.begin_nested():
                    round_ = await do_create_round(
                        tx, form, created_by=schedule.created_by, audience=audience_from_json(schedule.audience), kind=schedule.respondent_kind,
                        opens_at=opens_at, closes_at=closes_at, remind_at=[opens_at + dt.timedelta(minutes=m) for m in schedule.remind_after],
                        schedule_id=schedule.id,
                    )
            except InvalidInput as e:  # its audience names what is gone, or the form lost its versions: this day is skipped
                log.warning("schedule %d made no round: %s", schedule_id, e.message)
                continue
            await do_open_round(tx, round_.id)
            made += 1
    return made
