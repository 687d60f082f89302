"""The livestreams API: start a stream from a group, manage it (key, public link, end), find and watch streams.

Every route is authorised in rooms/live/streams.py: a stream the caller may
not watch is 404, like one of another organisation.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import exists, select

from rooms.live import streams as s
from rooms.live.keys import ANNOUNCER
from rooms.live.notices import SCHEDULED, STARTED, do_announce
from rooms.live.schemas import ListQuery, PublicLinkIn, PublicLinkOut, QrOut, StreamCreated, StreamIn, StreamKeyOut, StreamOut, StreamPatch
from rooms.models import LiveStream
from rooms.live.guests import do_withdraw_public_links
from rooms.live.whep import watcher
from server.accounts.guests import do_create_invite, invite_url
from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audit.record import do_audit
from server.db import Transaction
from server.errors import InvalidInput
from server.groups.models import GroupMember
from server.orgs.access import OrgContext
from server.qr import qr_image

routes = web.RouteTableDef()
STREAMS = "/api/v1/orgs/{org_id}/streams"
STREAM = STREAMS + "/{stream_id}"


def whip_url(public_url: str, stream: LiveStream) -> str:
    return f"{public_url.rstrip('/')}/whip/{stream.id}"


async def _out(request: web.Request, tx: Transaction, org: OrgContext, stream: LiveStream, model=StreamOut, **extra):
    return (await _outs(request, tx, org, [stream], model, **extra))[0]


async def _outs(request: web.Request, tx: Transaction, org: OrgContext, streams: list[LiveStream], model=StreamOut, **extra):
    """The streams as answered; the WHIP URL only to those who may manage them (one query for all: ``managed``)."""
    public_url = request.app[SETTINGS].public_url
    managers = await s.managed(tx, org, streams)
    return [
        model(
            id=stream.id, org_id=stream.org_id, group_id=stream.group_id, title=stream.title, host_id=stream.host_id,
            scheduled_at=stream.scheduled_at, status=stream.status, allow_guests=stream.allow_guests,
            publishing=stream.publisher_id is not None, has_key=stream.key_hash is not None, watch_url=s.watch_url(public_url, stream),
            whip_url=whip_url(public_url, stream) if managers[stream.id] else None, created_at=stream.created_at,
            started_at=stream.started_at, ended_at=stream.ended_at, **extra,
        )
        for stream in streams
    ]


@routes.post(STREAMS)
@endpoint(body=StreamIn, response=StreamCreated, status=201)
async def create_stream(request: web.Request, body: StreamIn, org: OrgContext) -> StreamCreated:
    """Start (no scheduled_at) or schedule a stream from a group (its owner or admins); the members are told with the watch link."""
    public_url = request.app[SETTINGS].public_url
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream, key = await s.do_create_stream(tx, org, group_id=body.group_id, title=body.title, scheduled_at=body.scheduled_at,
                                               allow_guests=body.allow_guests)
        event = STARTED if stream.status == "live" else SCHEDULED
        await do_announce(tx, request.app[ANNOUNCER], stream, event, public_url)
        return await _out(request, tx, org, stream, StreamCreated, stream_key=key)


@routes.get(STREAMS)
@endpoint(query=ListQuery, response=list[StreamOut])
async def list_streams(request: web.Request, query: ListQuery, org: OrgContext) -> list[StreamOut]:
    """Streams of the caller's groups (an admin: every group's): scheduled and live ones, or with ended=true the ended ones."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        which = select(LiveStream).where(LiveStream.status == "ended" if query.ended else LiveStream.status != "ended")
        if not org.is_admin:
            which = which.where(exists().where(GroupMember.group_id == LiveStream.group_id, GroupMember.user_id == org.user_id))
        if query.group_id is not None:
            which = which.where(LiveStream.group_id == query.group_id)
        order = (LiveStream.ended_at.desc(), LiveStream.id.desc()) if query.ended else (LiveStream.status.desc(), LiveStream.scheduled_at, LiveStream.id)
        return await _outs(request, tx, org, list(await tx.session.scalars(which.order_by(*order).limit(200))))


@routes.get(STREAM)
@endpoint(response=StreamOut, auth="any")
async def get_stream(request: web.Request, org: OrgContext) -> StreamOut:
    """One stream, for whoever may watch it (members of its group, admins, its guests)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_watch(tx, org, path_int(request, "stream_id"))
        return await _out(request, tx, org, stream)


@routes.get("/api/v1/live/{stream_id}")
@endpoint(response=StreamOut, auth="any")
async def stream_by_id(request: web.Request) -> StreamOut:
    """The stream of a page's URL (``/live/{id}``), with its organisation, for whoever may watch it; 404 for anyone else."""
    org, stream = await watcher(request)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await _out(request, tx, org, stream)


@routes.patch(STREAM)
@endpoint(body=StreamPatch, response=StreamOut)
async def update_stream(request: web.Request, body: StreamPatch, org: OrgContext) -> StreamOut:
    """Change title, time or whether outsiders may watch (turning that off withdraws the public links, their guests leave)."""
    changes = body.model_dump(exclude_unset=True)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        if not changes:
            raise InvalidInput("send at least one field to change")
        s.check_not_ended(stream)
        if "scheduled_at" in changes and stream.status != "scheduled":
            raise InvalidInput("only a scheduled stream can be moved; this one is {status}", field="scheduled_at", status=stream.status)
        if changes.get("allow_guests") is False and stream.allow_guests:
            await do_withdraw_public_links(tx, stream.id)
            await s.do_sign_out_guests(tx, stream)
        for name, value in changes.items():
            setattr(stream, name, value)
        await tx.session.flush()
        return await _out(request, tx, org, stream)


@routes.post(STREAM + "/start")
@endpoint(response=StreamOut)
async def start_stream(request: web.Request, org: OrgContext) -> StreamOut:
    """A scheduled stream goes live now (its publisher connecting does this too); the members are told."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        s.check_not_ended(stream)
        if await s.do_go_live(tx, stream):
            await do_announce(tx, request.app[ANNOUNCER], stream, STARTED, request.app[SETTINGS].public_url)
        return await _out(request, tx, org, stream)


@routes.post(STREAM + "/end")
@endpoint(response=StreamOut)
async def end_stream(request: web.Request, org: OrgContext) -> StreamOut:
    """End the stream for everyone, at once: its publisher is dropped, its key and public links stop working."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        if await s.do_end_stream(tx, stream, "the host ended the stream"):
            await do_audit(tx, org.principal, "live.ended", target=("live_stream", stream.id))
        return await _out(request, tx, org, stream)


@routes.post(STREAM + "/stream-key")
@endpoint(response=StreamKeyOut)
async def new_stream_key(request: web.Request, org: OrgContext) -> StreamKeyOut:
    """A new stream key, shown only now; the old one stops working and whoever publishes with it is dropped."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        key = await s.do_new_stream_key(tx, stream)
    return StreamKeyOut(whip_url=whip_url(request.app[SETTINGS].public_url, stream), stream_key=key)


@routes.delete(STREAM + "/stream-key")
@endpoint(status=204)
async def revoke_stream_key(request: web.Request, org: OrgContext) -> None:
    """No key publishes until a new one is made; the current publisher is dropped at once."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        await s.do_revoke_stream_key(tx, stream)
        await do_audit(tx, org.principal, "live.key_revoked", target=("live_stream", stream.id))


@routes.get(STREAM + "/watch-qr")
@endpoint(response=QrOut)
async def watch_qr(request: web.Request, org: OrgContext) -> QrOut:
    """The members' watch link as a QR code (to show on the classroom screen)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_watch(tx, org, path_int(request, "stream_id"))
    url = s.watch_url(request.app[SETTINGS].public_url, stream)
    return QrOut(url=url, svg=qr_image(url, "svg").decode())


@routes.post(STREAM + "/public-links")
@endpoint(body=PublicLinkIn, response=PublicLinkOut, status=201)
async def create_public_link(request: web.Request, body: PublicLinkIn, org: OrgContext) -> PublicLinkOut:
    """A link (and its QR code) for people outside the group, while the host allows guests: each who opens it watches
    as a guest of this stream only. Shown only now."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        token, invite = await do_create_invite(tx, org, scope_kind=s.GUEST_SCOPE_KIND, scope_id=path_int(request, "stream_id"),
                                               expires_in_s=body.expires_in_hours * 3600, max_uses=body.max_uses)
    url = invite_url(request.app[SETTINGS], token)
    return PublicLinkOut(public_link_id=invite.id, url=url, svg=qr_image(url, "svg").decode(), expires_at=invite.expires_at)


@routes.delete(STREAM + "/public-links/{public_link_id}")
@endpoint(status=204)
async def revoke_public_link(request: web.Request, org: OrgContext) -> None:
    """Withdraw a public link: nobody comes in by it any more and the guests who came by it are signed out at once."""
    stream_id, link_id = path_int(request, "stream_id"), path_int(request, "public_link_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await s.check_may_manage(tx, org, stream_id)
        await do_withdraw_public_links(tx, stream_id, link_id)


