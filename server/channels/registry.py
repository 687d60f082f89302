"""One interface for every channel, and the node's registry of them.

A ``Channel`` sends one ``Message`` to one person (Web Push: every browser
they subscribed; SMS: the number given) and returns the provider's reference,
or raises ``ProviderRetryable`` (try again later) / ``ProviderRejected``
(trying again would fail too). Pacing, retries and who-to-tell are the
caller's: the channel only delivers.

``Channels`` opens the node's HTTP session to the provider the operator
configured once, and closes it with the app; Web Push goes through the node's
push worker process (server/channels/push_worker.py), whose session only
connects to public addresses (server/channels/push_endpoints.py).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from aiohttp import web

from server.channels.config import ChannelSettings
from server.channels.providers.base import OutgoingSms, Provider, ProviderError, ProviderRejected
from server.channels.push_worker import PushWorker, Pushed
from server.channels.webpush import do_forget, subscriptions_of
from server.db import Database

log = logging.getLogger("muster.channels")
NOT_CONFIGURED = "Web Push is not configured (MUSTER_NOTIFY_VAPID_PRIVATE_KEY)"


@dataclass(frozen=True)
class Message:
    user_id: int
    title: str
    body: str
    to: str | None = None  # SMS: the E.164 number
    data: dict = field(default_factory=dict)  # Web Push: what the page's service worker needs besides title and body
    idempotency_key: str | None = None  # SMS: the provider drops a repeat with the same key
    status_url: str | None = None  # SMS: where the provider reports delivery


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> str: ...


class WebPushChannel:
    name = "push"

    def __init__(self, channels: Channels) -> None:
        self._channels = channels

    async def send(self, message: Message) -> str:
        """Push to every browser of the person; returns how many took it, or raises if none did."""
        (pushed,) = await self.send_each([message])
        return pushed.result()

    async def send_all(self, messages: list[Message], *, per_s: float) -> list[bool]:
        """Push many, starting at most ``per_s`` a second (the node's pace); returns which were delivered."""
        pushed = await self.send_each(messages, per_s=per_s)
        for outcome in pushed:
            if outcome.sent is None:
                log.info("a push was not delivered: %s", outcome.error)
        return [outcome.sent is not None for outcome in pushed]

    async def send_each(self, messages: list[Message], *, per_s: float | None = None) -> list[Pushed]:
        """Hand the pushes to the push worker: two database round trips in all here (the browsers, then the gone ones),
        the encryption, signing and HTTP in the worker's process, off this event loop."""
        channels = self._channels
        if not channels.push_enabled:
            return [Pushed(None, NOT_CONFIGURED)] * len(messages)
        browsers = await subscriptions_of(channels.db, sorted({m.user_id for m in messages}))
        pushed, gone = await channels.pusher.push([(browsers.get(m.user_id, []), _payload(m)) for m in messages], per_s=per_s)
        await do_forget(channels.db, gone)
        return pushed


def _payload(message: Message) -> dict:
    return {**message.data, "title": message.title, "body": message.body[:1000]}


class SmsChannel:
    name = "sms"

    def __init__(self, channels: Channels) -> None:
        self._channels = channels

    async def send(self, message: Message) -> str:
        provider = self._channels.provider
        if provider is None:
            raise ProviderRejected("no SMS/phone provider is configured (MUSTER_NOTIFY_PROVIDER)")
        if not message.to:
            raise ProviderRejected("no phone number")
        text = f"{message.title}\n{message.body}" if message.title else message.body
        sms = OutgoingSms(message.to, text, message.status_url or "", message.idempotency_key or "")
        return await provider.send_sms(self._channels.http, sms)


class Channels:
    """The node's channels by name, and what they send with."""

    def __init__(self, db: Database, settings: ChannelSettings, provider: Provider | None) -> None:
        self.db, self.settings, self.provider = db, settings, provider
        self.http: aiohttp.ClientSession | None = None
        self.pusher = PushWorker(settings)
        self._channels: dict[str, Channel] = {}
        self._sending: set[asyncio.Task] = set()
        for channel in (WebPushChannel(self), SmsChannel(self)):
            self.register(channel)

    def register(self, channel: Channel) -> None:
        self._channels[channel.name] = channel

    def __getitem__(self, name: str) -> Channel:
        return self._channels[name]

    def send_soon(self, name: str, message: Message) -> None:
        """Send in the background, for a caller whose answer must not wait on the provider (nor tell by its time
        whether anything was sent: a sign-in code). A failure is logged; the person asks again."""
        task = asyncio.get_running_loop().create_task(self._send_logged(name, message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_logged(self, name: str, message: Message) -> None:
        try:
            await self[name].send(message)
        except ProviderError as e:
            log.info("a %s message was not delivered: %s", name, e.message)
        except Exception:
            log.exception("sending a %s message failed", name)

    @property
    def push_enabled(self) -> bool:
        return bool(self.settings.vapid_private_key)

    async def open(self) -> None:
        self.http = aiohttp.ClientSession()
        if self.push_enabled:
            await self.pusher.start()

    async def close(self) -> None:
        await asyncio.gather(*self._sending, return_exceptions=True)  # each ends within the provider's request timeout
        if self.http is not None:
            await self.http.close()
        self.http = None
        await self.pusher.close()


CHANNELS = web.AppKey("channels", Channels)
