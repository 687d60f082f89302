"""What urgent broadcasts hold about a person: what they received and how they answered, what they sent, their right to send.

Erasing deletes their recipient rows (with any escalation still pending for
them and its outbound messages) and their right to send. The broadcasts they
sent stay: they are the organisation's notices, and their sender becomes
unknown when the account goes.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from notify.models import Broadcast, BroadcastRecipient, BroadcastSender
from server.config import Settings
from server.db import Transaction
from server.personal_data.parts import PersonalDataPart, iso


async def export_notify(tx: Transaction, user_id: int) -> dict:
    received = await tx.session.execute(
        select(BroadcastRecipient, Broadcast.title)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .where(BroadcastRecipient.user_id == user_id)
        .order_by(BroadcastRecipient.broadcast_id)
    )
    sent = await tx.session.scalars(select(Broadcast).where(Broadcast.sender_id == user_id).order_by(Broadcast.id))
    may_send = await tx.session.scalar(select(BroadcastSender.granted_at).where(BroadcastSender.user_id == user_id))
    return {
        "received": [
            {"broadcast_id": r.broadcast_id, "title": title, "name": r.name, "phone": r.phone, "sent_at": iso(r.sent_at),
             "delivered_at": iso(r.delivered_at), "read_at": iso(r.read_at), "confirmed_at": iso(r.confirmed_at),
             "confirmed_via": r.confirmed_via, "reminders": r.remind_count}
            for r, title in received
        ],
        "sent": [{"broadcast_id": b.id, "title": b.title, "body": b.body, "recipients": b.recipient_count, "sent_at": iso(b.created_at)} for b in sent],
        "may_send_since": iso(may_send),
    }


async def erase_notify(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    received = await tx.session.execute(
        delete(BroadcastRecipient).where(BroadcastRecipient.user_id == user_id).execution_options(synchronize_session=False)
    )
    grants = await tx.session.execute(
        delete(BroadcastSender).where(BroadcastSender.user_id == user_id).execution_options(synchronize_session=False)
    )
    return {"received": received.rowcount, "sender_grants": grants.rowcount}


PART = PersonalDataPart("notify", export_notify, erase_notify)
