"""Web Push (VAPID, pywebpush) to the browsers of people who are not looking.

The node reads the browsers (``subscriptions_of``) and forgets the ones the
push service said are gone (``do_forget``); encrypting, signing and sending
(``push_to_browsers``) happen in the push worker's process
(server/channels/push_worker.py), never on the event loop that fans out live
frames.

A subscription the push service reports as gone (404/410) is deleted; a busy
or failing push service (429, 5xx, timeout) is retried like any provider.
``http`` is ``push_session()``: it never connects to a non-public address
(server/channels/push_endpoints.py), and such a push is refused without a status.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from sqlalchemy import delete, select

from server.channels.models import PushSubscription
from server.channels.providers.base import ProviderRejected, ProviderRetryable
from server.channels.push_endpoints import NOT_PUBLIC, refused_as_not_public
from server.db import Database
from server.db.one_of import chunks

TTL_S = 3600


@dataclass(frozen=True)
class Browser:
    """One subscription, as the push worker needs it."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


async def subscriptions_of(db: Database, user_ids: list[int]) -> dict[int, list[Browser]]:
    """Each of ``user_ids``' browsers, in one query (per 5,000 people)."""
    found: dict[int, list[Browser]] = {}
    async with db.transaction() as tx:
        for chunk in chunks(user_ids):
            rows = await tx.session.execute(
                select(PushSubscription.user_id, PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth)
                .where(PushSubscription.user_id.in_(chunk))
            )
            for user_id, *browser in rows:
                found.setdefault(user_id, []).append(Browser(*browser))
    return found


async def do_forget(db: Database, gone: list[int]) -> None:
    """Delete the subscriptions the push service said are gone (404/410)."""
    if gone:
        async with db.transaction() as tx:
            await tx.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))


class VapidSigner:
    """The VAPID ``Authorization`` header for each push service, signed once and reused until an hour before it expires.

    RFC 8292 lets a token live up to 24 hours; signing one per push cost ~0.15 ms (the key parsed again and an
    ECDSA signature). The message's own encryption (RFC 8291) needs a new key pair every time and is not reused.
    """

    LIFETIME_S = 12 * 3600
    RENEW_BEFORE_S = 3600

    def __init__(self, private_key: str, subject: str) -> None:
        self._vapid = Vapid.from_file(private_key) if os.path.isfile(private_key) else Vapid.from_string(private_key=private_key)
        self._subject = subject
        self._signed: dict[str, tuple[float, dict[str, str]]] = {}  # push service origin -> (expiry, headers)

    def headers(self, endpoint: str, now: float | None = None) -> dict[str, str]:
        now = time.time() if now is None else now
        url = urlsplit(endpoint)
        audience = f"{url.scheme}://{url.netloc}"
        expires, headers = self._signed.get(audience, (0.0, {}))
        if expires - self.RENEW_BEFORE_S <= now:
            expires = int(now) + self.LIFETIME_S
            headers = self._vapid.sign({"sub": self._subject, "aud": audience, "exp": expires})
            self._signed[audience] = (expires, headers)
        return headers


async def push_to_browsers(http: aiohttp.ClientSession, signer: VapidSigner, browsers: list[Browser], data: str, gone: list[int], *,
                           timeout_s: float, allow_private: bool) -> str:
    """Push ``data`` (JSON) to these browsers (no database work: gone ones are added to ``gone``); raises if none took it."""
    if not browsers:
        raise ProviderRejected("no browser subscribed to Web Push")
    accepted, retryable, refused = 0, None, None
    for browser in browsers:
        if not (allow_private or browser.endpoint.startswith("https://")):
            refused = ProviderRejected(NOT_PUBLIC)
            continue
        try:
            await webpush_async(
                {"endpoint": browser.endpoint, "keys": {"p256dh": browser.p256dh, "auth": browser.auth}},
                data=data,
                timeout=timeout_s,
                ttl=TTL_S,
                headers={"Urgency": "high"} | signer.headers(browser.endpoint),  # RFC 8030: deliver even when the device is saving power
                aiohttp_session=http,
            )
            accepted += 1
        except WebPushException as e:
            status = e.response.status if e.response is not None else None
            if status in (404, 410):
                gone.append(browser.id)
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
