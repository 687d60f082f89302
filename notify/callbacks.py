"""What the SMS/phone provider calls back: delivery status, and the key the callee pressed.

``POST /api/v1/notify/callbacks/{message_id}/status`` and ``.../gather``. They
carry no user token; they are believed only if the provider's signature over
the exact URL and parameters is right (``Provider.verify_callback``), so a
forged "pressed 1" is refused with 403 and changes nothing. The URL is
rebuilt from ``MUSTER_PUBLIC_URL``, the address the provider was given.
"""
from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import select, update

from notify.broadcasts import do_advance
from notify.keys import WORKERS
from notify.models import BroadcastRecipient, OutboundMessage
from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.errors import Forbidden, InvalidInput, NotFound

routes = web.RouteTableDef()
CALLBACKS = "/api/v1/notify/callbacks/{message_id}"

THANKS = "<Response><Say>Thank you. Your confirmation is recorded.</Say></Response>"
NOT_CONFIRMED = "<Response><Say>Nothing was confirmed. You will be called again.</Say></Response>"


async def verified_params(request: web.Request) -> dict[str, str]:
    """The callback's parameters (form or JSON), if and only if the provider's signature matches."""
    provider = request.app[WORKERS].provider
    if provider is None:
        raise NotFound("no provider is configured")
    body = await request.read()
    if request.content_type == "application/json":
        try:
            params = {k: str(v) for k, v in json.loads(body or b"{}").items()}
        except (ValueError, AttributeError):
            raise InvalidInput("callback body is not a JSON object", code="malformed_json") from None
    else:
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    url = request.app[SETTINGS].public_url.rstrip("/") + request.path_qs
    if not provider.verify_callback(url, params, body, dict(request.headers)):
        raise Forbidden("the callback's signature does not match: not from the configured provider", code="bad_signature")
    return params


async def message_of(request: web.Request) -> OutboundMessage:
    async with request.app[DB].transaction() as tx:
        message = await tx.session.get(OutboundMessage, path_int(request, "message_id"))
    if message is None:
        raise NotFound("no such message")
    return message


@routes.post(CALLBACKS + "/status")
@endpoint(auth="none", status=204)
async def provider_status(request: web.Request) -> None:
    """The provider's delivery status of an SMS (MessageStatus) or call (CallStatus)."""
    params = await verified_params(request)
    message = await message_of(request)
    status = (params.get("MessageStatus") or params.get("CallStatus") or params.get("status") or "")[:32]
    async with request.app[DB].transaction() as tx:
        await tx.session.execute(update(OutboundMessage).where(OutboundMessage.id == message.id).values(provider_status=status))


@routes.post(CALLBACKS + "/gather")
@endpoint(auth="none")
async def provider_gather(request: web.Request) -> web.Response:
    """The callee pressed a key during the call: 1 confirms the broadcast for them. Answers TwiML."""
    params = await verified_params(request)
    message = await message_of(request)
    if message.channel != "call":
        raise InvalidInput("only calls gather keys")
    confirmed = (params.get("Digits") or params.get("digits")) == "1"
    if confirmed:
        async with request.app[DB].transaction(org_id=message.org_id) as tx:
            user_id = await tx.session.scalar(select(BroadcastRecipient.user_id).where(BroadcastRecipient.id == message.recipient_id))
            await do_advance(tx, message.broadcast_id, [user_id], "confirmed", via="call")
    return web.Response(text=THANKS if confirmed else NOT_CONFIRMED, content_type="application/xml")
