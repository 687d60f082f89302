"""Escalation to SMS and phone through a fake Twilio-compatible provider: when, to whom, retries, callbacks."""
from __future__ import annotations

import asyncio

from sqlalchemy import select

from notify.broadcasts import do_advance
from notify.models import BroadcastRecipient, EscalationStep
from notify.outbound import retry_delay_s
from notify.policy import PlannedStep, plan_for
from tests.notify.test_send import send, url


async def eventually(check, timeout: float = 15.0):
    """Poll an async ``check`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


def test_the_plan_interleaves_sms_and_calls_and_repeats_them():
    policy = {"sms_after_s": 60, "call_after_s": 180, "repeats": 1, "repeat_interval_s": 300, "push_after_s": 5}
    assert plan_for(policy, has_phone=True, has_push=True) == [
        PlannedStep(5, "push", 0), PlannedStep(60, "sms", 0), PlannedStep(180, "call", 0), PlannedStep(360, "sms", 1), PlannedStep(480, "call", 1)
    ]
    assert plan_for(policy, has_phone=False, has_push=False) == []
    assert plan_for({**policy, "sms_after_s": None}, has_phone=True, has_push=False) == [PlannedStep(180, "call", 0), PlannedStep(480, "call", 1)]


def test_retry_delays_double_and_respect_retry_after():
    assert [retry_delay_s(n, 2.0, None) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay_s(1, 2.0, 30.0) == 30.0


async def test_unread_gets_sms_unconfirmed_gets_called_and_pressing_1_confirms_and_stops(client, db, org, fake_provider, backend):
    nina, noah = org.people["nina"], org.people["noah"]
    # noah's read must land before the first SMS (5 s: a send took more than 3 on a machine at load 12), and the press before the repeat SMS (13 s)
    policy = {"sms_after_s": 5, "call_after_s": 6, "repeats": 1, "repeat_interval_s": 8}
    sent = await (await send(client, org, {"user_ids": [nina, noah]}, policy=policy)).json()
    async with db.transaction(org_id=org.id) as tx:
        await do_advance(tx, sent["id"], [noah], "read")  # noah read it in the app at once: no SMS for him

    first_call = await eventually(lambda: _calls_to(fake_provider, "+447946000000"))
    assert "Evacuate ward 3 now." in first_call[0].body and "<Gather numDigits=\"1\"" in first_call[0].body
    pressed = await fake_provider.press(first_call[0], "1")
    assert pressed.status == 200 and "Thank you" in await pressed.text()

    async def all_steps_done():
        async with db.transaction() as tx:
            pending = await tx.session.scalar(select(EscalationStep.id).where(EscalationStep.done_at.is_(None)))
            return pending is None
    await eventually(all_steps_done)
    await asyncio.sleep(0.5)  # let the last queued message go out
    sms_to = [s.to for s in fake_provider.of_kind("sms")]
    calls_to = [s.to for s in fake_provider.of_kind("call")]
    assert sms_to == ["+447946000000"]  # nina once; her repeat was stopped by her confirmation; noah had read
    assert sorted(calls_to) == ["+447946000000", "+447946000001", "+447946000001"]  # nina once, noah twice
    mine = await (await client.get(url(org, f"/{sent['id']}/recipients?state=confirmed"), headers=org.admin.headers)).json()
    assert [(r["user_id"], r["confirmed_via"]) for r in mine["items"]] == [(nina, "call")]


async def _calls_to(fake_provider, number):
    return [c for c in fake_provider.of_kind("call") if c.to == number]


async def test_a_failing_provider_is_retried_with_backoff_then_recorded_failed_for_the_sender(client, org, fake_provider, backend):
    fake_provider.mode = "fail"
    sent = await (await send(client, org, {"user_ids": [org.people["pat"]]}, policy={"sms_after_s": 0, "call_after_s": None, "repeats": 0,
                                                                                      "repeat_interval_s": 60})).json()

    async def failed():
        resp = await client.get(url(org, f"/{sent['id']}/deliveries?status=failed"), headers=org.admin.headers)
        return await resp.json()
    (delivery,) = await eventually(failed)
    assert (delivery["channel"], delivery["attempts"], delivery["user_id"]) == ("sms", 3, org.people["pat"])
    assert "500" in delivery["last_error"]
    assert len(fake_provider.requests) == 3 and fake_provider.sent == {}
    times = [r["at"] for r in fake_provider.requests]
    assert times[1] - times[0] >= 0.1 and times[2] - times[1] >= 0.2  # backoff: 0.1 s, then 0.2 s
    got = await (await client.get(url(org, f"/{sent['id']}"), headers=org.admin.headers)).json()
    assert got["escalations"] == {"sms": {"failed": 1}}


async def test_rate_limits_and_timeouts_are_retried_until_sent_once(client, org, fake_provider, backend):
    fake_provider.fail_next, fake_provider.failure = 2, "429"
    policy = {"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}
    first = await (await send(client, org, {"user_ids": [org.people["pat"]]}, policy=policy)).json()
    await eventually(lambda: _sent(client, org, first["id"]))
    assert [r["answer"] for r in fake_provider.requests] == ["429", "429", "ok"]

    fake_provider.fail_next, fake_provider.failure = 1, "timeout"
    second = await (await send(client, org, {"user_ids": [org.people["tess"]]}, policy=policy)).json()
    (delivery,) = await eventually(lambda: _sent(client, org, second["id"]))
    assert delivery["attempts"] == 2
    assert [s.to for s in fake_provider.of_kind("sms")] == ["+447946000004", "+447946000003"]


async def _sent(client, org, broadcast_id):
    return await (await client.get(url(org, f"/{broadcast_id}/deliveries?status=sent"), headers=org.admin.headers)).json()


async def test_a_forged_callback_is_refused_and_changes_nothing(client, db, org, fake_provider, backend):
    policy = {"sms_after_s": None, "call_after_s": 0, "repeats": 0, "repeat_interval_s": 60}
    sent = await (await send(client, org, {"user_ids": [org.people["pat"]]}, policy=policy)).json()
    (call,) = await eventually(lambda: _calls_to(fake_provider, "+447946000004"))
    forged = await fake_provider.press(call, "1", token="a-guessed-token")
    assert forged.status == 403
    unsigned = await client.session.post(call.gather_url, data={"Digits": "1"})
    assert unsigned.status == 403 and (await unsigned.json())["error"]["code"] == "bad_signature"
    async with db.transaction(org_id=org.id) as tx:
        stage = await tx.session.scalar(select(BroadcastRecipient.stage).where(BroadcastRecipient.broadcast_id == sent["id"]))
    assert stage == 0
    assert await fake_provider.report_status(call, "completed") == 204
    (delivery,) = await eventually(lambda: _sent(client, org, sent["id"]))
    assert delivery["provider_status"] == "completed"
