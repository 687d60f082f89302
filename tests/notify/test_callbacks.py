"""The provider's callbacks are believed once: a captured signed callback cannot confirm another call, come back later, or be replayed."""
from __future__ import annotations

import time

import aiohttp
import pytest
from sqlalchemy import select

from notify.models import BroadcastRecipient, OutboundMessage
from tests.notify.fake_webhook import FakeWebhookGateway
from tests.notify.test_escalation import eventually
from tests.notify.test_send import send

CALL_AT_ONCE = {"sms_after_s": None, "call_after_s": 0, "repeats": 0, "repeat_interval_s": 60}


async def stages(db, org, broadcast_id) -> dict[int, int]:
    async with db.transaction(org_id=org.id) as tx:
        rows = await tx.session.execute(select(BroadcastRecipient.user_id, BroadcastRecipient.stage)
                                        .where(BroadcastRecipient.broadcast_id == broadcast_id))
        return dict(rows.all())


async def provider_status(db, broadcast_id) -> str | None:
    async with db.transaction() as tx:
        return await tx.session.scalar(select(OutboundMessage.provider_status).where(OutboundMessage.broadcast_id == broadcast_id))


async def post_signed(fake_provider, url: str, params: dict, header: str = "X-Twilio-Signature") -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as http:
        resp = await http.post(url, data=params, headers={header: fake_provider.signed(url, params)["X-Twilio-Signature"]})
        await resp.read()
        return resp


# --- Twilio-compatible: the signature has no time, so each URL is used up -------------------------------------------


async def test_a_replayed_twilio_key_press_is_refused_and_changes_nothing(client, db, org, fake_provider, backend):
    pat = org.people["pat"]
    sent = await (await send(client, org, {"user_ids": [pat]}, policy=CALL_AT_ONCE)).json()
    (call,) = await eventually(lambda: _calls(fake_provider))
    async with db.transaction() as tx:
        message_id = await tx.session.scalar(select(OutboundMessage.id).where(OutboundMessage.broadcast_id == sent["id"]))
    assert f"/callbacks/{message_id}/" not in call.gather_url  # the URL carries an unguessable token, not a counter

    pressed_2 = {"AccountSid": fake_provider.account_sid, "CallSid": call.sid, "Digits": "2", "To": call.to}
    first = await post_signed(fake_provider, call.gather_url, pressed_2)
    assert first.status == 200 and "Nothing was confirmed" in await first.text()
    replayed = await post_signed(fake_provider, call.gather_url, pressed_2)
    assert replayed.status == 409 and (await replayed.json())["error"]["code"] == "callback_used"
    pressed_1 = await fake_provider.press(call, "1")  # signed by the provider, but the call's key press is spent
    assert pressed_1.status == 409
    assert await stages(db, org, sent["id"]) == {pat: 0}


async def test_status_callbacks_follow_the_call_until_it_ends_then_a_replay_is_refused_and_pressing_1_still_confirms(
        client, db, org, fake_provider, backend):
    pat = org.people["pat"]
    sent = await (await send(client, org, {"user_ids": [pat]}, policy=CALL_AT_ONCE)).json()
    (call,) = await eventually(lambda: _calls(fake_provider))
    for status in ("queued", "ringing", "in-progress", "completed"):
        assert await fake_provider.report_status(call, status) == 204
    assert await provider_status(db, sent["id"]) == "completed"
    assert await fake_provider.report_status(call, "ringing") == 409  # a replay cannot rewrite how the call ended
    assert await provider_status(db, sent["id"]) == "completed"

    pressed = await fake_provider.press(call, "1")
    assert pressed.status == 200 and "Thank you" in await pressed.text()
    assert await stages(db, org, sent["id"]) == {pat: 3}


async def test_the_twilio_signature_header_is_read_whatever_its_case(client, db, org, fake_provider, backend):
    pat = org.people["pat"]
    sent = await (await send(client, org, {"user_ids": [pat]}, policy=CALL_AT_ONCE)).json()
    (call,) = await eventually(lambda: _calls(fake_provider))
    params = {"AccountSid": fake_provider.account_sid, "CallSid": call.sid, "Digits": "1", "To": call.to}
    resp = await post_signed(fake_provider, call.gather_url, params, header="x-twilio-signature")  # as HTTP/2 proxies pass it on
    assert resp.status == 200, await resp.text()
    assert await stages(db, org, sent["id"]) == {pat: 3}


async def _calls(fake_provider):
    return fake_provider.of_kind("call")


# --- the generic webhook: URL, body and time are signed -----------------------------------------------------------------


@pytest.fixture
async def gateway(monkeypatch):
    """The webhook provider instead of the Twilio-compatible one (list it before ``client``: the app reads it when made)."""
    gateway = FakeWebhookGateway()
    await gateway.start()
    for name, value in {"PROVIDER": "webhook", "WEBHOOK_URL": gateway.url, "WEBHOOK_SECRET": gateway.secret}.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    yield gateway
    await gateway.stop()


async def _two_calls(gateway, client, org):
    sent = await (await send(client, org, {"user_ids": [org.people["pat"], org.people["tess"]]}, policy=CALL_AT_ONCE)).json()
    calls = await eventually(lambda: _webhook_calls(gateway, 2))
    assert gateway.refused == []  # Muster signs what it sends the same way
    return sent, {c.to: c for c in calls}


async def _webhook_calls(gateway, n):
    return gateway.calls() if len(gateway.calls()) == n else None


async def test_a_signed_key_press_replayed_to_another_call_confirms_nothing(gateway, client, db, org, backend):
    sent, calls = await _two_calls(gateway, client, org)
    pats, tess = calls["+447946000004"], calls["+447946000003"]
    captured = gateway.press(pats, "1")

    replayed = await gateway.post(captured, to=tess.gather_url)
    assert replayed.status == 403 and (await replayed.json())["error"]["code"] == "bad_signature"
    assert await stages(db, org, sent["id"]) == {org.people["pat"]: 0, org.people["tess"]: 0}
    assert (await gateway.post(captured)).status == 200  # on its own call it is good
    assert await stages(db, org, sent["id"]) == {org.people["pat"]: 3, org.people["tess"]: 0}


async def test_an_old_webhook_signature_is_refused(gateway, client, db, org, backend):
    sent, calls = await _two_calls(gateway, client, org)
    pats = calls["+447946000004"]
    for at in (time.time() - 600, time.time() + 600):
        stale = await gateway.post(gateway.press(pats, "1", at=at))
        assert stale.status == 403 and "300 s" in (await stale.json())["error"]["message"]
    assert await stages(db, org, sent["id"]) == {org.people["pat"]: 0, org.people["tess"]: 0}
    assert (await gateway.post(gateway.press(pats, "1"))).status == 200


async def test_a_reused_webhook_key_press_is_refused(gateway, client, db, org, backend):
    sent, calls = await _two_calls(gateway, client, org)
    pats = calls["+447946000004"]
    not_now = gateway.press(pats, "2")
    assert (await gateway.post(not_now)).status == 200
    assert (await gateway.post(not_now)).status == 409
    assert (await gateway.post(gateway.press(pats, "1"))).status == 409  # the call's one key press is spent
    assert await stages(db, org, sent["id"]) == {org.people["pat"]: 0, org.people["tess"]: 0}
    assert (await gateway.post(gateway.report_status(pats, "completed"))).status == 204
