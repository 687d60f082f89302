"""The organisation's calendar, and when a recurrence's rounds open.

A working day is Monday to Friday unless the calendar says otherwise: a
holiday (``off``) on a weekday, or a make-up working day (``work``, 调休) on a
weekend, as the State Council's holiday arrangements move them each year.
Times are read in the organisation's time zone (``organisations.time_zone``),
so "every working day at 07:00" stays 07:00 there across daylight saving
changes; what is stored (``round_schedules.next_open_at``) is UTC.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.forms.models import CalendarDay, RoundSchedule
from server.orgs.models import Organisation

DAY_KINDS = ("off", "work")
SEARCH_DAYS = 800  # how far ahead a recurrence looks for its next day: two years of holidays cannot hide it


@dataclass(frozen=True)
class Calendar:
    exceptions: Mapping[dt.date, str]  # day → off | work

    def is_working_day(self, day: dt.date) -> bool:
        kind = self.exceptions.get(day)
        if kind is not None:
            return kind == "work"
        return day.weekday() < 5


async def load_calendar(tx: Transaction, start: dt.date, days: int = SEARCH_DAYS) -> Calendar:
    """The organisation's exceptions from ``start`` for ``days`` days."""
    rows = await tx.session.execute(
        select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day >= start, CalendarDay.day < start + dt.timedelta(days=days))
    )
    return Calendar(dict(rows.all()))


async def org_time_zone(tx: Transaction) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(await tx.session.scalar(select(Organisation.time_zone).where(Organisation.id == tx.org_id)))


def local_time(day: dt.date, minute: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """``minute`` minutes after midnight of ``day`` where the organisation is, in UTC."""
    local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(dt.timezone.utc)


def next_opening(schedule: RoundSchedule, calendar: Calendar, zone: zoneinfo.ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    """The first time after ``after`` at which the schedule opens a round, or None if it has ended."""
    day = max(schedule.starts_on, after.astimezone(zone).date() - dt.timedelta(days=1))
    for _ in range(SEARCH_DAYS):
        if schedule.ends_on is not None and day > schedule.ends_on:
            return None
        if schedule.days == "every_day" or calendar.is_working_day(day):
            at = local_time(day, schedule.open_minute, zone)
            if at > after:
                return at
        day += dt.timedelta(days=1)
    return None


async def do_set_calendar_days(tx: Transaction, days: Sequence[tuple[dt.date, str | None, str]]) -> None:
    """Set (kind ``off`` or ``work``) or clear (kind None) days, then move every running schedule's next
    opening to agree with the new calendar."""
    cleared = [day for day, kind, _ in days if kind is None]
    if cleared:
        await tx.session.execute(delete(CalendarDay).where(CalendarDay.day.in_(cleared)).execution_options(synchronize_session=False))
    rows = [{"org_id": tx.org_id, "day": day, "kind": kind, "name": name} for day, kind, name in days if kind is not None]
    if rows:
        statement = insert_for(tx.dialect, CalendarDay.__table__)
        await tx.session.execute(
            statement.on_conflict_do_update(index_elements=["org_id", "day"], set_={"kind": statement.excluded.kind, "name": statement.excluded.name}),
            rows,
        )
    await do_reschedule(tx)


async def do_reschedule(tx: Transaction, now: dt.datetime | None = None) -> None:
    """Recompute the next opening of the organisation's running schedules (after a calendar change)."""
    now = now or utcnow()
    schedules = list(await tx.session.scalars(select(RoundSchedule).where(RoundSchedule.next_open_at.is_not(None))))
    if not schedules:
        return
    zone = await org_time_zone(tx)
    calendar = await load_calendar(tx, now.astimezone(zone).date() - dt.timedelta(days=1))
    for schedule in schedules:
        schedule.next_open_at = next_opening(schedule, calendar, zone, now)
    await tx.session.flush()
