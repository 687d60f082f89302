"""What notify lets the platform's retention job prune: done escalation steps; the delivery record stays with its broadcast."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from notify.models import EscalationStep, OutboundMessage
from server.db import utcnow
from server.retention.job import do_prune
from server.retention.registry import PRUNINGS
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send


async def test_done_escalation_steps_are_pruned_and_the_deliveries_kept(client, db, org, fake_provider):
    policy = {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}
    sent = await (await send(client, org, {"user_ids": [org.people["nina"]]}, policy=policy)).json()

    async def sms_sent():
        async with db.transaction() as tx:
            return await tx.session.scalar(select(OutboundMessage.id).where(OutboundMessage.channel == "sms", OutboundMessage.status == "sent"))
    await eventually(sms_sent)
    async with db.transaction() as tx:
        steps = list(await tx.session.scalars(select(EscalationStep.id).where(EscalationStep.broadcast_id == sent["id"])))
        assert steps and await tx.session.scalar(select(EscalationStep.id).where(EscalationStep.done_at.is_(None))) is None
    assert (await do_prune(db, client.app[PRUNINGS], node="test"))["done escalation steps"] == 0  # done just now: kept

    async with db.transaction() as tx:
        await tx.session.execute(update(EscalationStep).values(done_at=utcnow() - dt.timedelta(days=31)))
    assert (await do_prune(db, client.app[PRUNINGS], node="test"))["done escalation steps"] == len(steps)
    deliveries = await (await client.get(f"/api/v1/orgs/{org.id}/broadcasts/{sent['id']}/deliveries", headers=org.admin.headers)).json()
    assert [(d["channel"], d["status"]) for d in deliveries] == [("sms", "sent")]
