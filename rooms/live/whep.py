"""WHEP (draft-ietf-wish-whep): a member, an admin or a guest of the stream watches it over WebRTC.

``POST /whep/{stream_id}`` with a recvonly SDP offer (``application/sdp``),
authorised by the viewer's own session (``Authorization: Bearer <session
token>``, the token the pages hold): ``201 Created`` with the answer,
``Location`` (``/whep/{stream_id}/{resource}``) and an ``ETag``; ``PATCH`` on
it takes trickled candidates, ``DELETE`` leaves. Whoever may not watch the
stream gets 404, like a stream of another organisation; a stream that is not
live 409 (code ``not_live``: the page shows its state instead); an offer that
sends media or that the SFU cannot take 400 naming why. The viewer is a
participant of the stream's SFU room (rooms/live/ingest.py) and is dropped
when the stream ends or the person loses access. ``GET /api/v1/live/{stream_id}``
gives the pages the stream (and its organisation) from the id in their URL.
Answers carry CORS headers and ``OPTIONS`` needs no session (as WHIP's), so a
player on another origin can watch with a session token it holds.
"""
from __future__ import annotations

from aiohttp import web

from rooms.keys import ROOMS_SETTINGS
from rooms.live import streams as s
from rooms.live.ingest import StreamIngest, Viewer
from rooms.live.keys import STREAM_INGEST
from rooms.live.whip import SDP, TRICKLE, options, require_content_type, stream_id_of, with_cors
from rooms.media.offer import OfferError
from rooms.models import LiveStream
from server.appkeys import DB, PRINCIPAL
from server.errors import Conflict, InvalidInput, MusterError, NotFound, Unauthenticated
from server.orgs.access import OrgContext, resolve_org_in

routes = web.RouteTableDef()
WHEP = "/whep/{stream_id}"
SESSION = WHEP + "/{resource_id}"
routes.route("OPTIONS", WHEP)(options)
routes.route("OPTIONS", SESSION)(options)


class AtCapacity(MusterError):
    """WHEP's 503: the page falls back to HLS."""

    status = 503


async def watcher(request: web.Request) -> tuple[OrgContext, LiveStream]:
    """The caller in the stream's organisation and the stream, if they may watch it; 401 unsigned, 404 otherwise."""
    principal = request.get(PRINCIPAL)
    if principal is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    stream_id = stream_id_of(request)
    org_id = await s.org_of_stream(request.app[DB], stream_id)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        org = await resolve_org_in(tx, org_id, principal, None)
        return org, await s.check_may_watch(tx, org, stream_id)


def _viewer(request: web.Request, stream: LiveStream, org: OrgContext) -> Viewer:
    session = request.app[STREAM_INGEST].find(stream.id, request.match_info["resource_id"], viewer=True)
    if session.user_id != org.user_id:
        raise NotFound("no such WHEP session of yours", field="resource_id")
    return session


@routes.post(WHEP)
@with_cors
async def watch(request: web.Request) -> web.Response:
    """Watch: the SDP answer, 201, the session's Location."""
    org, stream = await watcher(request)
    require_content_type(request, SDP)
    if stream.status != "live":
        raise Conflict("this stream is not live: it is {status}", code="not_live", status=stream.status)
    ingest: StreamIngest = request.app[STREAM_INGEST]
    if sum(v.stream_id == stream.id for v in ingest.viewers.values()) >= request.app[ROOMS_SETTINGS].live_webrtc_viewers:
        raise AtCapacity("this stream has as many WebRTC viewers as this server takes; play it over HLS", code="webrtc_full")
    try:
        viewer, answer = await ingest.view(stream, org.user_id, await request.text())
    except OfferError as e:
        raise InvalidInput("offer refused: {error}", field="sdp", code="bad_offer", error=str(e)) from None
    return web.Response(status=201, text=answer, content_type=SDP, headers={
        "Location": f"/whep/{stream.id}/{viewer.resource_id}", "ETag": viewer.etag, "Accept-Patch": TRICKLE,
    })


@routes.patch(SESSION)
@with_cors
async def trickle(request: web.Request) -> web.Response:
    org, stream = await watcher(request)
    require_content_type(request, TRICKLE)
    viewer = _viewer(request, stream, org)
    await request.app[STREAM_INGEST].trickle(viewer, await request.text(), request.headers.get("If-Match"))
    return web.Response(status=204, headers={"ETag": viewer.etag})


@routes.delete(SESSION)
@with_cors
async def leave(request: web.Request) -> web.Response:
    """Stop watching."""
    org, stream = await watcher(request)
    await request.app[STREAM_INGEST].leave(_viewer(request, stream, org).resource_id)
    return web.Response(status=200)
