"""The outbound queue: paced claims, one provider request per message, retries with backoff.

**Pacing across nodes.** ``notify_pacing`` holds, per channel, the earliest
time the next message may leave. A claim locks that row, gives each claimed
message the next free slot ``1/rate`` apart (at most ``horizon_s`` ahead) and
moves the row on, in the same transaction that marks the messages
``sending``. Two nodes therefore share one rate instead of each using it all.

**Exactly once.** ``sending`` is written (with the node and time) before the
request is made. A node that dies after that leaves a ``sending`` row; once
its ``claim_lease_s`` has passed another node claims it again and repeats the
*same* request, with the same ``Idempotency-Key``, which the provider drops.

**Retries.** A retryable failure (timeout, 429, 5xx) puts the message back as
``queued`` with ``not_before`` = now + ``retry_base_s`` x 2^(tries-1) (or the
provider's Retry-After if longer); after ``max_attempts`` tries, or on a
refusal, it is ``failed`` with the reason, which the sender sees.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update

from notify.models import OutboundMessage, PacingSlot
from notify.texts import locale_of_recipient
from server.db import Database, utcnow
from server.db.upsert import insert_for


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    org_id: int
    broadcast_id: int
    recipient_id: int
    channel: str
    to: str
    attempts: int  # including this one
    slot_at: dt.datetime
    callback_token: str | None  # SMS and calls: the token of the URLs the provider calls back
    locale: str | None = None  # the language the recipient chose (None: the server's default)


async def claim_paced(
    db: Database, *, channel: str, rate_per_s: float, node: str, lease_s: float, horizon_s: float = 1.0, limit: int = 500
) -> tuple[list[ClaimedMessage], dt.datetime]:
    """Claim the next messages of ``channel`` that fit in the rate within ``horizon_s``.

    Returns them with their send slots, and when the next slot is free.
    """
    async with db.transaction() as tx:
        now = utcnow()
        await tx.session.execute(insert_for(tx.dialect, PacingSlot).values(channel=channel, next_slot_at=now).on_conflict_do_nothing())
        pacing = select(PacingSlot.next_slot_at).where(PacingSlot.channel == channel)
        if tx.dialect == "postgresql":
            pacing = pacing.with_for_update()
        next_slot = max(await tx.session.scalar(pacing), now)
        capacity = min(limit, math.floor(((now - next_slot).total_seconds() + horizon_s) * rate_per_s))
        if capacity <= 0:
            return [], next_slot
        due = (
            select(OutboundMessage.id, OutboundMessage.org_id, OutboundMessage.broadcast_id, OutboundMessage.recipient_id,
                   OutboundMessage.to, OutboundMessage.attempts, OutboundMessage.callback_token,
                   locale_of_recipient(OutboundMessage.recipient_id).label("locale"))
            .where(
                OutboundMessage.channel == channel,
                or_(
                    (OutboundMessage.status == "queued") & (OutboundMessage.not_before <= now),
                    (OutboundMessage.status == "sending") & (OutboundMessage.claimed_at < now - dt.timedelta(seconds=lease_s)),
                ),
            )
            .order_by(OutboundMessage.priority.desc(), OutboundMessage.not_before, OutboundMessage.id)
            .limit(capacity)
        )
        if tx.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = (await tx.session.execute(due)).all()
        if not rows:
            return [], next_slot
        await tx.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_([r.id for r in rows]))
            .values(status="sending", claimed_by=node, claimed_at=now, attempts=OutboundMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        step = dt.timedelta(seconds=1 / rate_per_s)
        claimed = [
            ClaimedMessage(r.id, r.org_id, r.broadcast_id, r.recipient_id, channel, r.to, r.attempts + 1, next_slot + i * step,
                           r.callback_token, r.locale)
            for i, r in enumerate(rows)
        ]
        await tx.session.execute(
            update(PacingSlot).where(PacingSlot.channel == channel).values(next_slot_at=next_slot + len(rows) * step)
        )
    return claimed, next_slot + len(rows) * step


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed message."""

    message: ClaimedMessage
    provider_ref: str | None = None  # set when it was accepted
    error: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None


def retry_delay_s(attempts: int, base_s: float, retry_after_s: float | None) -> float:
    return max(base_s * 2 ** (attempts - 1), retry_after_s or 0.0)


async def do_record_outcomes(db: Database, outcomes: list[Outcome], *, max_attempts: int, retry_base_s: float) -> list[Outcome]:
    """Store sent / retry / failed for a batch of messages; returns the ones that ended (sent or failed).

    One executemany UPDATE per kind of outcome, not one statement each: when
    the node is busy, a recorder that needs a round trip per message falls
    behind, its transaction outgrows ``claim_lease_s``, and messages already
    accepted would be claimed and sent again.
    """
    now = utcnow()
    sent, retry, failed, ended = [], [], [], []
    for o in outcomes:
        if o.error is None:
            sent.append({"message_id": o.message.id, "ref": o.provider_ref})
            ended.append(o)
        elif o.retryable and o.message.attempts < max_attempts:
            delay = retry_delay_s(o.message.attempts, retry_base_s, o.retry_after_s)
            retry.append({"message_id": o.message.id, "after": now + dt.timedelta(seconds=delay), "error": o.error[:500]})
        else:
            failed.append({"message_id": o.message.id, "error": o.error[:500]})
            ended.append(o)
    table = OutboundMessage.__table__
    columns = table.c
    async with db.transaction() as tx:
        for rows, values in (
            (sent, {"status": "sent", "sent_at": now, "provider_ref": bindparam("ref", type_=columns.provider_ref.type), "last_error": None}),
            (retry, {"status": "queued", "not_before": bindparam("after", type_=columns.not_before.type),
                     "last_error": bindparam("error", type_=columns.last_error.type)}),
            (failed, {"status": "failed", "last_error": bindparam("error", type_=columns.last_error.type)}),
        ):
            if rows:
                await tx.session.execute(
                    update(table).where(columns.id == bindparam("message_id", type_=columns.id.type), columns.status == "sending").values(**values),
                    rows,
                )
    return ended
