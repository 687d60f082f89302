"""A fake SMS/phone gateway for the generic webhook provider (server/channels/providers/webhook.py), speaking its protocol.

It refuses (401) any request whose ``X-Muster-Signature`` is not
``t=<unix>,v1=<HMAC-SHA256 of "t.POST.<its URL>." + body>`` with the shared
secret and a ``t`` within five minutes, answers ``{"id": ...}``, and calls
back like a real gateway: ``press(call, "1")`` posts ``{"digits": "1"}`` to
the call's ``gather_url`` and ``report_status`` ``{"status": ...}`` to its
``status_url``, both signed the same way (``at`` dates the signature).
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from server.channels.providers.webhook import SIGNATURE_HEADER, refuse_webhook_signature, webhook_signature


@dataclass
class Request:
    """A signed request, as a gateway (or someone who captured it) can post it again."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Message:
    kind: str  # sms | call
    to: str
    text: str
    id: str
    gather_url: str
    status_url: str


@dataclass
class FakeWebhookGateway:
    secret: str = "fake-webhook-secret"
    sent: list[Message] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/send", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/send"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        refused = refuse_webhook_signature(self.secret, request.headers.get(SIGNATURE_HEADER, ""), "POST", self.url, body, now=time.time())
        if refused:
            self.refused.append(refused)
            return web.json_response({"error": refused}, status=401)
        m = json.loads(body)
        message = Message(m["kind"], m["to"], m["text"], f"wh-{next(self._ids)}", m.get("gather_url", ""), m["status_url"])
        self.sent.append(message)
        return web.json_response({"id": message.id})

    def calls(self) -> list[Message]:
        return [m for m in self.sent if m.kind == "call"]

    def signed(self, url: str, params: dict, *, at: float | None = None) -> Request:
        body = json.dumps(params).encode()
        signature = webhook_signature(self.secret, "POST", url, body, int(time.time() if at is None else at))
        return Request(url, body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature})

    async def post(self, request: Request, *, to: str | None = None) -> aiohttp.ClientResponse:
        """Post a signed request, to its own URL or (a replay) to another."""
        async with aiohttp.ClientSession() as http:
            resp = await http.post(to or request.url, data=request.body, headers=request.headers)
            await resp.read()
            return resp

    def press(self, call: Message, digits: str, *, at: float | None = None) -> Request:
        return self.signed(call.gather_url, {"digits": digits}, at=at)

    def report_status(self, message: Message, status: str) -> Request:
        return self.signed(message.status_url, {"status": status})
