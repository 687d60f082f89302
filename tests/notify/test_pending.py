"""The send's second transaction: recipient rows and first steps stored after the devices were told, by whoever needs them first."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from notify.broadcasts import do_send_broadcast, do_store_pending_recipients, do_store_recipients
from notify.config import NotifySettings
from notify.models import Broadcast, BroadcastRecipient, EscalationStep
from notify.recipients import expand_recipients
from server.accounts.auth import Principal
from server.audiences.expand import Audience
from server.gateway.models import UserEvent
from server.orgs.access import OrgContext
from tests.notify.test_receipts import signed_in_recipient
from tests.notify.test_send import url

CALL_LATER = {"sms_after_s": None, "call_after_s": 600, "repeats": 0, "repeat_interval_s": 60, "push_after_s": 5}


async def told_but_not_stored(db, org, user_ids: list[int]) -> int:
    """The send's first transaction only: what a node leaves behind if it stops before the second."""
    sender = OrgContext(org_id=org.id, principal=Principal(user_id=org.admin.id, session_id=0, name="Ada Admin"), membership_id=None, role="owner")
    async with db.transaction(org_id=org.id) as tx:
        recipients, _ = await expand_recipients(tx, Audience({"users": user_ids}), phone_region="GB")
        broadcast = await do_send_broadcast(tx, sender, NotifySettings(), title="Code red", body="Evacuate ward 3 now.", attachments=[], policy=CALL_LATER,
                                            priority=5, recipients=recipients)
    return broadcast.id


async def stored(db, broadcast_id: int) -> tuple[int, int, bool]:
    """(recipient rows, escalation steps, still pending)."""
    async with db.transaction() as tx:
        rows = await tx.session.scalar(select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id))
        steps = await tx.session.scalar(select(func.count()).select_from(EscalationStep).where(EscalationStep.broadcast_id == broadcast_id))
        pending = await tx.session.scalar(select(Broadcast.recipients_pending.is_not(None)).where(Broadcast.id == broadcast_id))
    return rows, steps, pending


async def test_a_receipt_that_comes_before_the_rows_stores_them_first(client, db, org, backend):
    rita = await signed_in_recipient(client, db, org)
    broadcast_id = await told_but_not_stored(db, org, [rita.id, org.people["pat"]])
    async with db.transaction() as tx:
        told = await tx.session.scalar(select(func.count()).select_from(UserEvent).where(UserEvent.user_id.in_([rita.id, org.people["pat"]])))
    assert told == 2
    if backend == "postgresql":
        assert await stored(db, broadcast_id) == (0, 0, True)
    receipt = await client.post(url(org, f"/{broadcast_id}/receipt"), json={"state": "delivered"}, headers=rita.headers)
    assert receipt.status == 200 and (await receipt.json())["state"] == "delivered"
    assert await stored(db, broadcast_id) == (2, 1, False)  # only pat has a phone to call
    got = await (await client.get(url(org, f"/{broadcast_id}"), headers=org.admin.headers)).json()
    assert got["counts"] == {"sent": 2, "delivered": 1, "read": 0, "confirmed": 0}

    later = await told_but_not_stored(db, org, [rita.id])
    received = await (await client.get(url(org, "/received"), headers=rita.headers)).json()
    assert [(b["id"], b["state"]) for b in received] == [(later, "sent"), (broadcast_id, "delivered")]
    assert await stored(db, later) == (1, 0, False)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_node_stores_what_a_sender_that_stopped_left_pending_once_however_many_try(client, db, org, backend):
    people = [org.people[name] for name in ("nina", "noah", "hana")]
    first, second = await told_but_not_stored(db, org, people), await told_but_not_stored(db, org, people[:1])

    async def store(broadcast_id: int) -> None:
        async with db.transaction() as tx:
            await do_store_recipients(tx, broadcast_id)

    await asyncio.gather(store(first), store(first), store(first))  # the row lock lets one store, the others find it done
    assert await stored(db, first) == (3, 3, False)
    assert await stored(db, second) == (0, 0, True)
    assert await do_store_pending_recipients(db, older_than_s=3600) == 0  # a send in progress is left to its own node
    assert await do_store_pending_recipients(db, older_than_s=0) == 1
    assert await stored(db, second) == (1, 1, False)
    assert await do_store_pending_recipients(db, older_than_s=0) == 0
