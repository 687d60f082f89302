"""Broadcasts API under ``/api/v1/orgs/{org_id}/...``: send, follow, remind; receipts; who may send; the default policy.

A recipient's own routes (``received``, ``mine``, ``receipt``) are declared ``external=True``: outsiders the
organisation admits (a school's guardians) read and confirm the notices sent to them there, each answering only
the caller's own receipts. Every other route stays 404 to them.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete, select

from notify.attachments import BROADCAST_FILES, check_attachments, do_attach
from notify.broadcasts import (
    check_may_send,
    delivery_counts,
    do_advance,
    do_remind,
    do_send_broadcast,
    do_set_default_policy,
    do_store_pending_of_org,
    do_store_recipients,
    do_tell_admins_of_refusal,
    effective_default_policy,
    get_broadcast_for_sender,
    get_my_receipt,
    stage_counts,
)
from notify.gcwindow import collection_deferred
from notify.keys import NOTIFY_SETTINGS, WORKERS
from notify.models import STAGES, Broadcast, BroadcastRecipient, BroadcastSender, OutboundMessage
from notify.policy import check_policy
from notify.recipients import Recipient, expand_recipients
from notify.schemas import (
    BroadcastIn,
    BroadcastOut,
    DeliveriesQuery,
    DeliveryOut,
    PolicyIn,
    PolicyLimitsOut,
    PolicyOut,
    ReceiptIn,
    ReceivedOut,
    RecipientOut,
    RecipientPage,
    RecipientsQuery,
    RemindOut,
    SenderOut,
    SentOut,
    StageCounts,
    UnknownOut,
)
from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audiences.reach import check_audience_within
from server.audit.record import do_audit
from server.channels.paid import PaidLimitExceeded
from server.db import Transaction
from server.db.keyset import keyset_page, who_has
from server.errors import InvalidInput, NotFound
from server.files.tus import create_upload
from server.orgs.access import OrgContext
from server.orgs.models import Membership

routes = web.RouteTableDef()
BROADCASTS = "/api/v1/orgs/{org_id}/broadcasts"
NOT_YET = {"unread": "read", "unconfirmed": "confirmed"}  # "who has not ...": the stage they have not reached


def node_policy_defaults(request: web.Request) -> dict:
    s = request.app[NOTIFY_SETTINGS]
    return {"sms_after_s": s.sms_after_s, "call_after_s": s.call_after_s, "repeats": s.repeats, "repeat_interval_s": s.repeat_interval_s}


async def broadcast_out(tx: Transaction, broadcast: Broadcast) -> BroadcastOut:
    counts = (await stage_counts(tx, [broadcast.id]))[broadcast.id]
    return BroadcastOut(
        id=broadcast.id, sender_id=broadcast.sender_id, title=broadcast.title, body=broadcast.body, attachments=broadcast.attachments,
        policy=broadcast.policy, priority=broadcast.priority, created_at=broadcast.created_at, recipient_count=broadcast.recipient_count,
        counts=StageCounts(**counts), escalations=await delivery_counts(tx, broadcast.id),
    )


async def received_out(tx: Transaction, rows: list[tuple[Broadcast, BroadcastRecipient]]) -> list[ReceivedOut]:
    """Broadcasts as their recipient sees them, with the sender's name in the directory (one query for all)."""
    sender_ids = {b.sender_id for b, _ in rows if b.sender_id is not None}
    names: dict[int, str] = {}
    if sender_ids:
        names = dict((await tx.session.execute(select(Membership.user_id, Membership.display_name).where(Membership.user_id.in_(sender_ids)))).all())
    return [
        ReceivedOut(
            id=b.id, title=b.title, body=b.body, attachments=b.attachments, sender_id=b.sender_id, sender_name=names.get(b.sender_id),
            created_at=b.created_at, state=STAGES[r.stage], delivered_at=r.delivered_at, read_at=r.read_at, confirmed_at=r.confirmed_at,
            remind_count=r.remind_count,
        )
        for b, r in rows
    ]


@routes.post(BROADCASTS)
@endpoint(body=BroadcastIn, response=SentOut, status=201)
async def send_broadcast(request: web.Request, body: BroadcastIn, org: OrgContext) -> SentOut:
    """Send an urgent broadcast (organisation admins and members granted it: to anyone; those a capability lets send by their
    place, such as a school's staff: within it, anything else read as unknown ids, 400). Unknown ids are reported; everyone else is told."""
    db = request.app[DB]
    with collection_deferred():  # until the devices have it, whether the bus delivers during the first transaction's commit or after
        try:
            broadcast, recipients, unknown = await _send_and_tell_devices(request, body, org)
        except PaidLimitExceeded as refusal:
            async with db.transaction(org_id=org.org_id) as tx:
                await do_tell_admins_of_refusal(tx, org, refusal)
            raise
        async with db.transaction(org_id=org.org_id) as tx:
            await do_store_recipients(tx, broadcast.id, recipients)
            out = await broadcast_out(tx, broadcast)
    request.app[WORKERS].wake()
    return SentOut(**out.model_dump(), unknown=unknown)


async def _send_and_tell_devices(request: web.Request, body: BroadcastIn, org: OrgContext) -> tuple[Broadcast, list[Recipient], UnknownOut]:
    """The first of the send's two transactions: the devices are told once it committed (published after commit).
    The second stores the recipient rows and first escalation steps (notify/broadcasts.py)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        reach = await check_may_send(tx, org)
        wanted = body.recipients.audience()
        await check_audience_within(tx, wanted, reach)
        recipients, audience = await expand_recipients(tx, wanted, phone_region=request.app[SETTINGS].default_phone_region)
        unknown = UnknownOut.of(audience.unknown)
        if not recipients:
            named = ", ".join(f"{kind} {ids}" for kind, ids in audience.unknown.items() if ids)
            if named:
                raise InvalidInput("nobody to send to: no such {named} in this organisation", field="recipients", code="no_recipients", named=named)
            raise InvalidInput("nobody to send to: the departments and groups named have no members", field="recipients", code="no_recipients")
        settings = request.app[NOTIFY_SETTINGS]
        policy = body.policy.model_dump() if body.policy else await effective_default_policy(tx, node_policy_defaults(request))
        check_policy(policy, min_delay_s=settings.paid_min_delay_s, max_repeats=settings.paid_max_repeats,
                     field_prefix="policy." if body.policy else "")
        policy["push_after_s"] = settings.push_after_s
        attachments, file_ids = await check_attachments(tx, request.app[SETTINGS], org, body.attachments)
        broadcast = await do_send_broadcast(
            tx, org, settings, title=body.title, body=body.body, attachments=attachments, policy=policy,
            priority=body.priority, recipients=recipients,
        )
        await do_attach(tx, broadcast.id, file_ids)
    return broadcast, recipients, unknown


@routes.post("/api/v1/orgs/{org_id}/broadcast-attachments")
@endpoint(status=201)
async def create_attachment_upload(request: web.Request, org: OrgContext) -> web.Response:
    """tus creation of a file to attach to a broadcast (senders); once complete, send it as attachments: [{"upload_id": ...}]."""

    async def sent_later(tx: Transaction) -> None:
        """Senders only; the file belongs to no broadcast until one is sent with it."""
        await check_may_send(tx, org)

    return await create_upload(request, org, BROADCAST_FILES, sent_later)


@routes.get(BROADCASTS)
@endpoint(response=list[BroadcastOut])
async def list_broadcasts(request: web.Request, org: OrgContext) -> list[BroadcastOut]:
    """Broadcasts the caller sent (all of the organisation's, for admins), newest first, at most 100."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_store_pending_of_org(tx)
        query = select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(100)
        if not org.is_admin:
            query = query.where(Broadcast.sender_id == org.user_id)
        return [await broadcast_out(tx, b) for b in await tx.session.scalars(query)]


@routes.get(BROADCASTS + "/received")
@endpoint(response=list[ReceivedOut], auth="any", external=True)
async def list_received(request: web.Request, org: OrgContext) -> list[ReceivedOut]:
    """Broadcasts sent to the caller, newest first, at most 100."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_store_pending_of_org(tx)
        rows = await tx.session.execute(
            select(Broadcast, BroadcastRecipient).join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
            .where(BroadcastRecipient.user_id == org.user_id).order_by(Broadcast.id.desc()).limit(100)
        )
        return await received_out(tx, [tuple(row) for row in rows])


@routes.get(BROADCASTS + "/{broadcast_id}")
@endpoint(response=BroadcastOut)
async def get_broadcast_route(request: web.Request, org: OrgContext) -> BroadcastOut:
    """A broadcast with its counts per state and its SMS/call/push deliveries per status (its sender and admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await broadcast_out(tx, await get_broadcast_for_sender(tx, org, path_int(request, "broadcast_id")))


@routes.get(BROADCASTS + "/{broadcast_id}/recipients")
@endpoint(query=RecipientsQuery, response=RecipientPage)
async def list_recipients(request: web.Request, query: RecipientsQuery, org: OrgContext) -> RecipientPage:
    """Recipients now in a state, or who have not read or not confirmed yet (with how many in all), in id order, a page at a time."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        broadcast = await get_broadcast_for_sender(tx, org, path_int(request, "broadcast_id"))
        q = select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id)
        count = None
        if query.state in NOT_YET:
            page = await who_has(tx, q, BroadcastRecipient.stage >= STAGES.index(NOT_YET[query.state]), BroadcastRecipient.id,
                                 state="not_done", after=query.after, limit=query.limit)
            count = page.not_done_count
        else:
            if query.state is not None:
                q = q.where(BroadcastRecipient.stage == STAGES.index(query.state))
            page = await keyset_page(tx, q, BroadcastRecipient.id, after=query.after, limit=query.limit)
    items = [
        RecipientOut(user_id=r.user_id, name=r.name, state=STAGES[r.stage], has_phone=r.phone is not None, sent_at=r.sent_at,
                     delivered_at=r.delivered_at, read_at=r.read_at, confirmed_at=r.confirmed_at, confirmed_via=r.confirmed_via,
                     remind_count=r.remind_count)
        for r in page.rows
    ]
    return RecipientPage(items=items, next_after=page.next_after, count=count)


@routes.get(BROADCASTS + "/{broadcast_id}/deliveries")
@endpoint(query=DeliveriesQuery, response=list[DeliveryOut])
async def list_deliveries(request: web.Request, query: DeliveriesQuery, org: OrgContext) -> list[DeliveryOut]:
    """The SMS, calls and pushes of a broadcast with their status and last error (e.g. the provider failed)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        broadcast = await get_broadcast_for_sender(tx, org, path_int(request, "broadcast_id"))
        q = (
            select(OutboundMessage, BroadcastRecipient.user_id, BroadcastRecipient.name)
            .join(BroadcastRecipient, BroadcastRecipient.id == OutboundMessage.recipient_id)
            .where(OutboundMessage.broadcast_id == broadcast.id)
        )
        if query.status:
            q = q.where(OutboundMessage.status == query.status)
        if query.channel:
            q = q.where(OutboundMessage.channel == query.channel)
        page = await keyset_page(tx, q, OutboundMessage.id, after=query.after, limit=query.limit)
        return [
            DeliveryOut(id=m.id, user_id=user_id, name=name, channel=m.channel, status=m.status, attempts=m.attempts,
                        last_error=m.last_error, provider_status=m.provider_status, sent_at=m.sent_at)
            for m, user_id, name in page.rows
        ]


@routes.post(BROADCASTS + "/{broadcast_id}/remind")
@endpoint(response=RemindOut)
async def remind_again(request: web.Request, org: OrgContext) -> RemindOut:
    """Send the notice again to the recipients who have not confirmed (only them)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        broadcast = await get_broadcast_for_sender(tx, org, path_int(request, "broadcast_id"))
        await check_may_send(tx, org)
        reminded = await do_remind(tx, broadcast, org.principal.name)
        await do_audit(tx, org.principal, "broadcast.reminded", target=("broadcast", broadcast.id), details={"recipients": reminded})
        return RemindOut(reminded=reminded)


@routes.get(BROADCASTS + "/{broadcast_id}/mine")
@endpoint(response=ReceivedOut, auth="any", external=True)
async def my_broadcast(request: web.Request, org: OrgContext) -> ReceivedOut:
    """A broadcast sent to the caller, with the caller's own state."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return (await received_out(tx, [await get_my_receipt(tx, path_int(request, "broadcast_id"), org.user_id)]))[0]


@routes.post(BROADCASTS + "/{broadcast_id}/receipt")
@endpoint(body=ReceiptIn, response=ReceivedOut, auth="any", external=True)
async def post_receipt(request: web.Request, body: ReceiptIn, org: OrgContext) -> ReceivedOut:
    """The recipient's device says delivered, read, or 'I have read this' (confirmed). States only move forward."""
    broadcast_id = path_int(request, "broadcast_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await get_my_receipt(tx, broadcast_id, org.user_id)
        await do_advance(tx, broadcast_id, [org.user_id], body.state)
        tx.session.expire_all()
        return (await received_out(tx, [await get_my_receipt(tx, broadcast_id, org.user_id)]))[0]


@routes.get("/api/v1/orgs/{org_id}/broadcast-policy")
@endpoint(response=PolicyOut)
async def get_policy(request: web.Request, org: OrgContext) -> PolicyOut:
    """The organisation's default escalation policy."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return PolicyOut(**await effective_default_policy(tx, node_policy_defaults(request)))


@routes.put("/api/v1/orgs/{org_id}/broadcast-policy")
@endpoint(body=PolicyIn, response=PolicyOut, role="admin")
async def put_policy(request: web.Request, body: PolicyIn, org: OrgContext) -> PolicyOut:
    """Set the organisation's default escalation policy (admins), within the server's minimum delay and most repeats."""
    settings = request.app[NOTIFY_SETTINGS]
    check_policy(body.model_dump(), min_delay_s=settings.paid_min_delay_s, max_repeats=settings.paid_max_repeats)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_set_default_policy(tx, body.model_dump())
        await do_audit(tx, org.principal, "broadcast_policy.changed", details=body.model_dump())
    return PolicyOut(**body.model_dump())


@routes.get("/api/v1/orgs/{org_id}/broadcast-policy/limits")
@endpoint(response=PolicyLimitsOut)
async def get_policy_limits(request: web.Request, org: OrgContext) -> PolicyLimitsOut:
    """How soon and how often this server lets a policy send SMS and calls (what a policy is checked against)."""
    settings = request.app[NOTIFY_SETTINGS]
    return PolicyLimitsOut(min_delay_s=settings.paid_min_delay_s, max_repeats=settings.paid_max_repeats)


async def check_member(tx: Transaction, user_id: int) -> str:
    """The member's listed name; people of other organisations read as not existing."""
    name = await tx.session.scalar(select(Membership.display_name).where(Membership.user_id == user_id))
    if name is None:
        raise NotFound("no such member")
    return name


@routes.get("/api/v1/orgs/{org_id}/broadcast-senders")
@endpoint(response=list[SenderOut], role="admin")
async def list_senders(request: web.Request, org: OrgContext) -> list[SenderOut]:
    """Members granted the right to send urgent broadcasts (admins and owners always may)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        rows = await tx.session.execute(
            select(BroadcastSender, Membership.display_name)
            .join(Membership, Membership.user_id == BroadcastSender.user_id)
            .order_by(Membership.display_name, BroadcastSender.user_id)
        )
        return [SenderOut(user_id=s.user_id, display_name=name, granted_at=s.granted_at) for s, name in rows]


@routes.put("/api/v1/orgs/{org_id}/broadcast-senders/{user_id}")
@endpoint(response=SenderOut, role="admin")
async def grant_sender(request: web.Request, org: OrgContext) -> SenderOut:
    """Let a member send urgent broadcasts (admins)."""
    user_id = path_int(request, "user_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        name = await check_member(tx, user_id)
        grant = await tx.session.scalar(select(BroadcastSender).where(BroadcastSender.user_id == user_id))
        if grant is None:
            grant = BroadcastSender(org_id=org.org_id, user_id=user_id, granted_by=org.user_id)
            tx.session.add(grant)
            await tx.session.flush()
            await do_audit(tx, org.principal, "broadcast_sender.granted", target=("user", user_id))
        return SenderOut(user_id=user_id, display_name=name, granted_at=grant.granted_at)


@routes.delete("/api/v1/orgs/{org_id}/broadcast-senders/{user_id}")
@endpoint(status=204, role="admin")
async def revoke_sender(request: web.Request, org: OrgContext) -> None:
    """Take the right to send urgent broadcasts away from a member (admins)."""
    user_id = path_int(request, "user_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_member(tx, user_id)
        revoked = await tx.session.execute(delete(BroadcastSender).where(BroadcastSender.user_id == user_id))
        if revoked.rowcount:
            await do_audit(tx, org.principal, "broadcast_sender.revoked", target=("user", user_id))
