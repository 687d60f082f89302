"""Durable escalation: claim the steps that are due and perform them, exactly once across nodes.

One transaction per batch does all of it: ``SELECT ... FOR UPDATE SKIP LOCKED``
takes up to ``limit`` due steps that no other node holds (PostgreSQL; SQLite is
one node and serialises writers), then each step is decided against its
recipient's stage, its message is queued in ``notify_outbound`` and the
recipient's next step is inserted. The claim, the message and the next step
commit together or not at all, so a node that crashes mid-batch leaves the
steps due for whoever looks next, and no step can queue two messages (the
outbound row's ``step_id`` is unique as well).

Cost per batch: one locking SELECT, two SELECTs by id (recipients,
broadcasts), one UPDATE per outcome, one multi-row INSERT of messages and one
of next steps.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict

from sqlalchemy import insert, literal, select, update

from notify.models import Broadcast, BroadcastRecipient, EscalationStep, OutboundMessage
from notify.policy import CONFIRMED, SATISFIED_AT, plan_for
from server.db import Database, Transaction, utcnow


async def do_schedule_first_steps(tx: Transaction, broadcast: Broadcast) -> None:
    """Insert each recipient's first step, straight from the stored recipient rows.

    Only two things vary between recipients (a usable phone, a push
    subscription), so there are at most four plans: one INSERT ... SELECT
    for each kind that has a first step, whatever the number of recipients.
    """
    for has_phone in (False, True):
        for has_push in (False, True):
            plan = plan_for(broadcast.policy, has_phone=has_phone, has_push=has_push)
            if not plan:
                continue
            first = plan[0]
            values = {"step_no": 0, "channel": first.channel, "attempt": first.attempt,
                      "due_at": broadcast.created_at + dt.timedelta(seconds=first.offset_s)}
            columns = EscalationStep.__table__.c
            chosen = select(
                BroadcastRecipient.org_id, BroadcastRecipient.broadcast_id, BroadcastRecipient.id,
                *(literal(value, columns[name].type) for name, value in values.items()),
            ).where(
                BroadcastRecipient.broadcast_id == broadcast.id,
                BroadcastRecipient.phone.is_not(None) if has_phone else BroadcastRecipient.phone.is_(None),
                BroadcastRecipient.has_push == has_push,
            )
            await tx.session.execute(insert(EscalationStep).from_select(["org_id", "broadcast_id", "recipient_id", *values], chosen))


def _step_row(org_id: int, broadcast_id: int, sent_at: dt.datetime, recipient_id: int, step_no: int, planned) -> dict:
    return {
        "org_id": org_id,
        "broadcast_id": broadcast_id,
        "recipient_id": recipient_id,
        "step_no": step_no,
        "channel": planned.channel,
        "attempt": planned.attempt,
        "due_at": sent_at + dt.timedelta(seconds=planned.offset_s),
    }


async def do_perform_due_steps(db: Database, *, node: str, limit: int) -> dict[str, int]:
    """Perform up to ``limit`` due steps; returns how many ended each way (queued, skipped, stopped)."""
    async with db.transaction() as tx:
        now = utcnow()
        claim = (
            select(EscalationStep.id, EscalationStep.org_id, EscalationStep.broadcast_id, EscalationStep.recipient_id,
                   EscalationStep.step_no, EscalationStep.channel)
            .where(EscalationStep.done_at.is_(None), EscalationStep.due_at <= now)
            .order_by(EscalationStep.due_at, EscalationStep.id)
            .limit(limit)
        )
        if tx.dialect == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        steps = (await tx.session.execute(claim)).all()
        if not steps:
            return {}
        recipients = await _by_id(tx, BroadcastRecipient, {s.recipient_id for s in steps},
                                  BroadcastRecipient.stage, BroadcastRecipient.phone, BroadcastRecipient.has_push, BroadcastRecipient.user_id)
        broadcasts = await _by_id(tx, Broadcast, {s.broadcast_id for s in steps},
                                  Broadcast.policy, Broadcast.priority, Broadcast.created_at)
        outcomes: dict[str, list[int]] = defaultdict(list)
        messages, next_steps = [], []
        for step in steps:
            recipient, broadcast = recipients[step.recipient_id], broadcasts[step.broadcast_id]
            if recipient.stage >= CONFIRMED:
                outcomes["stopped"].append(step.id)
                continue
            if recipient.stage >= SATISFIED_AT[step.channel]:
                outcomes["skipped"].append(step.id)
            else:
                outcomes["queued"].append(step.id)
                messages.append({
                    "org_id": step.org_id, "broadcast_id": step.broadcast_id, "recipient_id": step.recipient_id, "step_id": step.id,
                    "channel": step.channel, "to": str(recipient.user_id) if step.channel == "push" else recipient.phone,
                    "priority": broadcast.priority, "status": "queued", "not_before": now, "attempts": 0, "created_at": now,
                    "callback_token": None if step.channel == "push" else secrets.token_urlsafe(32),
                })
            plan = plan_for(broadcast.policy, has_phone=bool(recipient.phone), has_push=recipient.has_push)
            if step.step_no + 1 < len(plan):
                next_steps.append(_step_row(step.org_id, step.broadcast_id, broadcast.created_at, step.recipient_id,
                                            step.step_no + 1, plan[step.step_no + 1]))
        for outcome, ids in outcomes.items():
            await tx.session.execute(
                update(EscalationStep).where(EscalationStep.id.in_(ids))
                .values(done_at=now, claimed_by=node, claimed_at=now, outcome=outcome)
                .execution_options(synchronize_session=False)
            )
        if messages:
            await tx.session.execute(insert(OutboundMessage), messages)
        if next_steps:
            await tx.session.execute(insert(EscalationStep), next_steps)
    return {outcome: len(ids) for outcome, ids in outcomes.items()}


async def _by_id(tx: Transaction, model, ids: set[int], *columns) -> dict:
    rows = await tx.session.execute(select(model.id, *columns).where(model.id.in_(ids)))
    return {row.id: row for row in rows}


async def next_due_at(db: Database) -> dt.datetime | None:
    async with db.transaction() as tx:
        return await tx.session.scalar(
            select(EscalationStep.due_at).where(EscalationStep.done_at.is_(None)).order_by(EscalationStep.due_at).limit(1)
        )
