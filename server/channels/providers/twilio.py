"""A Twilio-compatible REST provider: Twilio itself, or any service speaking its API.

Requests: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` (form fields
To, From, Body, StatusCallback) and ``.../Calls.json`` (To, From, Twiml,
StatusCallback), basic auth ``sid:token``. Each carries ``Idempotency-Key``
so a request repeated after a crash is dropped by a provider that honours it.

Callbacks are signed like Twilio signs them: ``X-Twilio-Signature`` is
base64(HMAC-SHA1(auth token, full URL + each POST parameter's name and value,
sorted by name)). That signature has no time, so it never goes stale:
notify/callbacks.py makes each callback URL state that is used up instead.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

import aiohttp

from server.channels.providers.base import OutgoingCall, OutgoingSms, ProviderRetryable, classify_http_failure


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def say(speech: str, language: str) -> str:
    return f"<Say language={quoteattr(language)}>{escape(speech)}</Say>"


def call_twiml(speech: str, gather_url: str, language: str) -> str:
    """The call's script (which ends by asking for 1 to confirm): read it, and once more if nothing is pressed."""
    said = say(speech, language)
    return (
        "<Response>"
        f'<Gather numDigits="1" action={quoteattr(gather_url)} method="POST">{said}</Gather>'
        f'<Gather numDigits="1" action={quoteattr(gather_url)} method="POST">{said}</Gather>'
        "</Response>"
    )


class TwilioProvider:
    name = "twilio"

    def __init__(self, *, base_url: str, account_sid: str, auth_token: str, from_number: str, timeout_s: float):
        self._api = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}"
        self._authorization = aiohttp.encode_basic_auth(account_sid, auth_token)
        self._token = auth_token
        self._from = from_number
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send_sms(self, http: aiohttp.ClientSession, sms: OutgoingSms) -> str:
        form = {"To": sms.to, "From": self._from, "Body": sms.body}
        if sms.status_url:  # an SMS without callbacks (a digest) leaves it out
            form["StatusCallback"] = sms.status_url
        return await self._post(http, "Messages.json", form, sms.idempotency_key)

    async def place_call(self, http: aiohttp.ClientSession, call: OutgoingCall) -> str:
        form = {"To": call.to, "From": self._from, "Twiml": call_twiml(call.speech, call.gather_url, call.language), "StatusCallback": call.status_url}
        return await self._post(http, "Calls.json", form, call.idempotency_key)

    async def _post(self, http: aiohttp.ClientSession, resource: str, form: dict[str, str], idempotency_key: str) -> str:
        try:
            async with http.post(
                f"{self._api}/{resource}", data=form, timeout=self._timeout,
                headers={"Authorization": self._authorization, "Idempotency-Key": idempotency_key},
            ) as resp:
                if resp.status in (200, 201):
                    return str((await resp.json(content_type=None))["sid"])
                text = await resp.text()
                raise classify_http_failure(resp.status, _message_of(text), resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ProviderRetryable(f"provider unreachable or too slow: {type(e).__name__}") from None

    def refuse_callback(self, method: str, url: str, params: dict[str, str], body: bytes, headers: Mapping[str, str]) -> str | None:
        given = headers.get("X-Twilio-Signature", "")
        if given and hmac.compare_digest(given.encode(errors="replace"), twilio_signature(self._token, url, params).encode()):
            return None
        return "X-Twilio-Signature does not match the URL and parameters: not from the configured provider"


def _message_of(text: str) -> str:
    try:
        return str(json.loads(text).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return text[:200]
