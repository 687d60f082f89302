"""Recurrences follow the organisation's calendar (holidays off, make-up working days on) in its time zone, and each
occurrence makes one round however many nodes look."""
from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import func, select, update

from server.db import utcnow
from server.forms.calendar import Calendar, next_opening
from server.forms.models import FormRound, RoundSchedule
from server.forms.rounds import do_make_scheduled_rounds
from tests.server.forms.rounds_world import make_school
from tests.server.orgs.conftest import join, ok

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# The National Day holiday of a year like 2026: 1-7 October off, the Sunday before and the Saturday after worked (调休).
NATIONAL_DAY = Calendar({**{dt.date(2026, 10, d): "off" for d in range(1, 8)}, dt.date(2026, 9, 27): "work", dt.date(2026, 10, 10): "work"})


def schedule(days: str = "working_days", at: str = "07:00", starts_on=dt.date(2026, 9, 1), ends_on=None) -> RoundSchedule:
    hours, minutes = map(int, at.split(":"))
    return RoundSchedule(days=days, open_minute=hours * 60 + minutes, open_minutes=600, starts_on=starts_on, ends_on=ends_on)


def local(zone, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


@pytest.mark.parametrize("after,expected", [
    (local(SHANGHAI, 2026, 9, 25, 8, 0), local(SHANGHAI, 2026, 9, 27, 7, 0)),  # Friday → the make-up Sunday
    (local(SHANGHAI, 2026, 9, 25, 6, 59), local(SHANGHAI, 2026, 9, 25, 7, 0)),  # before today's opening → today
    (local(SHANGHAI, 2026, 9, 30, 8, 0), local(SHANGHAI, 2026, 10, 8, 7, 0)),  # over the holiday week
    (local(SHANGHAI, 2026, 10, 9, 8, 0), local(SHANGHAI, 2026, 10, 10, 7, 0)),  # the make-up Saturday
    (local(SHANGHAI, 2026, 10, 10, 8, 0), local(SHANGHAI, 2026, 10, 12, 7, 0)),  # then Monday
])
def test_working_days_follow_holidays_and_make_up_days(after, expected):
    assert next_opening(schedule(), NATIONAL_DAY, SHANGHAI, after.astimezone(dt.timezone.utc)) == expected


def test_every_day_ignores_the_calendar_and_a_schedule_ends():
    after = local(SHANGHAI, 2026, 10, 1, 8, 0)
    assert next_opening(schedule("every_day"), NATIONAL_DAY, SHANGHAI, after) == local(SHANGHAI, 2026, 10, 2, 7, 0)
    ended = schedule("every_day", ends_on=dt.date(2026, 10, 1))
    assert next_opening(ended, NATIONAL_DAY, SHANGHAI, after) is None
    not_yet = schedule("every_day", starts_on=dt.date(2026, 11, 1))
    assert next_opening(not_yet, NATIONAL_DAY, SHANGHAI, after) == local(SHANGHAI, 2026, 11, 1, 7, 0)


def test_the_local_time_stays_across_daylight_saving():
    every_day = schedule("every_day", starts_on=dt.date(2026, 3, 1))
    before = next_opening(every_day, Calendar({}), NEW_YORK, local(NEW_YORK, 2026, 3, 6, 8, 0))
    after = next_opening(every_day, Calendar({}), NEW_YORK, local(NEW_YORK, 2026, 3, 8, 8, 0))
    assert before.astimezone(dt.timezone.utc).hour == 12 and after.astimezone(dt.timezone.utc).hour == 11  # EST, then EDT
    assert before.astimezone(NEW_YORK).hour == after.astimezone(NEW_YORK).hour == 7


async def test_a_schedule_moves_with_the_calendar_and_makes_each_round_once(client, db):
    school = await make_school(client, db)
    tomorrow = (utcnow().astimezone(SHANGHAI) + dt.timedelta(days=1)).date()
    body = {"audience": {"department_ids": [school.departments["north"]]}, "days": "working_days", "open_time": "07:00", "open_minutes": 600,
            "remind_after": [120], "starts_on": tomorrow.isoformat()}
    made = await ok(await client.post(school.url(f"/forms/{school.form_id}/schedules"), json=body, headers=school.owner), 201)
    first = dt.datetime.fromisoformat(made["next_open_at"]).astimezone(SHANGHAI)
    assert first.time() == dt.time(7, 0) and first.date() >= tomorrow and first.weekday() < 5
    # That day becomes a holiday: the schedule moves on to the next working day.
    holiday = {"days": [{"day": first.date().isoformat(), "kind": "off", "name": "Holiday"}]}
    await ok(await client.put(school.url("/calendar"), json=holiday, headers=school.owner))
    (moved,) = await ok(await client.get(school.url(f"/forms/{school.form_id}/schedules"), headers=school.owner))
    assert dt.datetime.fromisoformat(moved["next_open_at"]).astimezone(SHANGHAI).date() > first.date()
    member = await join(db, school.org.id)
    assert (await client.put(school.url("/calendar"), json=holiday, headers=member.headers)).status == 403
    listed = await ok(await client.get(school.url(f"/calendar?year={first.year}"), headers=member.headers))
    assert [d["kind"] for d in listed] == ["off"]
    # Its time comes: two nodes look at once, one round is made and opened, the schedule moves on.
    due = utcnow() - dt.timedelta(minutes=1)
    async with db.transaction() as tx:
        await tx.session.execute(update(RoundSchedule).values(next_open_at=due))
    assert sum(await asyncio.gather(do_make_scheduled_rounds(db), do_make_scheduled_rounds(db))) == 1
    async with db.transaction(org_id=school.org.id) as tx:
        rounds = list(await tx.session.scalars(select(FormRound)))
        next_at = await tx.session.scalar(select(RoundSchedule.next_open_at))
        assert await tx.session.scalar(select(func.count()).select_from(FormRound)) == 1
    (round_,) = rounds
    assert round_.expected == 5 and round_.opened_at is not None and next_at > utcnow()
    assert round_.closes_at - round_.opens_at == dt.timedelta(minutes=600)
    reminders = await ok(await client.get(school.url(f"/rounds/{round_.id}/reminders"), headers=school.owner))
    assert [dt.datetime.fromisoformat(r["due_at"]) for r in reminders] == [round_.opens_at + dt.timedelta(minutes=120)]
    # Stopped: no more rounds.
    await ok(await client.delete(school.url(f"/forms/{school.form_id}/schedules/{made['id']}"), headers=school.owner), 204)
    (stopped,) = await ok(await client.get(school.url(f"/forms/{school.form_id}/schedules"), headers=school.owner))
    assert stopped["next_open_at"] is None and stopped["stopped_at"] is not None
