"""notify's share of a person's data: their receipts are exported and erased, the notices they sent stay the organisation's."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from notify.models import Broadcast, BroadcastRecipient, EscalationStep
from server.orgs.models import Membership
from server.personal_data.actions import do_delete_account_if_unattached
from tests.notify.test_send import send


async def member_id(db, org, user_id: int) -> int:
    async with db.transaction(org_id=org.id) as tx:
        return await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id))


async def test_a_recipients_receipts_are_exported_then_erased_with_their_pending_escalation(client, db, org, backend):
    sent = await (await send(client, org, {"user_ids": [org.people["nina"], org.people["noah"]]}, policy={"sms_after_s": 600})).json()
    nina = await member_id(db, org, org.people["nina"])

    exported = await (await client.get(f"/api/v1/orgs/{org.id}/members/{nina}/personal-data", headers=org.admin.headers)).json()
    assert [(r["broadcast_id"], r["title"], r["phone"]) for r in exported["parts"]["notify"]["received"]] == [(sent["id"], "Code red", "+447946000000")]

    resp = await client.post(f"/api/v1/orgs/{org.id}/members/{nina}/erasure", json={"confirm": True}, headers=org.admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["erased"]["notify"] == {"received": 1, "sender_grants": 0}
    async with db.transaction(org_id=org.id) as tx:
        left = set(await tx.session.scalars(select(BroadcastRecipient.user_id)))
        steps_for = set(
            await tx.session.scalars(select(BroadcastRecipient.user_id).join(EscalationStep, EscalationStep.recipient_id == BroadcastRecipient.id))
        )
        assert (await tx.session.get(Broadcast, sent["id"])).title == "Code red"
    assert left == {org.people["noah"]} and org.people["nina"] not in steps_for


async def test_the_notices_a_person_sent_are_exported_and_stay_after_their_erasure(client, db, org, backend):
    sent = await (await send(client, org, {"everyone": True})).json()
    admin = await member_id(db, org, org.admin.id)
    exported = await (await client.get(f"/api/v1/orgs/{org.id}/members/{admin}/personal-data", headers=org.admin.headers)).json()
    assert [b["broadcast_id"] for b in exported["parts"]["notify"]["sent"]] == [sent["id"]]



async def test_a_deleted_account_takes_its_receipts_and_their_escalation_with_it(client, db, org, backend):
    """The recipient rows keep no foreign key to users (a notice's insert checked it per row): a trigger deletes them with
    the account, as the key's cascade did, wherever they are, here after the person was removed from the organisation."""
    sent = await (await send(client, org, {"user_ids": [org.people["nina"], org.people["noah"]]}, policy={"sms_after_s": 600})).json()
    nina = await member_id(db, org, org.people["nina"])
    resp = await client.delete(f"/api/v1/orgs/{org.id}/members/{nina}", headers=org.admin.headers)
    assert resp.status == 204, await resp.text()
    async with db.transaction(org_id=org.id) as tx:  # removed, her receipt stays the organisation's record
        assert set(await tx.session.scalars(select(BroadcastRecipient.user_id))) == {org.people["nina"], org.people["noah"]}
    assert await do_delete_account_if_unattached(db, org.people["nina"])
    async with db.transaction(org_id=org.id) as tx:
        left = set(await tx.session.scalars(select(BroadcastRecipient.user_id).where(BroadcastRecipient.broadcast_id == sent["id"])))
        steps_for = set(
            await tx.session.scalars(select(BroadcastRecipient.user_id).join(EscalationStep, EscalationStep.recipient_id == BroadcastRecipient.id))
        )
        steps = await tx.session.scalar(select(func.count()).select_from(EscalationStep).where(EscalationStep.broadcast_id == sent["id"]))
    assert left == {org.people["noah"]} and steps_for == {org.people["noah"]} and steps == 1


async def test_a_deleted_broadcast_takes_its_recipients_and_their_escalation_with_it(client, db, org, backend):
    """What the recipients' foreign key to broadcasts did (an organisation's broadcasts cascade with it), a trigger does."""
    kept = await (await send(client, org, {"user_ids": [org.people["noah"]]}, policy={"sms_after_s": 600})).json()
    gone = await (await send(client, org, {"user_ids": [org.people["nina"], org.people["noah"]]}, policy={"sms_after_s": 600})).json()
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(delete(Broadcast).where(Broadcast.id == gone["id"]))
        recipients = dict((await tx.session.execute(select(BroadcastRecipient.broadcast_id, func.count()).group_by(BroadcastRecipient.broadcast_id))).all())
        steps = dict((await tx.session.execute(select(EscalationStep.broadcast_id, func.count()).group_by(EscalationStep.broadcast_id))).all())
    assert recipients == {kept["id"]: 1} and steps == {kept["id"]: 1}
