"""Someone who leaves the organisation is no longer chased by its broadcasts.

In the transaction that removes them (server/revocation.py): their pending
escalation steps end (outcome ``revoked``) and their queued SMS, calls and
pushes are cancelled, so no node texts or rings a person who is no longer
there. A right to send broadcasts granted to them is withdrawn, so it does
not come back if they are added again. Reminders go to members only
(``do_remind``), and reading the organisation's broadcasts already needs a
membership (404 otherwise).

Cost: the broadcasts whose recipient rows are still pending are stored first
(a handful at most, notify/broadcasts.py), then two UPDATEs by the recipient
rows of these people (``ix_broadcast_recipients_user_id``), and a DELETE of their sender rights.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from notify.broadcasts import do_store_recipients
from notify.models import Broadcast, BroadcastRecipient, BroadcastSender, EscalationStep, OutboundMessage
from server.db import Transaction, utcnow
from server.revocation import AccessRevoked, register_revocation


async def do_stop_chasing(tx: Transaction, revoked: AccessRevoked) -> None:
    if revoked.scope is not None:  # a group's: broadcasts already sent went to the organisation's people
        return
    pending = await tx.session.scalars(
        select(Broadcast.id).where(Broadcast.org_id == revoked.org_id, Broadcast.recipients_pending.is_not(None))
    )
    for broadcast_id in list(pending):
        await do_store_recipients(tx, broadcast_id)
    theirs = select(BroadcastRecipient.id).where(
        BroadcastRecipient.org_id == revoked.org_id, BroadcastRecipient.user_id.in_(revoked.user_ids)
    ).scalar_subquery()
    now = utcnow()
    await tx.session.execute(
        update(EscalationStep)
        .where(EscalationStep.recipient_id.in_(theirs), EscalationStep.done_at.is_(None))
        .values(done_at=now, outcome="revoked")
        .execution_options(synchronize_session=False)
    )
    await tx.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.recipient_id.in_(theirs), OutboundMessage.status == "queued")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    await tx.session.execute(
        delete(BroadcastSender)
        .where(BroadcastSender.org_id == revoked.org_id, BroadcastSender.user_id.in_(revoked.user_ids))
        .execution_options(synchronize_session=False)
    )


register_revocation(do_stop_chasing)
