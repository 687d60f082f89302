"""The one interface every SMS/phone provider implements, and how its failures are told apart.

The outbound worker (notify/outbound.py) only needs to know whether trying
again can help: ``ProviderRetryable`` (timeouts, 429, 5xx) is retried with
exponential backoff; ``ProviderRejected`` (a bad number, a wrong account) is
recorded as failed at once and shown to the sender.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp


class ProviderError(Exception):
    def __init__(self, message: str, *, retry_after_s: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class ProviderRetryable(ProviderError):
    """The provider was busy, slow or down: the same request may succeed later."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself: repeating it would fail again."""


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164
    body: str
    status_url: str
    idempotency_key: str


@dataclass(frozen=True)
class OutgoingCall:
    to: str  # E.164
    speech: str  # read to the callee by text-to-speech
    gather_url: str  # where the provider reports the key the callee pressed
    status_url: str
    idempotency_key: str
    language: str = "en-US"  # of the text-to-speech voice (BCP 47)


class Provider(Protocol):
    name: str

    async def send_sms(self, http: aiohttp.ClientSession, sms: OutgoingSms) -> str:
        """Send; returns the provider's id of the message."""
        ...

    async def place_call(self, http: aiohttp.ClientSession, call: OutgoingCall) -> str:
        """Start the call; returns the provider's id of the call."""
        ...

    def refuse_callback(self, method: str, url: str, params: dict[str, str], body: bytes, headers: Mapping[str, str]) -> str | None:
        """Why a callback is not believed (its signature does not match, or is too old); None if it really comes from this provider.

        ``headers`` is the request's own (case-insensitive) mapping: proxies may lowercase header names.
        """
        ...


def classify_http_failure(status: int, message: str, retry_after: str | None) -> ProviderError:
    """429 and 5xx are worth retrying; any other 4xx is the request's own fault."""
    if status == 429 or status >= 500:
        try:
            after = float(retry_after) if retry_after else None
        except ValueError:
            after = None
        return ProviderRetryable(f"provider answered {status}: {message}", retry_after_s=after)
    return ProviderRejected(f"provider refused ({status}): {message}")
