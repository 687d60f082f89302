"""Web Push through pywebpush to a fake push service that checks VAPID and decrypts the message (tests/notify/fake_push.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from notify.models import PushSubscription
from tests.factories import person
from tests.notify.conftest import add_member
from tests.notify.fake_push import FakePushService, vapid_keys
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send, url

NO_SMS_OR_CALLS = {"sms_after_s": None, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}


@pytest.fixture
async def push_service(monkeypatch):
    """The push service, and this server's VAPID keys; pushes fall due at once for whoever has not acknowledged."""
    private, public = vapid_keys()
    for name, value in {"VAPID_PRIVATE_KEY": private, "VAPID_PUBLIC_KEY": public, "VAPID_SUBJECT": "mailto:ops@example.org",
                        "PUSH_AFTER_S": "0"}.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    service = FakePushService(public)
    await service.start()
    yield service
    await service.stop()


async def test_a_subscribed_browser_gets_the_notice_encrypted_and_signed_and_a_gone_one_is_forgotten(push_service, client, db, org, backend):
    away, gone = await person(client, db, "Ana Away"), await person(client, db, "Gil Gone")
    for who in (away, gone):
        await add_member(db, org.id, who.id, who.user.name)
    key = await (await client.get("/api/v1/notify/push-key", headers=away.headers)).json()
    assert key == {"public_key": push_service.application_server_key}
    browser, expired = push_service.subscribe(), push_service.subscribe()
    for who, sub in ((away, browser), (gone, expired)):
        resp = await client.post("/api/v1/notify/push-subscriptions", json=sub.as_browser_gives_it(), headers=who.headers)
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
                                  "body": "Evacuate ward 3 now."}
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
