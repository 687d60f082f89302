"""A generic webhook provider: each SMS or call is one signed JSON POST to a gateway you run.

Request body: ``{"kind": "sms"|"call", "to", "from", "text", "gather_url",
"status_url", "language", "idempotency_key"}`` (``language``: a call's text-to-speech voice, e.g. ``zh-CN``). The gateway answers 2xx with
``{"id": "..."}``. It reports back by POSTing JSON signed the same way to the
``status_url`` (``{"status": "..."}``) or the ``gather_url`` (``{"digits": "1"}``).

Both ways, the header ``X-Muster-Signature: t=<unix seconds>,v1=<hex>`` holds
HMAC-SHA256, keyed with the shared secret, of ``"<t>.<METHOD>.<full URL>."``
followed by the body. The URL names the one message a callback is about and
``t`` dates it: a signature is refused on another URL, or more than
``MAX_SKEW_S`` from now (either way), so a captured "pressed 1" cannot
confirm another call, nor be kept to be played later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

import aiohttp

from server.channels.providers.base import OutgoingCall, OutgoingSms, ProviderRetryable, classify_http_failure

SIGNATURE_HEADER = "X-Muster-Signature"
MAX_SKEW_S = 300


def _mac(secret: str, method: str, url: str, body: bytes, at: int) -> str:
    return hmac.new(secret.encode(), f"{at}.{method.upper()}.{url}.".encode() + body, hashlib.sha256).hexdigest()


def webhook_signature(secret: str, method: str, url: str, body: bytes, at: int) -> str:
    """The header's value for a request signed at unix time ``at``."""
    return f"t={at},v1={_mac(secret, method, url, body, at)}"


def refuse_webhook_signature(secret: str, header: str, method: str, url: str, body: bytes, *, now: float) -> str | None:
    """Why ``header`` does not sign this request now; None if it does."""
    fields = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    try:
        at = int(fields["t"])
    except (KeyError, ValueError):
        return f"{SIGNATURE_HEADER} needs t=<unix seconds>,v1=<hex HMAC-SHA256>"
    if abs(now - at) > MAX_SKEW_S:
        return f"{SIGNATURE_HEADER} was made {int(now - at)} s from now; more than {MAX_SKEW_S} s either way is refused"
    if not hmac.compare_digest(fields.get("v1", "").encode(errors="replace"), _mac(secret, method, url, body, at).encode()):
        return f"{SIGNATURE_HEADER} does not match the method, URL and body: not from the configured gateway"
    return None


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
        message = {"kind": "call", "to": call.to, "text": call.speech, "gather_url": call.gather_url, "status_url": call.status_url,
                   "language": call.language}
        return await self._post(http, message, call.idempotency_key)

    async def _post(self, http: aiohttp.ClientSession, message: dict, idempotency_key: str) -> str:
        body = json.dumps({**message, "from": self._from, "idempotency_key": idempotency_key}).encode()
        signature = webhook_signature(self._secret, "POST", self._url, body, int(time.time()))
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature}
        try:
            async with http.post(self._url, data=body, headers=headers, timeout=self._timeout) as resp:
                if 200 <= resp.status < 300:
                    return str((await resp.json(content_type=None)).get("id", ""))
                raise classify_http_failure(resp.status, (await resp.text())[:200], resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ProviderRetryable(f"provider unreachable or too slow: {type(e).__name__}") from None

    def refuse_callback(self, method: str, url: str, params: dict[str, str], body: bytes, headers: Mapping[str, str]) -> str | None:
        return refuse_webhook_signature(self._secret, headers.get(SIGNATURE_HEADER, ""), method, url, body, now=time.time())
