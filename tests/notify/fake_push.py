"""A fake Web Push service speaking the real protocol, for tests (the handbook allows a fake only for a provider).

A browser subscribes to a push service and gets an endpoint URL, a P-256 key
pair and an auth secret; ``subscribe()`` makes the same. Each POST to an
endpoint must be a real Web Push message, or it is refused like a push
service would:

* RFC 8030: a ``TTL`` header (and an ``Urgency`` header, if any, of the four values);
* RFC 8292: ``Authorization: vapid t=<JWT>, k=<public key>`` where ``k`` is
  the application server's key the browser subscribed with, the JWT is
  ES256-signed by it, ``aud`` is this service's origin and ``exp`` is at most
  24 hours ahead;
* RFC 8291: a ``Content-Encoding: aes128gcm`` body, which it decrypts with the
  subscription's private key and auth secret (``http_ece``).

A subscription can be told to be ``gone``: it then answers 410 like an expired one.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import time
from dataclasses import dataclass, field

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = {"very-low", "low", "normal", "high"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def vapid_keys() -> tuple[str, str]:
    """An application server's VAPID key pair: (private as raw base64url, public as base64url uncompressed point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big")), b64url(public_point(key))


@dataclass
class Subscription:
    token: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey
    auth: bytes
    gone: bool = False
    messages: list[dict] = field(default_factory=list)  # decrypted JSON payloads, with the headers that came with them and when

    def as_browser_gives_it(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(public_point(self.key)), "auth": b64url(self.auth)}}


class FakePushService:
    def __init__(self, application_server_key: str) -> None:
        self.application_server_key = application_server_key
        self.subscriptions: dict[str, Subscription] = {}
        self.refused: list[str] = []  # why each refused request was refused
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self) -> Subscription:
        token = secrets.token_urlsafe(16)
        sub = Subscription(token, f"{self.url}/push/{token}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.subscriptions[token] = sub
        return sub

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.refused.append(reason)
        return web.json_response({"reason": reason}, status=status)

    async def _handle(self, request: web.Request) -> web.Response:
        sub = self.subscriptions.get(request.match_info["token"])
        if sub is None or sub.gone:
            return web.Response(status=410, text="push subscription has unsubscribed or expired")
        if not request.headers.get("TTL", "").isdigit():
            return self._refuse(400, "TTL header missing")
        urgency = request.headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            return self._refuse(400, f"bad Urgency {urgency!r}")
        problem = self._check_vapid(request.headers.get("Authorization", ""))
        if problem:
            return self._refuse(401 if "missing" in problem else 403, problem)
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return self._refuse(415, "only aes128gcm")
        try:
            plain = http_ece.decrypt(await request.read(), private_key=sub.key, auth_secret=sub.auth, version="aes128gcm")
        except Exception as e:  # any failure to decrypt is the sender's fault
            return self._refuse(400, f"cannot decrypt: {type(e).__name__}")
        sub.messages.append({"payload": json.loads(plain), "ttl": int(request.headers["TTL"]), "urgency": urgency, "at": time.time()})
        return web.Response(status=201, headers={"Location": f"{self.url}/message/{secrets.token_urlsafe(8)}"})

    def _check_vapid(self, header: str) -> str | None:
        """RFC 8292 section 3: None if the Authorization header proves the application server's key."""
        if not header.startswith("vapid "):
            return "vapid Authorization missing"
        params = dict(part.strip().split("=", 1) for part in header[len("vapid "):].split(","))
        if params.get("k") != self.application_server_key:
            return "k is not the key this subscription was made with"
        try:
            head, body, signature = params["t"].split(".")
            raw = unb64url(signature)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(params["k"]))
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
            claims = json.loads(unb64url(body))
        except (KeyError, ValueError, InvalidSignature):
            return "JWT signature does not verify"
        if json.loads(unb64url(head)).get("alg") != "ES256":
            return "JWT alg must be ES256"
        if claims.get("aud") != self.url:
            return f"aud {claims.get('aud')!r} is not this push service"
        if not time.time() < claims.get("exp", 0) <= time.time() + 86400:
            return "exp missing or more than 24 h ahead"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub must be a mailto: or https: contact"
        return None


def forbid_encrypting_here(monkeypatch) -> None:
    """Encrypting a push in this process (the node's, whose event loop fans out live frames) fails the test:
    pushes are the push worker's (server/channels/push_worker.py)."""
    from server.channels import webpush

    def here(*_args, **_kwargs):
        raise AssertionError("a push was encrypted on the node's event loop")
    monkeypatch.setattr(webpush, "encrypt", here)
