"""Tables of notify/: broadcasts, their recipients, escalation steps, the outbound queue.

The shapes follow from three promises:

* **The recipient list is kept.** Sending expands members, departments and
  groups once into ``broadcast_recipients`` (one row per person, bulk
  inserted), so later changes to the organisation never change who was told.
  A recipient's ``stage`` only moves forward (sent → delivered → read →
  confirmed) and each stage keeps its time.
* **Nothing due is lost, nothing is done twice.** Escalation steps are rows
  with a ``due_at``; a node claims due rows (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL) and, in the same transaction, queues the message and the
  recipient's next step. A crash rolls the whole claim back.
* **The provider is paced, not flooded.** ``notify_outbound`` is the
  persistent queue (ordered by priority), and ``notify_pacing`` holds, per
  channel, the next free send slot shared by every node.
* **Nobody spends the operator's money without bound.** Every send reserves
  its SMS and calls against the platform's daily allowances
  (server/channels/paid.py, table ``paid_usage``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow

STAGES = ("sent", "delivered", "read", "confirmed")


class BroadcastSender(OrgScoped, Base):
    """A member allowed to send urgent broadcasts (organisation admins and owners always are)."""

    __tablename__ = "notify_senders"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_notify_senders_org_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EscalationPolicy(OrgScoped, Base):
    """The organisation's default escalation; a broadcast may override it when sent."""

    __tablename__ = "notify_policies"
    __table_args__ = (UniqueConstraint("org_id", name="uq_notify_policies_org"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sms_after_s: Mapped[int | None] = mapped_column(Integer)
    call_after_s: Mapped[int | None] = mapped_column(Integer)
    repeats: Mapped[int] = mapped_column(Integer)
    repeat_interval_s: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(OrgScoped, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_org_created", "org_id", "created_at"),
        Index("ix_broadcasts_recipients_pending", "created_at", postgresql_where=text("recipients_pending IS NOT NULL"),
              sqlite_where=text("recipients_pending IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSONType, default=list)
    policy: Mapped[dict] = mapped_column(JSONType)  # the escalation in force, copied when sent
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)
    recipient_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # [[user_id, name, phone], ...] from the send until the recipient rows are stored (notify/broadcasts.py), then NULL.
    recipients_pending: Mapped[list | None] = mapped_column(JSONType, deferred=True)


class BroadcastRecipient(OrgScoped, Base):
    """One person a broadcast was sent to, and how far they got (``stage`` indexes ``STAGES``)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_recipients_broadcast_user"),
        Index("ix_broadcast_recipients_broadcast_stage", "broadcast_id", "stage"),
        Index("ix_broadcast_recipients_user_id", "user_id"),
    )

    # No foreign keys: PostgreSQL checks each for every row inserted, and a notice inserts one per person (480,000 for a
    # city) whose values are valid by construction (the broadcast just stored, its organisation, the audience's people).
    # Triggers on ``broadcasts`` and ``users`` delete a broadcast's or a person's rows with it, as the keys' cascades
    # did (notify/migrations/0006_recipient_keys.py).
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(BigId)
    org_id: Mapped[int] = mapped_column(BigId)
    user_id: Mapped[int] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164, as it was when sent
    has_push: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[int] = mapped_column(SmallInteger, default=0)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_via: Mapped[str | None] = mapped_column(String(16))  # app | call
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remind_count: Mapped[int] = mapped_column(Integer, default=0)


class EscalationStep(OrgScoped, Base):
    """One due action for one recipient: step ``step_no`` of the plan in notify/escalation.py.

    Only the next step of each recipient exists as a row; performing it
    inserts the one after, in the same transaction.
    """

    __tablename__ = "notify_escalation_steps"
    __table_args__ = (
        UniqueConstraint("recipient_id", "step_no", name="uq_notify_escalation_steps_recipient_step"),
        Index("ix_notify_escalation_steps_due", "done_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("broadcast_recipients.id", ondelete="CASCADE"))
    step_no: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[str] = mapped_column(String(8))  # push | sms | call
    attempt: Mapped[int] = mapped_column(SmallInteger)  # 0 the first time, then each repeat
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # queued | skipped | stopped | revoked (the person left: notify/revocation.py)


class OutboundMessage(OrgScoped, Base):
    """The persistent provider queue: one SMS, call or push, with its tries.

    ``step_id`` is unique: a step queues its message at most once. Before a
    message goes to the provider its row says ``sending`` (the intent is
    recorded first), and the provider request carries ``Idempotency-Key:
    muster-<id>``, so a node that dies mid-request and is taken over after
    ``claim_lease_s`` repeats the same request, which the provider drops.
    For the same reason ``callback_token`` is made when the message is queued,
    not per try: a dropped repeat's callbacks come to the first try's URLs.
    """

    __tablename__ = "notify_outbound"
    __table_args__ = (Index("ix_notify_outbound_queue", "channel", "status", "priority", "not_before"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("broadcast_recipients.id", ondelete="CASCADE"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("notify_escalation_steps.id", ondelete="SET NULL"), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    to: Mapped[str] = mapped_column(String(32))  # E.164 for sms/call, the user id for push
    priority: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | sent | failed | cancelled
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    provider_status: Mapped[str | None] = mapped_column(String(32))  # from the provider's status callback
    # In the URLs the provider calls back (SMS and calls; notify/callbacks.py): unguessable, the same for every try.
    callback_token: Mapped[str | None] = mapped_column(String(43), unique=True)
    gathered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the callee's key press came: the gather URL is spent
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PacingSlot(Base):
    """Per channel, the earliest time the next message may go out, shared by every node."""

    __tablename__ = "notify_pacing"

    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    next_slot_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
