"""Tables of the form engine.

* ``forms``: one per form an organisation keeps; ``current_version`` is the
  number new rounds use.
* ``form_versions``: the definition of each version, never changed once a
  round has used it (an edit makes the next number).
* ``calendar_days``: the organisation's holidays and make-up working days.
* ``round_schedules``, ``form_rounds``: recurrences, and each sending of a
  version to an audience with its open and close times.
* ``round_respondents``, ``round_counts``: who is expected to answer a round
  (bulk written when it opens) and its counters per bucket (department).
* ``form_submissions``: the answers, one per respondent per round.
* ``form_reminders``, ``form_policies``: durable reminders; retention and SMS.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow


class Form(OrgScoped, Base):
    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FormVersion(OrgScoped, Base):
    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict] = mapped_column(JSONType)  # a FormDefinition, as JSON
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- rounds: a form version sent to an audience, and what came back (server/forms/rounds.py) -----------------

# Department paths compared byte by byte, so a prefix LIKE can use the index on PostgreSQL too.
Path = String(1000).with_variant(String(1000, collation="C"), "postgresql")


class CalendarDay(OrgScoped, Base):
    """A day the organisation's calendar says differs from the week: a holiday (``off``) on a weekday, or a
    make-up working day (``work``, 调休) on a weekend. Recurrences on working days follow it."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("org_id", "day", name="uq_calendar_days_org_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))  # off | work
    name: Mapped[str] = mapped_column(String(100), default="")


class RoundSchedule(OrgScoped, Base):
    """A recurrence: a round of the form's current version every day (or every working day) at a local time.

    ``next_open_at`` is when the next round opens (UTC, computed in the organisation's time zone and calendar);
    a node makes that round and moves it on in one transaction whose UPDATE is conditional on the value it
    read, so two nodes never make the same round. NULL once the schedule ended or was stopped.
    """

    __tablename__ = "round_schedules"
    __table_args__ = (Index("ix_round_schedules_next_open_at", "next_open_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    audience: Mapped[dict] = mapped_column(JSONType)  # {"parts": {kind: [ids]}, "everyone": bool}
    respondent_kind: Mapped[str] = mapped_column(String(32), default="user")
    days: Mapped[str] = mapped_column(String(16))  # every_day | working_days
    open_minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    open_minutes: Mapped[int] = mapped_column(Integer)  # how long each round stays open
    remind_after: Mapped[list] = mapped_column(JSONType, default=list)  # minutes after opening, one reminder each
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    next_open_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FormRound(OrgScoped, Base):
    """One sending of a form version to an audience, open from ``opens_at`` until ``closes_at``.

    ``opened_at`` is set when its respondents were materialised (``round_respondents``, ``round_counts``),
    in the transaction that did it; ``purged_at`` when the retention sweeper deleted its answers.
    """

    __tablename__ = "form_rounds"
    __table_args__ = (
        Index("ix_form_rounds_org_form_opens", "org_id", "form_id", "opens_at"),
        Index("ix_form_rounds_to_open", "opens_at", postgresql_where=text("opened_at IS NULL"), sqlite_where=text("opened_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id", ondelete="CASCADE"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("round_schedules.id", ondelete="SET NULL"), index=True)
    audience: Mapped[dict] = mapped_column(JSONType)
    respondent_kind: Mapped[str] = mapped_column(String(32), default="user")
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expected: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RoundRespondent(OrgScoped, Base):
    """Someone expected to answer a round: a member, or what a capability answers for (a student), with the
    department their answer counts under (``bucket``; 0 for none). Written in bulk when the round opens.

    ``org_id`` has no index or foreign key of its own here (the round's cascades): 480,000 rows are
    inserted at once, and every index is paid per row.
    """

    __tablename__ = "round_respondents"
    __table_args__ = (Index("ix_round_respondents_round_bucket", "round_id", "bucket"),)

    org_id: Mapped[int] = mapped_column(BigId)
    round_id: Mapped[int] = mapped_column(ForeignKey("form_rounds.id", ondelete="CASCADE"), primary_key=True)
    respondent_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger)
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    abnormal: Mapped[bool] = mapped_column(Boolean, default=False)


class RoundCount(OrgScoped, Base):
    """A round's counters per bucket, changed in each submission's transaction. There is no row per department
    above the buckets (a bureau's would be one hot row): a roll-up sums the buckets whose ``path`` (the bucket's
    department path when the round opened) starts with the department's."""

    __tablename__ = "round_counts"
    __table_args__ = (Index("ix_round_counts_round_path", "round_id", "path"),)

    org_id: Mapped[int] = mapped_column(BigId)
    round_id: Mapped[int] = mapped_column(ForeignKey("form_rounds.id", ondelete="CASCADE"), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    path: Mapped[str] = mapped_column(Path)
    expected: Mapped[int] = mapped_column(Integer, default=0)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    abnormal: Mapped[int] = mapped_column(Integer, default=0)


class FormSubmission(OrgScoped, Base):
    """One respondent's answers to one round. ``client_id`` is made by the device (an offline submission
    replayed is recognised by it); ``revision`` counts edits, and an edit must name the one it replaces."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        UniqueConstraint("round_id", "respondent_id", name="uq_form_submissions_round_respondent"),
        UniqueConstraint("round_id", "client_id", name="uq_form_submissions_round_client"),
    )

    # No foreign keys: each was checked on every submission (an index lookup and a ``FOR KEY SHARE`` lock; the
    # organisation's, the round's and the version's rows the same for a whole city's submissions) for values valid by
    # construction (the round read in the request, its organisation and version, the caller). Triggers delete a round's
    # submissions with it (and so with its form and organisation) and clear ``submitted_by`` with the account, as the
    # keys' actions did (server/db/migrations/versions/0024_submission_keys.py).
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(BigId)
    round_id: Mapped[int] = mapped_column(BigId)
    respondent_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(BigId)
    answers: Mapped[dict] = mapped_column(JSONType)
    abnormal: Mapped[list] = mapped_column(JSONType, default=list)  # names of the fields whose abnormal rule matched
    revision: Mapped[int] = mapped_column(Integer, default=1)
    submitted_by: Mapped[int | None] = mapped_column(BigId, index=True)  # personal data's questions (server/forms/personal_data.py)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormReminder(OrgScoped, Base):
    """Reminding a round's non-submitters (under ``department_id``, or all), due at ``due_at``.

    Durable and done once: a node claims it with a conditional UPDATE (``claimed_by``, a lease by
    ``claimed_at``), tells the connected first, then works through the respondents in id order, each step's
    events and the move of ``progress_after`` committed together, conditional on the claim and the cursor it
    read (server/forms/reminders.py).
    """

    __tablename__ = "form_reminders"
    __table_args__ = (
        Index("ix_form_reminders_due", "due_at", postgresql_where=text("done_at IS NULL"), sqlite_where=text("done_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("form_rounds.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    progress_after: Mapped[int] = mapped_column(BigInteger, default=0)  # 0, -1 once the connected were told, then the last respondent id done
    reminded: Mapped[int] = mapped_column(Integer, default=0)  # people told
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FormPolicy(OrgScoped, Base):
    """An organisation's rules for its forms (admins); no row means the defaults: answers kept, no SMS reminders."""

    __tablename__ = "form_policies"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # answers of rounds closed longer ago are deleted
    reminder_sms: Mapped[bool] = mapped_column(Boolean, default=False)  # remind by SMS those no device or push reaches
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
