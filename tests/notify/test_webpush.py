"""Web Push through pywebpush to a fake push service that checks VAPID and decrypts the message (tests/notify/fake_push.py),
and only ever to https endpoints at public addresses."""
from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from server.channels.models import PushSubscription
from server.channels.push_endpoints import NOT_PUBLIC, push_session, refused_as_not_public
from tests.factories import person
from tests.notify.conftest import add_member
from tests.notify.fake_push import FakePushService, vapid_keys
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send, url

NO_SMS_OR_CALLS = {"sms_after_s": None, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}


@pytest.fixture
def vapid(monkeypatch) -> str:
    """This server's VAPID keys (the public one is returned); pushes fall due at once for whoever has not acknowledged."""
    private, public = vapid_keys()
    for name, value in {"VAPID_PRIVATE_KEY": private, "VAPID_PUBLIC_KEY": public, "VAPID_SUBJECT": "mailto:ops@example.org",
                        "PUSH_AFTER_S": "0"}.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    return public


@pytest.fixture
async def push_service(monkeypatch, vapid):
    """The push service, on 127.0.0.1 over http: this server is told to allow that, as a lab would be."""
    monkeypatch.setenv("MUSTER_NOTIFY_PUSH_ALLOW_PRIVATE", "true")
    service = FakePushService(vapid)
    await service.start()
    yield service
    await service.stop()


async def test_a_subscribed_browser_gets_the_notice_encrypted_and_signed_and_a_gone_one_is_forgotten(push_service, client, db, org, backend):
    away, gone = await person(client, db, "Ana Away"), await person(client, db, "Gil Gone")
    for who in (away, gone):
        await add_member(db, org.id, who.id, who.user.name)
    key = await (await client.get("/api/v1/push-key", headers=away.headers)).json()
    assert key == {"public_key": push_service.application_server_key}
    browser, expired = push_service.subscribe(), push_service.subscribe()
    for who, sub in ((away, browser), (gone, expired)):
        resp = await client.post("/api/v1/push-subscriptions", json=sub.as_browser_gives_it(), headers=who.headers)
        assert resp.status == 204, await resp.text()
    expired.gone = True

    sent = await (await send(client, org, {"user_ids": [away.id, gone.id]}, policy=NO_SMS_OR_CALLS)).json()

    async def pushes():
        deliveries = await (await client.get(url(org, f"/{sent['id']}/deliveries?channel=push"), headers=org.admin.headers)).json()
        return deliveries if {d["status"] for d in deliveries} <= {"sent", "failed"} and len(deliveries) == 2 else None
    by_user = {d["user_id"]: d for d in await eventually(pushes)}
    assert by_user[away.id]["status"] == "sent"
    assert by_user[gone.id]["status"] == "failed" and "expired" in by_user[gone.id]["last_error"]
    (message,) = browser.messages
    assert message["payload"] == {"type": "broadcast", "broadcast_id": sent["id"], "org_id": org.id, "title": "Code red",
                                  "body": "Evacuate ward 3 now.", "lang": "en"}
    assert message["urgency"] == "high" and message["ttl"] > 0
    assert push_service.refused == []
    async with db.transaction() as tx:
        left = set(await tx.session.scalars(select(PushSubscription.endpoint)))
    assert left == {browser.endpoint}  # the 410 one was deleted



async def test_the_fake_push_service_refuses_a_message_not_signed_by_the_subscribed_key(push_service):
    """The checks above mean something: another server's VAPID key is refused, as a real push service would."""
    import aiohttp
    from pywebpush import WebPushException, webpush_async

    other_private, _ = vapid_keys()
    sub = push_service.subscribe()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(WebPushException) as refused:
            await webpush_async(sub.as_browser_gives_it(), data="{}", vapid_private_key=other_private,
                                vapid_claims={"sub": "mailto:x@example.org"}, ttl=60, aiohttp_session=http)
    assert refused.value.response.status == 403 and sub.messages == []
    assert push_service.refused == ["k is not the key this subscription was made with"]


# --- endpoints are https at public addresses (server/channels/push_endpoints.py) ---------------------------------------------------

NOT_PUBLIC_ENDPOINTS = [
    "http://push.example.org/push/abc",  # not https
    "https://127.0.0.1/push/abc",
    "https://10.1.2.3/push/abc",
    "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "https://100.64.0.1/push/abc",  # CGNAT
    "https://0.0.0.0/push/abc",
    "https://[::1]/push/abc",
    "https://[fd00::1]/push/abc",  # IPv6 unique local
    "https://[fe80::1]/push/abc",
    "https://[::ffff:10.0.0.1]/push/abc",  # IPv4 inside IPv6
    "https://224.0.0.1/push/abc",
    "https://localhost/push/abc",  # a name that resolves to a private address
    "https://[zz/push/abc",  # not a URL at all
]


@pytest.mark.parametrize("endpoint", NOT_PUBLIC_ENDPOINTS)
async def test_by_default_a_subscription_to_anything_but_https_at_a_public_address_is_refused(client, db, endpoint):
    who = await person(client, db, "Ana Away")
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "BKey", "auth": "secret"}}
    resp = await client.post("/api/v1/push-subscriptions", json=subscription, headers=who.headers)
    assert resp.status == 400
    assert (await resp.json())["error"] == {"code": "push_endpoint_not_public", "field": "endpoint", "message": NOT_PUBLIC}
    async with db.transaction() as tx:
        assert list(await tx.session.scalars(select(PushSubscription.endpoint))) == []


async def test_a_subscription_to_https_at_a_public_address_is_taken(client, db):
    who = await person(client, db, "Ana Away")
    subscription = {"endpoint": "https://8.8.8.8/push/abc", "keys": {"p256dh": "BKey", "auth": "secret"}}
    resp = await client.post("/api/v1/push-subscriptions", json=subscription, headers=who.headers)
    assert resp.status == 204, await resp.text()


@pytest.fixture
async def internal_service():
    """A service inside the server's network that an attacker would like to probe: it answers 418 and counts requests."""
    seen = []

    async def teapot(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=418)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", teapot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield site._server.sockets[0].getsockname()[1], seen
    await runner.cleanup()


async def test_an_endpoint_stored_at_a_private_address_is_never_fetched_and_its_status_never_read(vapid, client, db, org, internal_service,
                                                                                                backend):
    """As if stored before this check, or a name that resolved to a public address when subscribing and to a private one now."""
    port, seen = internal_service
    victim = await person(client, db, "Ana Away")
    await add_member(db, org.id, victim.id, victim.user.name)
    async with db.transaction() as tx:
        for endpoint in (f"http://127.0.0.1:{port}/admin", f"https://localhost:{port}/admin"):
            keys = FakePushService(vapid).subscribe().as_browser_gives_it()["keys"]  # real keys: the message can be encrypted
            tx.session.add(PushSubscription(user_id=victim.id, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"]))

    sent = await (await send(client, org, {"user_ids": [victim.id]}, policy=NO_SMS_OR_CALLS)).json()

    async def push_failed():
        deliveries = await (await client.get(url(org, f"/{sent['id']}/deliveries?channel=push"), headers=org.admin.headers)).json()
        return deliveries if deliveries and deliveries[0]["status"] == "failed" else None
    (delivery,) = await eventually(push_failed)
    assert seen == []  # not one request reached the internal service
    assert delivery["last_error"] == NOT_PUBLIC and "418" not in str(delivery)
    assert delivery["attempts"] == 1  # refused, not retried


async def test_the_push_session_refuses_to_connect_to_a_private_address_even_after_resolving_a_name(internal_service):
    port, seen = internal_service
    async with push_session(allow_private=False) as http:
        for target in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/", f"http://[::ffff:127.0.0.1]:{port}/"):
            with pytest.raises(aiohttp.ClientConnectorError) as refused:
                await http.get(target)
            assert refused_as_not_public(refused.value)
    assert seen == []
    async with push_session(allow_private=True) as http:  # the lab setting: what the tests' fake push service needs
        async with http.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 418
