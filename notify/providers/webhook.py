"""A generic webhook provider: each SMS or call is one signed JSON POST to a gateway you run.

Request body: ``{"kind": "sms"|"call", "to", "from", "text", "gather_url",
"status_url", "idempotency_key"}``; header ``X-Muster-Signature: sha256=<hex
HMAC-SHA256 of the body with the shared secret>``. The gateway answers 2xx
with ``{"id": "..."}``. It reports back by POSTing signed JSON the same way to
the ``status_url`` (``{"status": "..."}``) or the ``gather_url``
(``{"digits": "1"}``).
"""
from __future__ import annotations

import hashlib
import hmac
import json

import aiohttp

from notify.providers.base import OutgoingCall, OutgoingSms, ProviderRetryable, classify_http_failure

SIGNATURE_HEADER = "X-Muster-Signature"


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookProvider:
    name = "webhook"

    def __init__(self, *, url: str, secret: str, from_number: str, timeout_s: float):
        self._url = url
        self._secret = secret
        self._from = from_number
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send_sms(self, http: aiohttp.ClientSession, sms: OutgoingSms) -> str:
        return await self._post(http, {"kind": "sms", "to": sms.to, "text": sms.body, "status_url": sms.status_url}, sms.idempotency_key)

    async def place_call(self, http: aiohttp.ClientSession, call: OutgoingCall) -> str:
        message = {"kind": "call", "to": call.to, "text": call.speech, "gather_url": call.gather_url, "status_url": call.status_url}
        return await self._post(http, message, call.idempotency_key)

    async def _post(self, http: aiohttp.ClientSession, message: dict, idempotency_key: str) -> str:
        body = json.dumps({**message, "from": self._from, "idempotency_key": idempotency_key}).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: webhook_signature(self._secret, body)}
        try:
            async with http.post(self._url, data=body, headers=headers, timeout=self._timeout) as resp:
                if 200 <= resp.status < 300:
                    return str((await resp.json(content_type=None)).get("id", ""))
                raise classify_http_failure(resp.status, (await resp.text())[:200], resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ProviderRetryable(f"provider unreachable or too slow: {type(e).__name__}") from None

    def verify_callback(self, url: str, params: dict[str, str], body: bytes, headers: dict[str, str]) -> bool:
        given = headers.get(SIGNATURE_HEADER, "")
        return bool(given) and hmac.compare_digest(given, webhook_signature(self._secret, body))
