"""A fake SMS/phone provider speaking Twilio's REST API, for tests and the benchmark.

It checks basic auth like Twilio, answers ``{"sid": ...}``, records every
request, honours ``Idempotency-Key`` (a repeated key gets the first answer
and is not sent again), and can be told to fail (500), hang (timeout), or
rate-limit (429 past ``rate_per_s``, a token bucket). Like Twilio it calls
back: ``press(call, "1")`` posts the callee's key to the call's Gather
``action`` URL, signed with ``X-Twilio-Signature``.
"""
from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from server.channels.providers.twilio import twilio_signature


@dataclass
class Sent:
    kind: str  # sms | call
    to: str
    body: str  # SMS text, or the call's TwiML
    key: str
    sid: str
    status_url: str
    at: float  # time.time() when accepted

    @property
    def gather_url(self) -> str:
        match = re.search(r'action="([^"]+)"', self.body)
        return match.group(1).replace("&amp;", "&") if match else ""


@dataclass
class FakeProvider:
    account_sid: str = "ACfake0000000000000000000000000000"
    auth_token: str = "fake-auth-token"
    mode: str = "ok"  # ok | fail | timeout | 429
    fail_next: int = 0  # this many requests fail (with ``mode``'s failure) before it answers ok
    failure: str = "fail"  # what fail_next does: fail | timeout | 429
    rate_per_s: float | None = None
    burst: int = 10
    requests: list[dict] = field(default_factory=list)  # every request, duplicates included
    sent: dict[str, Sent] = field(default_factory=dict)  # by idempotency key: what really went out
    url: str = ""

    def __post_init__(self) -> None:
        self._sids = itertools.count(1)
        self._tokens = float(self.burst)
        self._refilled = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()  # releases the hanging requests, or the server's shutdown waits 60 s for them

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/{resource}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def of_kind(self, kind: str) -> list[Sent]:
        return sorted((s for s in self.sent.values() if s.kind == kind), key=lambda s: s.at)

    def _take_token(self) -> bool:
        if self.rate_per_s is None:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate_per_s)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    async def _handle(self, request: web.Request) -> web.Response:
        expected = aiohttp.encode_basic_auth(self.account_sid, self.auth_token)
        if request.match_info["sid"] != self.account_sid or request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        resource = request.match_info["resource"]
        if resource not in ("Messages.json", "Calls.json"):
            return web.json_response({"message": "not found"}, status=404)
        form = await request.post()
        key = request.headers.get("Idempotency-Key", "")
        record = {"resource": resource, "to": form.get("To"), "key": key, "at": time.time()}
        self.requests.append(record)
        failure = self.mode if self.mode != "ok" else (self.failure if self.fail_next > 0 else None)
        if self.fail_next > 0:
            self.fail_next -= 1
        if failure is None and not self._take_token():
            failure = "429"
        record["answer"] = failure or "ok"
        if failure == "fail":
            return web.json_response({"code": 20500, "message": "Internal Server Error"}, status=500)
        if failure == "429":
            return web.json_response({"code": 20429, "message": "Too Many Requests"}, status=429)
        if failure == "timeout":
            await self._stopping.wait()  # the caller's request timeout is what ends it
            return web.json_response({"message": "shutting down"}, status=503)
        if key in self.sent:
            return web.json_response({"sid": self.sent[key].sid}, status=201)
        kind = "sms" if resource == "Messages.json" else "call"
        sid = ("SM" if kind == "sms" else "CA") + f"{next(self._sids):032x}"
        body = str(form.get("Body") if kind == "sms" else form.get("Twiml"))
        self.sent[key or sid] = Sent(kind, str(form.get("To")), body, key, sid, str(form.get("StatusCallback", "")), time.time())
        return web.json_response({"sid": sid, "status": "queued"}, status=201)

    def signed(self, url: str, params: dict[str, str], token: str | None = None) -> dict[str, str]:
        return {"X-Twilio-Signature": twilio_signature(token or self.auth_token, url, params)}

    async def press(self, call: Sent, digits: str, *, token: str | None = None) -> aiohttp.ClientResponse:
        """The callee pressed ``digits``: post them to the Gather action like Twilio does (signed, unless ``token`` forges it)."""
        params = {"AccountSid": self.account_sid, "CallSid": call.sid, "Digits": digits, "To": call.to}
        async with aiohttp.ClientSession() as http:
            resp = await http.post(call.gather_url, data=params, headers=self.signed(call.gather_url, params, token))
            await resp.read()
            return resp

    async def report_status(self, sent: Sent, status: str) -> int:
        params = {"AccountSid": self.account_sid, ("MessageSid" if sent.kind == "sms" else "CallSid"): sent.sid,
                  ("MessageStatus" if sent.kind == "sms" else "CallStatus"): status}
        async with aiohttp.ClientSession() as http:
            async with http.post(sent.status_url, data=params, headers=self.signed(sent.status_url, params)) as resp:
                return resp.status
