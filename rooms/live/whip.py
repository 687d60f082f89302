"""WHIP ingest (RFC 9725): OBS, a WHIP client or the studio page publishes a stream with its stream key.

``POST /whip/{stream_id}`` with an SDP offer (``application/sdp``) and
``Authorization: Bearer <stream key>`` answers ``201 Created`` with the SDP
answer, ``Location`` (the session's resource, ``/whip/{stream_id}/{resource}``)
and an ``ETag``; ``PATCH`` on the resource takes trickled candidates
(``application/trickle-ice-sdpfrag``, RFC 8840; an ICE restart is refused with
422); ``DELETE`` on it stops publishing and ends the stream. A wrong or revoked
key is 401 (with ``WWW-Authenticate: Bearer``), another publisher of the
stream 409 (never a takeover), an offer the SFU cannot take 400 naming why,
another body type 415. Every answer carries CORS headers and ``OPTIONS`` is
answered without a key, so a page on another origin can publish (RFC 9725
4.5). The key is the stream's own credential, not a device session: these
handlers are ``own_bearer_token``. PATCH and DELETE must reach the node that
answered the POST (deploy/nginx.conf hashes ``/whip/{stream_id}`` to a node).
"""
from __future__ import annotations

import functools

from aiohttp import web
from rooms.live import streams as s
from rooms.live.ingest import StreamIngest
from rooms.live.keys import ANNOUNCER, STREAM_INGEST
from rooms.live.notices import STARTED, do_announce
from rooms.media.offer import OfferError
from rooms.models import LiveStream
from server.accounts.auth import bearer_token, own_bearer_token
from server.appkeys import DB, SETTINGS
from server.errors import InvalidInput, MusterError, NotFound, Unauthenticated, UnsupportedMediaType
from server.i18n.locales import request_locale

routes = web.RouteTableDef()
WHIP = "/whip/{stream_id}"
SESSION = WHIP + "/{resource_id}"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match, ETag",  # some clients send ETag on PATCH
    # Allow-Methods exposed too: @eyevinn/whip-web-client reads trickle ICE support from an OPTIONS answer's list
    "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch, Accept-Post, Access-Control-Allow-Methods, Retry-After",
}
SDP, TRICKLE = "application/sdp", "application/trickle-ice-sdpfrag"


def whip(handler):
    """A WHIP handler: the stream key is its own bearer token (not a device session); CORS on every answer."""
    return own_bearer_token(with_cors(handler))


def with_cors(handler):
    """CORS on every answer, errors included (the platform's error middleware would answer them without it)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except MusterError as e:
            headers = {"WWW-Authenticate": 'Bearer realm="muster-whip"'} if isinstance(e, Unauthenticated) else {}
            if e.retry_after_s is not None:
                headers["Retry-After"] = str(e.retry_after_s)
            response = web.json_response(e.as_json(request_locale(request)), status=e.status, headers=headers)
        response.headers.update(CORS)
        return response

    return wrapper


def stream_id_of(request: web.Request) -> int:
    value = request.match_info["stream_id"]
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise NotFound("no such stream", field="stream_id")
    return int(value)


async def _stream_with_key(request: web.Request) -> LiveStream:
    """The stream, if the request's bearer token is its current key; 401 otherwise (revoked, ended, wrong)."""
    stream_id = stream_id_of(request)
    org_id = await s.org_of_stream(request.app[DB], stream_id)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        stream = await s.get_stream(tx, stream_id)
    if not s.key_matches(stream, bearer_token(request)):
        raise Unauthenticated("the stream key is missing, wrong or revoked (or the stream ended): send 'Authorization: Bearer <stream key>'",
                              code="bad_stream_key")
    return stream


def require_content_type(request: web.Request, content_type: str) -> None:
    """A WHIP or WHEP body must come as the type the draft names: 415 otherwise."""
    if request.content_type != content_type:
        raise UnsupportedMediaType("send the body as {content_type}", content_type=content_type)


@routes.route("OPTIONS", WHIP)
@routes.route("OPTIONS", SESSION)
@whip
async def options(request: web.Request) -> web.Response:
    """CORS preflight (WHIP's and WHEP's): no key needed (RFC 9725 4.5). The methods of the endpoint and of its sessions are listed
    on both, since clients (@eyevinn/whip-web-client) read trickle ICE support from the endpoint's list."""
    allow = "POST, OPTIONS" if "resource_id" not in request.match_info else "PATCH, DELETE, OPTIONS"
    return web.Response(status=204, headers={"Access-Control-Allow-Methods": "POST, PATCH, DELETE, OPTIONS", "Allow": allow,
                                             "Accept-Post": SDP, "Accept-Patch": TRICKLE})


@routes.post(WHIP)
@whip
async def publish(request: web.Request) -> web.Response:
    """Start publishing: the SDP answer, 201, the session's Location. A scheduled stream goes live (its members are told)."""
    stream = await _stream_with_key(request)
    require_content_type(request, SDP)
    offer = await request.text()
    ingest: StreamIngest = request.app[STREAM_INGEST]
    try:
        publisher, answer = await ingest.publish(stream, offer)
    except OfferError as e:
        raise InvalidInput("offer refused: {error}", field="sdp", code="bad_offer", error=str(e)) from None
    async with request.app[DB].transaction(org_id=stream.org_id) as tx:
        stream = await s.get_stream(tx, stream.id)
        if await s.do_go_live(tx, stream):
            await do_announce(tx, request.app[ANNOUNCER], stream, STARTED, request.app[SETTINGS].public_url)
    location = f"/whip/{stream.id}/{publisher.resource_id}"
    return web.Response(status=201, text=answer, content_type=SDP, headers={
        "Location": location, "ETag": publisher.etag, "Accept-Patch": TRICKLE,
    })


@routes.patch(SESSION)
@whip
async def trickle(request: web.Request) -> web.Response:
    """Trickle ICE: candidates (and the end of them) for the publisher's connection; 204."""
    stream = await _stream_with_key(request)
    require_content_type(request, TRICKLE)
    ingest: StreamIngest = request.app[STREAM_INGEST]
    publisher = ingest.find(stream.id, request.match_info["resource_id"])
    await ingest.trickle(publisher, await request.text(), request.headers.get("If-Match"))
    return web.Response(status=204, headers={"ETag": publisher.etag})


@routes.delete(SESSION)
@whip
async def stop(request: web.Request) -> web.Response:
    """Stop publishing: the session ends, and so does the stream (on every node, at once)."""
    stream = await _stream_with_key(request)
    ingest: StreamIngest = request.app[STREAM_INGEST]
    resource_id = request.match_info["resource_id"]
    if stream.publisher_id != resource_id:
        raise NotFound("no such WHIP session of this stream", field="resource_id")
    await ingest.leave(resource_id)
    async with request.app[DB].transaction(org_id=stream.org_id) as tx:
        await s.do_end_stream(tx, await s.get_stream(tx, stream.id), "the publisher stopped")
    return web.Response(status=200)


