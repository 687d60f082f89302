"""Web Push (VAPID, pywebpush) to the browsers of people whose devices did not acknowledge a notice.

A subscription the push service reports as gone (404/410) is deleted; a busy
or failing push service (429, 5xx, timeout) is retried like any provider.
``http`` is ``push_session()``: it never connects to a non-public address
(server/channels/push_endpoints.py), and such a push is refused without a status.
"""
from __future__ import annotations

import json

import aiohttp
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, select

from server.channels.config import ChannelSettings
from server.channels.models import PushSubscription
from server.channels.providers.base import ProviderRejected, ProviderRetryable
from server.channels.push_endpoints import NOT_PUBLIC, refused_as_not_public
from server.db import Database
from server.db.one_of import chunks



async def do_push_to_user(db: Database, http: aiohttp.ClientSession, settings: ChannelSettings, user_id: int, payload: dict) -> str:
    """Push to every browser of ``user_id``; returns how many took it. Raises if none did."""
    subscriptions = (await subscriptions_of(db, [user_id])).get(user_id, [])
    gone: list[int] = []
    try:
        return await push_to_browsers(http, settings, subscriptions, payload, gone)
    finally:
        await do_forget(db, gone)


async def subscriptions_of(db: Database, user_ids: list[int]) -> dict[int, list[PushSubscription]]:
    """Each of ``user_ids``' browsers, in one query (per 5,000 people)."""
    found: dict[int, list[PushSubscription]] = {}
    async with db.transaction() as tx:
        for chunk in chunks(user_ids):
            rows = await tx.session.scalars(select(PushSubscription).where(PushSubscription.user_id.in_(chunk)))
            for sub in rows:
                found.setdefault(sub.user_id, []).append(sub)
    return found


async def do_forget(db: Database, gone: list[int]) -> None:
    """Delete the subscriptions the push service said are gone (404/410)."""
    if gone:
        async with db.transaction() as tx:
            await tx.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))


async def push_to_browsers(http: aiohttp.ClientSession, settings: ChannelSettings, subscriptions: list[PushSubscription], payload: dict,
                           gone: list[int]) -> str:
    """Push ``payload`` to these browsers (no database work: gone ones are added to ``gone``); raises if none took it."""
    if not subscriptions:
        raise ProviderRejected("no browser subscribed to Web Push")
    if not settings.vapid_private_key:
        raise ProviderRejected("Web Push is not configured (MUSTER_NOTIFY_VAPID_PRIVATE_KEY)")
    data = json.dumps(payload)
    accepted, retryable, refused = 0, None, None
    for sub in subscriptions:
        if not (settings.push_allow_private or sub.endpoint.startswith("https://")):
            refused = ProviderRejected(NOT_PUBLIC)
            continue
        try:
            await webpush_async(
                {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                data=data,
                vapid_private_key=settings.vapid_private_key,
                vapid_claims={"sub": settings.vapid_subject},
                timeout=settings.request_timeout_s,
                ttl=3600,
                headers={"Urgency": "high"},  # RFC 8030: deliver even when the device is saving power
                aiohttp_session=http,
            )
            accepted += 1
        except WebPushException as e:
            status = e.response.status if e.response is not None else None
            if status in (404, 410):
                gone.append(sub.id)
            else:
                retryable = ProviderRetryable(f"push service answered {status}")
        except (aiohttp.ClientError, TimeoutError) as e:
            if refused_as_not_public(e):
                refused = ProviderRejected(NOT_PUBLIC)
            else:
                retryable = ProviderRetryable(f"push service unreachable or too slow: {type(e).__name__}")
    if accepted:
        return f"{accepted} browser(s)"
    raise retryable or refused or ProviderRejected("every Web Push subscription has expired")
