"""Someone removed from the organisation is no longer chased (no SMS or call after the removal, no reminder) and loses the right to send."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from notify.models import BroadcastRecipient, EscalationStep
from server.orgs.models import Membership
from tests.factories import person
from tests.notify.conftest import add_member
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send, url


async def test_a_removed_member_gets_no_more_sms_calls_or_reminders(client, db, org, fake_provider, backend):
    nina, noah = org.people["nina"], org.people["noah"]
    # Seconds enough for the removal to land first even on a loaded machine (it is what is tested, not the race).
    policy = {"sms_after_s": 4, "call_after_s": 5, "repeats": 0, "repeat_interval_s": 60}
    sent = await (await send(client, org, {"user_ids": [nina, noah]}, policy=policy)).json()
    async with db.transaction(org_id=org.id) as tx:
        nina_member = await tx.session.scalar(select(Membership.id).where(Membership.user_id == nina))
    assert (await client.delete(f"/api/v1/orgs/{org.id}/members/{nina_member}", headers=org.admin.headers)).status == 204

    noah_phone, nina_phone = "+447946000001", "+447946000000"
    await eventually(lambda: _called(fake_provider, noah_phone))  # noah's whole escalation ran
    await asyncio.sleep(0.5)
    assert nina_phone not in [s.to for s in fake_provider.sent.values()]
    async with db.transaction(org_id=org.id) as tx:
        outcomes = set(
            await tx.session.scalars(
                select(EscalationStep.outcome).join(BroadcastRecipient, BroadcastRecipient.id == EscalationStep.recipient_id)
                .where(BroadcastRecipient.user_id == nina)
            )
        )
    assert outcomes == {"revoked"}
    reminded = await client.post(url(org, f"/{sent['id']}/remind"), headers=org.admin.headers)
    assert reminded.status == 200 and (await reminded.json())["reminded"] == 1  # noah only


async def _called(provider, phone: str) -> bool:
    return phone in [s.to for s in provider.of_kind("call")]


async def test_a_sender_removed_and_added_again_has_to_be_granted_the_right_again(client, db, org, backend):
    sender = await person(client, db, "Sam Sender")
    await add_member(db, org.id, sender.id, "Sam Sender")
    assert (await client.put(f"/api/v1/orgs/{org.id}/broadcast-senders/{sender.id}", headers=org.admin.headers)).status == 200
    assert (await send(client, org, {"everyone": True}, headers=sender.headers)).status == 201
    async with db.transaction(org_id=org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == sender.id))
    assert (await client.delete(f"/api/v1/orgs/{org.id}/members/{member_id}", headers=org.admin.headers)).status == 204
    assert (await send(client, org, {"everyone": True}, headers=sender.headers)).status == 404

    await add_member(db, org.id, sender.id, "Sam Sender")
    refused = await send(client, org, {"everyone": True}, headers=sender.headers)
    assert refused.status == 403 and "may not send" in (await refused.json())["error"]["message"]
