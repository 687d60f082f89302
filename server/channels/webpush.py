"""Web Push (RFC 8030, 8291, 8292) to the browsers of people who are not looking.

The node reads the browsers (``subscriptions_of``) and forgets the ones the
push service said are gone (``do_forget``); encrypting, signing and sending
(``push_to_browsers``) happen in the push worker's process
(server/channels/push_worker.py), never on the event loop that fans out live
frames.

A push is ``encrypt``ed here with ``cryptography`` (RFC 8291 ``aes128gcm``:
a new ECDH key pair per message, one record) and POSTed with aiohttp:
pywebpush did the same through a copy of the subscription, its own header
dictionaries and http_ece's general record code, ~0.2 ms of a push's
~0.5 ms in the worker (bench/fanout.py --offline 1000 pushes 12,000 a minute).

A subscription the push service reports as gone (404/410) is deleted; a busy
or failing push service (429, 5xx, timeout) is retried like any provider.
``http`` is ``push_session()``: it never connects to a non-public address
(server/channels/push_endpoints.py), and such a push is refused without a status.
"""
from __future__ import annotations

import base64
import hmac
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from sqlalchemy import delete, select

from server.channels.models import PushSubscription
from server.channels.providers.base import ProviderRejected, ProviderRetryable
from server.channels.push_endpoints import NOT_PUBLIC, refused_as_not_public
from server.db import Database
from server.db.one_of import rows_where_one_of

TTL_S = 3600
RECORD_SIZE = 4096  # RFC 8291: push services accept 4096 octets of body; one record holds it all
_P256 = ec.SECP256R1()


@dataclass(frozen=True)
class Browser:
    """One subscription, as the push worker needs it."""

    id: int
    endpoint: str
    p256dh: str
    auth: str


async def subscriptions_of(db: Database, user_ids: list[int]) -> dict[int, list[Browser]]:
    """Each of ``user_ids``' browsers, in one query (per 5,000 people on SQLite)."""
    found: dict[int, list[Browser]] = {}
    async with db.transaction() as tx:
        browsers = select(PushSubscription.user_id, PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth)
        for user_id, *browser in await rows_where_one_of(tx, browsers, PushSubscription.user_id, user_ids):
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


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, secret: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869) for one block of output, which is all RFC 8291 asks for."""
    key = hmac.digest(salt, secret, "sha256")
    return hmac.digest(key, info + b"\x01", "sha256")[:length]


def encrypt(data: bytes, p256dh: str, auth: str) -> bytes:
    """``data`` as RFC 8291's ``aes128gcm`` body for the browser with these keys (base64url, as it subscribed).

    A new ECDH key pair per message, whose public half travels in the header;
    the content key and nonce come from the shared secret, the browser's auth
    secret and a random salt. One record of at least ``data`` plus its padding
    delimiter and tag, so a browser reads it whatever its length.
    """
    browser_key = _unb64url(p256dh)
    key = ec.generate_private_key(_P256)
    server_key = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(_P256, browser_key))
    secret = _hkdf(_unb64url(auth), shared, b"WebPush: info\x00" + browser_key + server_key, 32)
    salt = os.urandom(16)
    content_key = _hkdf(salt, secret, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, secret, b"Content-Encoding: nonce\x00", 12)
    record = AESGCM(content_key).encrypt(nonce, data + b"\x02", None)  # 0x02: the last record, no padding
    size = max(RECORD_SIZE, len(record))
    return salt + size.to_bytes(4, "big") + bytes([len(server_key)]) + server_key + record


async def push_to_browsers(http: aiohttp.ClientSession, signer: VapidSigner, browsers: list[Browser], data: bytes, gone: list[int], *,
                           timeout: aiohttp.ClientTimeout, allow_private: bool) -> str:
    """Push ``data`` (JSON) to these browsers (no database work: gone ones are added to ``gone``); raises if none took it."""
    if not browsers:
        raise ProviderRejected("no browser subscribed to Web Push")
    accepted, retryable, refused = 0, None, None
    for browser in browsers:
        if not (allow_private or browser.endpoint.startswith("https://")):
            refused = ProviderRejected(NOT_PUBLIC)
            continue
        headers = {"TTL": str(TTL_S), "Content-Encoding": "aes128gcm", "Urgency": "high"}  # high: deliver even when the device saves power
        try:
            body = encrypt(data, browser.p256dh, browser.auth)
            async with http.post(browser.endpoint, data=body, headers=headers | signer.headers(browser.endpoint), timeout=timeout) as resp:
                await resp.read()  # the connection goes back to the pool for the next push
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as e:
            if refused_as_not_public(e):
                refused = ProviderRejected(NOT_PUBLIC)
            else:
                retryable = ProviderRetryable(f"push service unreachable or too slow: {type(e).__name__}")
            continue
        if status <= 202:
            accepted += 1
        elif status in (404, 410):
            gone.append(browser.id)
        else:
            retryable = ProviderRetryable(f"push service answered {status}")
    if accepted:
        return f"{accepted} browser(s)"
    raise retryable or refused or ProviderRejected("every Web Push subscription has expired")
