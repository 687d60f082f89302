"""The stream's room over the API: chat, likes, the raised hand, presence (watchers); moderation, the hand queue and
attendance (its managers).

A watcher's routes name only the stream (``/api/v1/live/{stream_id}/...``,
as the watch page's URL does) and are authorised as WHEP is (rooms/live/whep.py
``watcher``: members, admins, the stream's guests; anyone else, and a viewer
removed from it, 404). The managers' routes are the stream's, in its
organisation (``/api/v1/orgs/{org_id}/streams/{stream_id}/...``); 403 to its
watchers. What changes is told to everyone watching after commit
(rooms/live/events.py).
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from rooms.keys import ROOMS_SETTINGS
from rooms.live import attendance as a
from rooms.live import streams as s
from rooms.live.chat import chat_since, do_post_message, do_remove_message, message_data
from rooms.live.hands import do_invite, do_lower_hand, do_raise_hand, hand_data, hands
from rooms.live.keys import LIKES
from rooms.live.moderation import do_remove_viewer
from rooms.live.routes import STREAM
from rooms.live.schemas import (AbsentOut, AttendanceOut, AttendeeOut, ChatIn, ChatMessageOut, ExportQuery, HandOut, PresenceIn,
                                PresenceOut, RoomOut)
from rooms.live.whep import watcher
from rooms.models import LiveHand
from server import table_export
from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.audit.record import do_audit
from server.errors import NotFound
from server.i18n.locales import request_locale
from server.orgs.access import OrgContext

routes = web.RouteTableDef()
WATCHED = "/api/v1/live/{stream_id}"


# --- watchers ---------------------------------------------------------------------------------------------------

@routes.get(WATCHED + "/room")
@endpoint(response=RoomOut, auth="any")
async def room(request: web.Request) -> RoomOut:
    """What the page shows when it opens: likes, viewers now, the latest chat, the caller's hand, whether they moderate."""
    org, stream = await watcher(request)
    settings = request.app[ROOMS_SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return RoomOut(
            likes=stream.likes, viewers=await a.viewers_now(tx, settings, stream),
            chat=[ChatMessageOut(**message_data(m)) for m in await chat_since(tx, stream)],
            user_id=org.user_id, hand_raised=await tx.session.scalar(select(LiveHand.id).where(LiveHand.stream_id == stream.id, LiveHand.user_id == org.user_id)) is not None,
            manager=await s.may_manage(tx, org, stream), presence_s=settings.live_presence_s,
        )


@routes.post(WATCHED + "/chat")
@endpoint(body=ChatIn, response=ChatMessageOut, status=201, auth="any")
async def post_chat(request: web.Request, body: ChatIn) -> ChatMessageOut:
    """Write in the stream's chat (everyone watching sees it at once); 429 with Retry-After beyond the viewer's limit."""
    org, stream = await watcher(request)
    s.check_not_ended(stream)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        message = await do_post_message(tx, request.app[ROOMS_SETTINGS], org, stream, body.text)
        return ChatMessageOut(**message_data(message))


@routes.post(WATCHED + "/likes")
@endpoint(status=204, auth="any")
async def like(request: web.Request) -> None:
    """One like: added to the stream's counter within a second, its total told to everyone; 429 beyond the viewer's rate."""
    org, stream = await watcher(request)
    s.check_not_ended(stream)
    request.app[LIKES].take(org.org_id, stream.id, org.user_id)


@routes.put(WATCHED + "/hand")
@endpoint(response=HandOut, auth="any")
async def raise_hand(request: web.Request) -> HandOut:
    """Raise the caller's hand: they join the end of the queue the stream's managers see (raising it again keeps the place)."""
    org, stream = await watcher(request)
    s.check_not_ended(stream)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return HandOut(**hand_data(await do_raise_hand(tx, org, stream)))


@routes.delete(WATCHED + "/hand")
@endpoint(status=204, auth="any")
async def lower_hand(request: web.Request) -> None:
    org, stream = await watcher(request)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_lower_hand(tx, stream, org.user_id)


@routes.post(WATCHED + "/presence")
@endpoint(body=PresenceIn, response=PresenceOut, auth="any")
async def presence(request: web.Request, body: PresenceIn) -> PresenceOut:
    """The page's heartbeat (WebRTC or HLS, live or replay), and its leave: attendance and the viewer count come from these."""
    org, stream = await watcher(request)
    settings = request.app[ROOMS_SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        viewers = await a.do_record_presence(tx, settings, org, stream, body.kind, leaving=body.leaving)
    return PresenceOut(viewers=viewers, next_in_s=settings.live_presence_s)


# --- managers -----------------------------------------------------------------------------------------------------

@routes.delete(STREAM + "/chat/{message_id}")
@endpoint(status=204)
async def remove_message(request: web.Request, org: OrgContext) -> None:
    """Take a message down: it leaves every page at once (kept, with who removed it)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        await do_remove_message(tx, org, stream, path_int(request, "message_id"))


@routes.post(STREAM + "/viewers/{user_id}/remove")
@endpoint(status=204)
async def remove_viewer(request: web.Request, org: OrgContext) -> None:
    """Remove a viewer: their WebRTC playback and their page's events stop at once, on every node, and the stream is 404 to
    them from now on; a guest of the stream is signed out. Not its host or the group's owners and admins."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        user_id = path_int(request, "user_id")
        await do_remove_viewer(tx, org, stream, user_id)
        await do_audit(tx, org.principal, "live.viewer_removed", target=("live_stream", stream.id), details={"user_id": user_id})


@routes.get(STREAM + "/hands")
@endpoint(response=list[HandOut])
async def hand_queue(request: web.Request, org: OrgContext) -> list[HandOut]:
    """The raised hands, first raised first."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        return [HandOut(**hand_data(hand)) for hand in await hands(tx, stream)]


@routes.delete(STREAM + "/hands/{user_id}")
@endpoint(status=204)
async def lower_someones_hand(request: web.Request, org: OrgContext) -> None:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        if not await do_lower_hand(tx, stream, path_int(request, "user_id")):
            raise NotFound("this person's hand is not raised in this stream", field="user_id")


@routes.post(STREAM + "/hands/{user_id}/invite")
@endpoint(status=204)
async def invite(request: web.Request, org: OrgContext) -> None:
    """Invite a person whose hand is up to come on stage (they are told; the stage itself is the co-host's publishing)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        await do_invite(tx, stream, path_int(request, "user_id"), org)


@routes.get(STREAM + "/attendance")
@endpoint(response=AttendanceOut)
async def attendance(request: web.Request, org: OrgContext) -> AttendanceOut:
    """Who watched, when and how long (live and in replay), and which of the group's members did not."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        present, absent = await a.attendance(tx, stream)
        return AttendanceOut(
            viewers_now=await a.viewers_now(tx, request.app[ROOMS_SETTINGS], stream),
            attended=[AttendeeOut(user_id=p.user_id, name=p.name, guest=p.guest, first_joined_at=p.first_joined_at, last_left_at=p.last_left_at,
                                  live_s=round(p.seconds["live"]), replay_s=round(p.seconds["replay"]), stretches=p.stretches) for p in present],
            absent=[AbsentOut(user_id=p.user_id, name=p.name) for p in absent],
        )


@routes.get(STREAM + "/attendance/export")
@endpoint(query=ExportQuery)
async def export_attendance(request: web.Request, query: ExportQuery, org: OrgContext) -> web.StreamResponse:
    """The attendance as CSV or XLSX, in the caller's language and the organisation's time (logged)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        stream = await s.check_may_manage(tx, org, path_int(request, "stream_id"))
        pages = await a.export_pages(tx, stream)
        await do_audit(tx, org.principal, "live.attendance_exported", target=("live_stream", stream.id), details={"format": query.format})
    header, filename = a.export_header(request_locale(request)), f"stream-{stream.id}-attendance"
    if query.format == "csv":
        return await table_export.stream_csv(request, header, pages, filename)
    return await table_export.send_xlsx(request, header, pages, request.app[SETTINGS].data_dir / "tmp", filename, "attendance")
