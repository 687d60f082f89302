"""Tables of the message channels: browsers subscribed to Web Push, paid-message counters, what each person wants to be told.

* ``push_subscriptions``: a browser's Web Push endpoint and keys, per person,
  whichever capability pushes to them.
* ``paid_usage``: SMS and calls reserved per day per organisation, per number
  and per client address (server/channels/paid.py).
* ``notification_settings``: one row per person who changed a default: quiet
  hours, and whether a mention still reaches them in a muted group.
* ``org_notification_settings``: one row per organisation that changed a
  default: the SMS digest for people Web Push cannot reach.
* ``sms_digests``: unread mentions waiting to go out in a person's next SMS digest.
* ``quiet_summaries``: one row per person whose pushes an organisation held back in their quiet hours, due when
  the quiet hours end (server/groups/quiet_summaries.py).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, OrgScoped, UTCDateTime, utcnow


class PushSubscription(Base):
    """A browser's Web Push subscription (its endpoint and keys), for people with no socket open."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaidUsage(Base):
    """SMS or calls reserved on one day (UTC) by one organisation, to one number, or from one client address.

    Not scoped to an organisation: a number's allowance is the same whichever
    organisations send to it."""

    __tablename__ = "paid_usage"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)  # sms | call
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # org | number | address
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the organisation's id, an E.164 number, an IP address
    used: Mapped[int] = mapped_column(Integer)


class NotificationSettings(Base):
    """A person's choices; no row means the defaults (no quiet hours, mentions reach them in muted groups).

    Quiet hours are minutes after midnight on the clock of each organisation's time zone (organisations.time_zone);
    start > end spans midnight (22:00-07:00).
    """

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    quiet_start_min: Mapped[int | None] = mapped_column(Integer)
    quiet_end_min: Mapped[int | None] = mapped_column(Integer)
    mentions_when_muted: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrgNotificationSettings(OrgScoped, Base):
    """An organisation's choices (admins); no row means the defaults (no SMS digest)."""

    __tablename__ = "org_notification_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    sms_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsDigest(OrgScoped, Base):
    """Unread mentions of one person in one organisation, gathered since ``first_at`` for their next SMS digest."""

    __tablename__ = "sms_digests"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuietSummary(OrgScoped, Base):
    """A person's pushes of one organisation held back in their quiet hours: when they end (``due_at``), one push
    sums up what arrived from ``since`` that is still unread. A pointer per person, never a row per message."""

    __tablename__ = "quiet_summaries"
    __table_args__ = (Index("ix_quiet_summaries_due_at", "due_at"),)

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
