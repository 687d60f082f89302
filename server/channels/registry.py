"""One interface for every channel, and the node's registry of them.

A ``Channel`` sends one ``Message`` to one person (Web Push: every browser
they subscribed; SMS: the number given) and returns the provider's reference,
or raises ``ProviderRetryable`` (try again later) / ``ProviderRejected``
(trying again would fail too). Pacing, retries and who-to-tell are the
caller's: the channel only delivers.

``Channels`` opens the node's two HTTP sessions once (one to the provider the
operator configured; one for Web Push that only connects to public addresses,
server/channels/push_endpoints.py) and closes them with the app.
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
from server.channels.push_endpoints import push_session
from server.channels.webpush import do_forget, do_push_to_user, push_to_browsers, subscriptions_of
from server.db import Database

log = logging.getLogger("muster.channels")


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
        return await do_push_to_user(self._channels.db, self._channels.push_http, self._channels.settings, message.user_id, _payload(message))

    async def send_all(self, messages: list[Message], *, per_s: float, at_once: int = 50) -> list[bool]:
        """Push many, with two database round trips in all (the browsers, then the gone ones), at most ``per_s`` a second.

        Paced because each push costs ~0.4 ms of encryption and signing on the event loop that also fans out
        messages; the browsers are read in one query so the pushes in flight hold no database connection.
        """
        channels, loop = self._channels, asyncio.get_running_loop()
        browsers = await subscriptions_of(channels.db, sorted({m.user_id for m in messages}))
        gate, gone, interval = asyncio.Semaphore(at_once), [], 1.0 / per_s

        async def push(message: Message) -> bool:
            async with gate:
                try:
                    await push_to_browsers(channels.push_http, channels.settings, browsers.get(message.user_id, []), _payload(message), gone)
                    return True
                except ProviderError as e:
                    log.info("a push was not delivered: %s", e.message)
                    return False

        start, sending = loop.time(), []
        for n, message in enumerate(messages):
            await asyncio.sleep(max(0.0, start + n * interval - loop.time()))
            sending.append(loop.create_task(push(message)))
        delivered = await asyncio.gather(*sending)
        await do_forget(channels.db, gone)
        return list(delivered)


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
        self.push_http: aiohttp.ClientSession | None = None
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
        self.push_http = push_session(allow_private=self.settings.push_allow_private)

    async def close(self) -> None:
        await asyncio.gather(*self._sending, return_exceptions=True)  # each ends within the provider's request timeout
        for session in (self.http, self.push_http):
            if session is not None:
                await session.close()
        self.http = self.push_http = None


CHANNELS = web.AppKey("channels", Channels)
