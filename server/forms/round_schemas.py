"""Request and response bodies of rounds, submissions, dashboards, reminders, exports, the calendar and the forms policy."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from server.api import Id, Model, Out
from server.audiences.schemas import AudienceIn

Kind = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class RoundIn(Model):
    audience: AudienceIn
    respondent_kind: Kind = Field("user", description="Who answers: 'user' (each member for themselves) or a kind a capability adds ('student').")
    opens_at: AwareDatetime | None = Field(None, description="When it opens (default: now).")
    closes_at: AwareDatetime
    remind_at: list[AwareDatetime] = Field(default_factory=list, max_length=10, description="When to remind those who have not submitted.")


class RespondentKindOut(Out):
    kind: str = Field(description="The round's respondent_kind.")
    label: str
    picker: str | None = Field(description="The audience picker (GET .../audiences/units?picker=) whose units a round to this kind names as "
                                           "department_ids; none: the organisation's departments.")


class RoundOut(Out):
    id: int
    form_id: int
    version_id: int
    schedule_id: int | None
    respondent_kind: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    opened_at: dt.datetime | None
    expected: int
    created_at: dt.datetime
    state: Literal["scheduled", "open", "closed"]
    purged: bool


class RoundPage(Out):
    items: list[RoundOut]
    next_before: int | None = Field(description="Pass as ``before`` for the next (older) page; null on the last.")


class RoundsQuery(Model):
    before: Id | None = None
    limit: int = Field(50, ge=1, le=200)


class ScheduleIn(Model):
    audience: AudienceIn
    respondent_kind: Kind = "user"
    days: Literal["every_day", "working_days"] = Field(description="Every day, or working days by the organisation's calendar (holidays off, make-up days on).")
    open_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time each round opens, HH:MM, in the organisation's time zone.")
    open_minutes: int = Field(ge=5, le=7 * 24 * 60, description="How long each round stays open.")
    remind_after: list[int] = Field(default_factory=list, max_length=10, description="Minutes after opening at which to remind those who have not submitted.")
    starts_on: dt.date
    ends_on: dt.date | None = None


class ScheduleOut(Out):
    id: int
    form_id: int
    respondent_kind: str
    days: str
    open_time: str
    open_minutes: int
    remind_after: list[int]
    starts_on: dt.date
    ends_on: dt.date | None
    next_open_at: dt.datetime | None
    stopped_at: dt.datetime | None


class SubmissionIn(Model):
    client_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                           description="Made by the device when the answers are first saved (a UUID); sending it again is safe.")
    respondent_id: Id | None = Field(None, description="Who the answers are for; default: the caller (for rounds members answer themselves).")
    answers: dict[str, Any]


class SubmissionEditIn(Model):
    revision: int = Field(ge=1, description="The revision these answers replace (the latest the device saw).")
    answers: dict[str, Any]


class SubmissionOut(Out):
    id: int
    round_id: int
    respondent_id: int
    client_id: str
    answers: dict[str, Any]
    abnormal: list[str]
    revision: int
    submitted_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class MineOut(Out):
    respondent_id: int
    name: str
    submission: SubmissionOut | None


class RoundDetailOut(Out):
    round: RoundOut
    title: str
    definition: dict
    time_zone: str
    mine: list[MineOut] = Field(description="Those the caller answers for in this round, with what is stored for each.")
    may_follow: bool = Field(description="Whether the caller may see the round's dashboard.")


class CountsOut(Out):
    expected: int
    submitted: int
    missing: int
    abnormal: int


class NodeOut(Out):
    department_id: int | None = Field(description="null: the whole round (or all the caller sees); 0: respondents of no department.")
    name: str
    counts: CountsOut


class DashboardQuery(Model):
    department_id: int | None = Field(None, ge=0, le=2**63 - 1)


class DashboardOut(Out):
    round: RoundOut
    title: str
    node: NodeOut
    children: list[NodeOut]
    may_view_answers: bool


class RespondentsQuery(Model):
    department_id: int | None = Field(None, ge=0, le=2**63 - 1)
    state: Literal["missing", "submitted", "all"] = "missing"
    after: int | None = Field(None, ge=0, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=200)


class RespondentOut(Out):
    respondent_id: int
    name: str
    phone: str | None
    department_id: int
    department: str
    submitted: bool
    abnormal: bool | None = Field(description="Only for those who may see individual answers.")


class RespondentPage(Out):
    items: list[RespondentOut]
    next_after: int | None
    counts: CountsOut


class RemindIn(Model):
    department_id: Id | None = Field(None, description="Only those under this department (default: everyone the caller may see in the round).")


class ReminderOut(Out):
    id: int
    department_id: int | None
    due_at: dt.datetime
    reminded: int
    done_at: dt.datetime | None


class ExportQuery(Model):
    format: Literal["csv", "xlsx"] = "csv"
    round_id: Id | None = Field(None, description="One round; or the form's rounds opened from ``first_day`` to ``last_day`` (local dates); or all its rounds.")
    first_day: dt.date | None = None
    last_day: dt.date | None = None


class FormPolicyIn(Model):
    retention_days: int | None = Field(None, ge=1, le=3650, description="Delete answers this many days after their round closed; null keeps them.")
    reminder_sms: bool = Field(False, description="Remind by SMS those whom no device and no Web Push reaches (within the SMS allowances).")


class FormPolicyOut(Out):
    retention_days: int | None
    reminder_sms: bool


class CalendarQuery(Model):
    year: int = Field(ge=2000, le=2100)


class CalendarDayIn(Model):
    day: dt.date
    kind: Literal["off", "work"] | None = Field(description="'off': a holiday; 'work': a make-up working day (调休); null: an ordinary day again.")
    name: str = Field("", max_length=100)


class CalendarIn(Model):
    days: list[CalendarDayIn] = Field(min_length=1, max_length=400)


class CalendarDayOut(Out):
    day: dt.date
    kind: str
    name: str
