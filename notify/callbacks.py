"""What the SMS/phone provider calls back: delivery status, and the key the callee pressed.

``POST /api/v1/notify/callbacks/{token}/status`` and ``.../gather``, where
``token`` is the message's unguessable ``callback_token``. They carry no user
token; they are believed only if the provider's signature over the exact URL
(so over the token: one message's callback is worthless for another's) and
parameters is right (``Provider.refuse_callback``, which also refuses a
webhook signature more than five minutes off), else 403 and nothing changes.
The URL is rebuilt from ``MUSTER_PUBLIC_URL``, the address the provider was given.

A Twilio signature has no time, so a captured callback would stay valid for
ever: each URL is also state that is used up, by one conditional UPDATE (two
nodes given the same callback at once record it once), and a replay gets 409:

* **gather** is single-use: the first key press is recorded, whatever the
  digit (a real call posts its Gather action once; the answer ends the call).
* **status** takes the provider's progress (queued, ringing, sent...) until a
  final status (``FINAL_STATUSES``); then it is closed, so a replayed status
  cannot rewrite how the call or SMS ended. It cannot be single-use: the
  provider reports several statuses for one message.
"""
from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import or_, select, update

from notify.broadcasts import do_advance
from notify.keys import WORKERS
from notify.models import BroadcastRecipient, OutboundMessage
from notify.texts import CALL_CONFIRMED, CALL_NOT_CONFIRMED, SPEECH_LANGUAGE, locale_of_recipient
from server.api import endpoint
from server.appkeys import DB, SETTINGS
from server.channels.providers.twilio import say
from server.db import utcnow
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.i18n import _, translate

routes = web.RouteTableDef()
CALLBACKS = "/api/v1/notify/callbacks/{token}"
FINAL_STATUSES = ("delivered", "undelivered", "failed", "read", "completed", "busy", "no-answer", "canceled")



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
    refused = provider.refuse_callback(request.method, url, params, body, request.headers)
    if refused:
        raise Forbidden(refused, code="bad_signature")
    return params


async def message_of(request: web.Request) -> OutboundMessage:
    async with request.app[DB].transaction() as tx:
        message = await tx.session.scalar(select(OutboundMessage).where(OutboundMessage.callback_token == request.match_info["token"]))
    if message is None:
        raise NotFound("no such message")
    return message


def used_up(what: str) -> Conflict:
    return Conflict("this {what} callback was already used: a replay changes nothing", code="callback_used", what=what)


@routes.post(CALLBACKS + "/status")
@endpoint(auth="none", status=204)
async def provider_status(request: web.Request) -> None:
    """The provider's delivery status of an SMS (MessageStatus) or call (CallStatus); closed once a final one is recorded."""
    params = await verified_params(request)
    message = await message_of(request)
    status = (params.get("MessageStatus") or params.get("CallStatus") or params.get("status") or "")[:32]
    async with request.app[DB].transaction() as tx:
        recorded = await tx.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id,
                   or_(OutboundMessage.provider_status.is_(None), OutboundMessage.provider_status.not_in(FINAL_STATUSES)))
            .values(provider_status=status)
        )
    if recorded.rowcount == 0:
        raise used_up(_("status"))


@routes.post(CALLBACKS + "/gather")
@endpoint(auth="none")
async def provider_gather(request: web.Request) -> web.Response:
    """The callee pressed a key during the call: 1 confirms the broadcast for them. Answers TwiML. Single-use."""
    params = await verified_params(request)
    message = await message_of(request)
    if message.channel != "call":
        raise InvalidInput("only calls gather keys")
    confirmed = (params.get("Digits") or params.get("digits")) == "1"
    async with request.app[DB].transaction(org_id=message.org_id) as tx:
        spent = await tx.session.execute(
            update(OutboundMessage).where(OutboundMessage.id == message.id, OutboundMessage.gathered_at.is_(None)).values(gathered_at=utcnow())
        )
        if spent.rowcount == 0:
            raise used_up(_("key press"))
        if confirmed:
            user_id = await tx.session.scalar(select(BroadcastRecipient.user_id).where(BroadcastRecipient.id == message.recipient_id))
            await do_advance(tx, message.broadcast_id, [user_id], "confirmed", via="call")
        locale = await tx.session.scalar(select(locale_of_recipient(message.recipient_id))) or request.app[SETTINGS].default_locale
    answer = translate(locale, CALL_CONFIRMED if confirmed else CALL_NOT_CONFIRMED)
    return web.Response(text=f"<Response>{say(answer, SPEECH_LANGUAGE[locale])}</Response>", content_type="application/xml")
