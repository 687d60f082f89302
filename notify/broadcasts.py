"""Sending urgent broadcasts, recording receipts, reminding: the plain functions behind the routes.

Sending is the hot path, in two transactions, each a constant number of
statements for N recipients. ``do_send_broadcast``: the broadcast row, with
its recipient list as one JSON value (``recipients_pending``), and one batched
``emit`` (server/gateway/events.py) of every recipient's ``broadcast.received``
event; its commit tells the devices. ``do_store_recipients``: the recipient
rows in one statement (server/db/upsert.py's ``insert_rows``: an INSERT ...
SELECT unnest() on PostgreSQL, an executemany on SQLite), ``has_push`` by one
UPDATE joining the subscriptions, and the first escalation step of each in
at most four INSERT ... SELECT (notify/escalation.py). Everything that reads
recipient rows calls it first, so nobody sees a broadcast without them.

Before anything is stored, a send reserves the most SMS and calls its policy
could send (server/channels/paid.py): past a daily allowance it is refused whole.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, null, or_, select, update
from sqlalchemy.orm import undefer

from notify.config import NotifySettings
from notify.escalation import do_schedule_first_steps
from notify.live import publish_after_commit
from notify.models import STAGES, Broadcast, BroadcastRecipient, BroadcastSender, EscalationPolicy, OutboundMessage
from notify.policy import paid_messages_per_phone
from notify.recipients import Recipient
from server.audiences.reach import WHOLE, sender_paths
from server.audit.record import do_audit
from server.channels.models import PushSubscription
from server.channels.paid import PaidLimitExceeded, do_reserve_paid
from server.db import Database, Transaction, utcnow
from server.db.one_of import one_of, rows_where_one_of
from server.db.upsert import insert_rows
from server.errors import Forbidden, NotFound
from server.gateway.events import emit
from server.orgs.access import OrgContext, admitted_outsiders
from server.orgs.models import Membership

RECEIVED_EVENT = "broadcast.received"
REMINDER_EVENT = "broadcast.reminder"
REFUSED_EVENT = "broadcast.refused"


async def may_send(tx: Transaction, org: OrgContext) -> bool:
    """Whether the caller may send to anyone in the organisation: its admins and the members granted it."""
    if org.is_admin:
        return True
    return await tx.session.scalar(select(BroadcastSender.id).where(BroadcastSender.user_id == org.user_id)) is not None


async def granted_reach(tx: Transaction, org: OrgContext) -> list[str]:
    """For the audience preview (server/audiences/routes.py): the whole organisation for those who may send to anyone."""
    return [WHOLE] if await may_send(tx, org) else []


async def check_may_send(tx: Transaction, org: OrgContext) -> list[str]:
    """Where the caller may send: ``["/"]`` (anyone) for admins and granted senders, else the subtrees their place
    gives them (server/audiences/reach.py: a school's staff); 403 for anyone else."""
    if await may_send(tx, org):
        return [WHOLE]
    if org.membership_id is not None and (paths := await sender_paths(tx, org.org_id, org.user_id)):
        return paths
    raise Forbidden("you may not send urgent broadcasts here: ask an organisation admin to grant it")


async def effective_default_policy(tx: Transaction, defaults: dict) -> dict:
    """The organisation's policy if it set one, else the node's configured default."""
    row = await tx.session.scalar(select(EscalationPolicy))
    if row is None:
        return dict(defaults)
    return {**defaults, "sms_after_s": row.sms_after_s, "call_after_s": row.call_after_s, "repeats": row.repeats,
            "repeat_interval_s": row.repeat_interval_s}


async def do_set_default_policy(tx: Transaction, policy: dict) -> None:
    row = await tx.session.scalar(select(EscalationPolicy))
    if row is None:
        row = EscalationPolicy(org_id=tx.org_id)
        tx.session.add(row)
    for key in ("sms_after_s", "call_after_s", "repeats", "repeat_interval_s"):
        setattr(row, key, policy[key])
    row.updated_at = utcnow()
    await tx.session.flush()


def event_data(broadcast: Broadcast, sender_name: str) -> dict:
    return {
        "broadcast_id": broadcast.id,
        "org_id": broadcast.org_id,
        "title": broadcast.title,
        "body": broadcast.body,
        "attachments": broadcast.attachments,
        "sender": sender_name,
        "priority": broadcast.priority,
        "sent_at": broadcast.created_at.isoformat(),
    }


async def do_send_broadcast(
    tx: Transaction, org: OrgContext, settings: NotifySettings, *, title: str, body: str, attachments: list[dict], policy: dict,
    priority: int, recipients: Sequence[Recipient],
) -> Broadcast:
    """Store the broadcast with its recipient list pending, and queue each recipient's event: what devices need, and no more.

    The recipient rows and first escalation steps cost about as much again as
    the events, so ``do_store_recipients`` stores them in a transaction of its
    own once this one committed and the devices were told. Until then the
    list waits in ``recipients_pending``, and whatever needs the rows first (a
    receipt, the sender, a node recovering after a crash) stores them itself.
    SQLite, one process and small, stores them here.

    First it reserves the SMS and calls the policy could send: past an
    allowance it raises ``PaidLimitExceeded`` before anything is stored.
    """
    await _reserve_paid_messages(tx, settings, policy, recipients)
    now = utcnow()
    broadcast = Broadcast(org_id=org.org_id, sender_id=org.user_id, title=title, body=body, attachments=attachments, policy=policy,
                          priority=priority, recipient_count=len(recipients), created_at=now,
                          recipients_pending=[[r.user_id, r.name, r.phone] for r in recipients])
    tx.session.add(broadcast)
    await tx.session.flush()
    await emit(tx, [r.user_id for r in recipients], RECEIVED_EVENT, event_data(broadcast, org.principal.name))
    details = {"recipients": len(recipients), "priority": priority, "policy": policy, "attachments": len(attachments)}
    await do_audit(tx, org.principal, "broadcast.sent", target=("broadcast", broadcast.id), details=details)
    if tx.dialect != "postgresql":
        await do_store_recipients(tx, broadcast.id)
    return broadcast


async def _reserve_paid_messages(tx: Transaction, settings: NotifySettings, policy: dict, recipients: Sequence[Recipient]) -> None:
    """The policy's SMS and calls per phone, times the recipients with that phone (two members may share one)."""
    per_phone = paid_messages_per_phone(policy)
    if not any(per_phone.values()):
        return
    phones = Counter(r.phone for r in recipients if r.phone)
    for channel, per_recipient in per_phone.items():
        if per_recipient:
            await do_reserve_paid(tx, settings, channel, org_id=tx.org_id,
                                  per_number={phone: count * per_recipient for phone, count in phones.items()})


async def do_tell_admins_of_refusal(tx: Transaction, org: OrgContext, refusal: PaidLimitExceeded) -> None:
    """The organisation's admins and owners hear that a send was refused for its SMS or calls (the operator sees the log and metric)."""
    admins = list(await tx.session.scalars(select(Membership.user_id).where(Membership.role.in_(("admin", "owner")))))
    await emit(tx, admins, REFUSED_EVENT, {"org_id": org.org_id, "sender": org.principal.name, "channel": refusal.channel,
                                           "scope": refusal.scope, "message": refusal.message})


async def do_store_recipients(tx: Transaction, broadcast_id: int, sent_to: Sequence[Recipient] | None = None) -> None:
    """Store the recipient rows and first escalation steps of a broadcast whose list is pending; nothing once stored.
    ``sent_to``: the list, if the caller holds it (the send itself), so that it is not read back and decoded.

    The broadcast row is locked first, so of all who call this at once one
    stores the rows and the others wait for its commit, then find nothing to do.
    """
    if not await tx.session.scalar(select(Broadcast.recipients_pending.is_not(None)).where(Broadcast.id == broadcast_id)):
        return
    locked = (select(Broadcast, Broadcast.recipients_pending.is_not(None)).where(Broadcast.id == broadcast_id)
              .with_for_update().execution_options(populate_existing=True))
    if sent_to is None:
        locked = locked.options(undefer(Broadcast.recipients_pending))
    broadcast, pending = (await tx.session.execute(locked)).one()
    if not pending:
        return  # another transaction stored them while this one waited for the lock
    recipients = sent_to if sent_to is not None else [Recipient(user_id, name, phone) for user_id, name, phone in broadcast.recipients_pending]
    await _store_recipients(tx, broadcast, recipients)
    await do_schedule_first_steps(tx, broadcast)
    broadcast.recipients_pending = null()  # SQL NULL: None would be stored as JSON null
    await tx.session.flush()


async def do_store_pending_of_org(tx: Transaction) -> None:
    """Before listing broadcasts: store the rows of those of the transaction's organisation still pending (a send in progress)."""
    for broadcast_id in list(await tx.session.scalars(select(Broadcast.id).where(Broadcast.recipients_pending.is_not(None)))):
        await do_store_recipients(tx, broadcast_id)


async def do_store_pending_recipients(db: Database, *, older_than_s: float) -> int:
    """Store the recipients of broadcasts whose sending node stopped after telling the devices (a crash); returns how many."""
    async with db.transaction() as tx:
        cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
        pending = list(await tx.session.scalars(
            select(Broadcast.id).where(Broadcast.recipients_pending.is_not(None), Broadcast.created_at < cutoff)
        ))
    for broadcast_id in pending:
        async with db.transaction() as tx:
            await do_store_recipients(tx, broadcast_id)
    return len(pending)


async def _store_recipients(tx: Transaction, broadcast: Broadcast, recipients: Sequence[Recipient]) -> None:
    """The recipient rows in one statement (server/db/upsert.py's ``insert_rows``: the rows as one array per column on
    PostgreSQL), then ``has_push`` set on those with a Web Push subscription by one UPDATE joining the subscriptions
    (a few thousand), not a list of every recipient's id.

    The rows have no foreign keys (notify/models.py): with its three, a scratch copy of the table took 54-58 s for
    480,000 rows on the shared two-core machine, without them 13-14 s, the rows and their four indexes. ``COPY``
    (asyncpg's ``copy_records_to_table``) took as long as the INSERT, so the statement stays the portable one
    (bench/RESULTS.md ## health)."""
    table = BroadcastRecipient.__table__
    columns = {"user_id": [r.user_id for r in recipients], "name": [r.name for r in recipients], "phone": [r.phone for r in recipients]}
    constants = {"org_id": broadcast.org_id, "broadcast_id": broadcast.id, "has_push": False, "stage": 0, "sent_at": broadcast.created_at,
                 "remind_count": 0}
    statement, parameters = insert_rows(tx, table, columns, constants)
    await tx.session.execute(statement, parameters)
    await tx.session.execute(
        update(table).where(table.c.broadcast_id == broadcast.id, table.c.user_id.in_(select(PushSubscription.user_id))).values(has_push=True)
    )


async def get_broadcast(tx: Transaction, broadcast_id: int) -> Broadcast:
    broadcast = await tx.session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.org_id != tx.org_id:
        raise NotFound("no such broadcast")
    return broadcast


async def get_broadcast_for_sender(tx: Transaction, org: OrgContext, broadcast_id: int) -> Broadcast:
    """Its sender and the organisation's admins see a broadcast's receipts; anyone else gets 404."""
    await do_store_recipients(tx, broadcast_id)
    broadcast = await get_broadcast(tx, broadcast_id)
    if broadcast.sender_id != org.user_id and not org.is_admin:
        raise NotFound("no such broadcast")
    return broadcast


async def get_my_receipt(tx: Transaction, broadcast_id: int, user_id: int) -> tuple[Broadcast, BroadcastRecipient]:
    await do_store_recipients(tx, broadcast_id)
    recipient = await tx.session.scalar(
        select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id, BroadcastRecipient.user_id == user_id)
    )
    if recipient is None:
        raise NotFound("no such broadcast")
    return await get_broadcast(tx, broadcast_id), recipient


async def stage_counts(tx: Transaction, broadcast_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per broadcast, how many recipients reached each stage (cumulative: a reader was also delivered to)."""
    rows = await tx.session.execute(
        select(BroadcastRecipient.broadcast_id, BroadcastRecipient.stage, func.count())
        .where(BroadcastRecipient.broadcast_id.in_(broadcast_ids))
        .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.stage)
    )
    counts = {b: dict.fromkeys(STAGES, 0) for b in broadcast_ids}
    for broadcast_id, stage, n in rows:
        for reached in STAGES[: stage + 1]:
            counts[broadcast_id][reached] += n
    return counts


async def delivery_counts(tx: Transaction, broadcast_id: int) -> dict[str, dict[str, int]]:
    """Per channel (push, sms, call), messages by status (queued, sending, sent, failed, cancelled)."""
    rows = await tx.session.execute(
        select(OutboundMessage.channel, OutboundMessage.status, func.count())
        .where(OutboundMessage.broadcast_id == broadcast_id)
        .group_by(OutboundMessage.channel, OutboundMessage.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for channel, status, n in rows:
        counts.setdefault(channel, {})[status] = n
    return counts


async def current_recipients(tx: Transaction, broadcast_id: int, user_ids: Sequence[int]) -> list[int]:
    """Of these people, those the broadcast went to who are still in its organisation, as members or as outsiders it
    admits (a school's guardians; its rows stored first).

    Statements of one table each, not a join: joined, PostgreSQL could loop over the recipients it guessed were
    one and search the members for each (a window of 10,000 receipts: 6.4 s; server/db/one_of.py). Only those who
    are not members are looked for among each kind of outsider, so a window of members costs what it always did."""
    org_id = await tx.session.scalar(select(Broadcast.org_id).where(Broadcast.id == broadcast_id))
    mine = select(BroadcastRecipient.user_id).where(BroadcastRecipient.broadcast_id == broadcast_id)
    recipients = [row.user_id for row in await rows_where_one_of(tx, mine, BroadcastRecipient.user_id, user_ids)]
    members = select(Membership.user_id).where(Membership.org_id == org_id)
    still = {row.user_id for row in await rows_where_one_of(tx, members, Membership.user_id, recipients)}
    for outsiders in admitted_outsiders(org_id):
        if not (rest := [user_id for user_id in recipients if user_id not in still]):
            break
        admitted = outsiders.subquery()
        still |= {row.user_id for row in await rows_where_one_of(tx, select(admitted.c.user_id), admitted.c.user_id, rest)}
    return [user_id for user_id in recipients if user_id in still]


def still_in_organisation(org_id: int):
    """The condition "this recipient is still a member of the organisation or an outsider it admits", set-based."""
    members = select(Membership.user_id).where(Membership.org_id == org_id)
    return or_(BroadcastRecipient.user_id.in_(members), *(BroadcastRecipient.user_id.in_(people) for people in admitted_outsiders(org_id)))


async def do_advance(tx: Transaction, broadcast_id: int, user_ids: Sequence[int], state: str, *, via: str = "app") -> list[int]:
    """Move these recipients forward to ``state`` (never back); returns who actually moved.

    Reaching a stage fills the times of the stages before it that were
    skipped (confirming on a call also means it was delivered and read).
    Confirming cancels the recipient's messages still queued.
    """
    await do_store_recipients(tx, broadcast_id)
    stage = STAGES.index(state)
    now = utcnow()
    values: dict = {"stage": stage}
    for earlier, column in ((1, "delivered_at"), (2, "read_at"), (3, "confirmed_at")):
        if stage >= earlier:
            values[column] = func.coalesce(getattr(BroadcastRecipient, column), now)
    if stage == 3:
        values["confirmed_via"] = via
    moved = []
    for chosen in one_of(tx, BroadcastRecipient.user_id, user_ids):
        moved += await tx.session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == broadcast_id, chosen, BroadcastRecipient.stage < stage)
            .values(**values)
            .returning(BroadcastRecipient.id, BroadcastRecipient.user_id)
            .execution_options(synchronize_session=False)
        )
    if not moved:
        return []
    if stage == 3:
        await tx.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.recipient_id.in_([m.id for m in moved]), OutboundMessage.status == "queued")
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
    sender_id = await tx.session.scalar(select(Broadcast.sender_id).where(Broadcast.id == broadcast_id))
    publish_after_commit(tx, broadcast_id, sender_id, "receipts", [[m.user_id, state] for m in moved])
    return [m.user_id for m in moved]


async def do_remind(tx: Transaction, broadcast: Broadcast, sender_name: str) -> int:
    """Send the notice again to everyone who has not confirmed and is still in the organisation (its members and the
    outsiders it admits); returns how many."""
    await do_store_recipients(tx, broadcast.id)
    now = utcnow()
    unconfirmed = list(
        await tx.session.execute(
            update(BroadcastRecipient)
            .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.stage < STAGES.index("confirmed"),
                   still_in_organisation(broadcast.org_id))
            .values(reminded_at=now, remind_count=BroadcastRecipient.remind_count + 1)
            .returning(BroadcastRecipient.user_id)
            .execution_options(synchronize_session=False)
        )
    )
    user_ids = [row.user_id for row in unconfirmed]
    await emit(tx, user_ids, REMINDER_EVENT, event_data(broadcast, sender_name) | {"reminded_at": now.isoformat()})
    return len(user_ids)
