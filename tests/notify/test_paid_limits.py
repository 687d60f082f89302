"""SMS and calls cost the operator money: daily allowances per organisation, per number and per address, refused up front."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from notify.config import NotifySettings
from notify.keys import NOTIFY_SETTINGS
from notify.models import Broadcast, OutboundMessage
from server.channels.models import PaidUsage
from server.channels.paid import PaidLimitExceeded, do_reserve_paid
from server.gateway.models import UserEvent
from tests.factories import make_org, person
from tests.notify.conftest import add_member, make_person
from tests.notify.test_escalation import _sent, eventually
from tests.notify.test_send import send

TWO_SMS = {"sms_after_s": 60, "call_after_s": None, "repeats": 1, "repeat_interval_s": 300}  # 2 SMS to each phone
APP_ONLY = {"sms_after_s": None, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}


async def stored(db) -> tuple[int, int, int]:
    """(broadcasts, outbound messages, broadcast.received events)."""
    async with db.transaction() as tx:
        broadcasts = await tx.session.scalar(select(func.count()).select_from(Broadcast))
        messages = await tx.session.scalar(select(func.count()).select_from(OutboundMessage))
        events = await tx.session.scalar(select(func.count()).select_from(UserEvent).where(UserEvent.type == "broadcast.received"))
    return broadcasts, messages, events


async def used(db, scope: str, key: str, channel: str = "sms") -> int:
    async with db.transaction() as tx:
        return await tx.session.scalar(
            select(func.coalesce(func.sum(PaidUsage.used), 0)).where(PaidUsage.scope == scope, PaidUsage.key == key, PaidUsage.channel == channel)
        )


async def test_a_broadcast_that_could_pass_the_organisations_sms_allowance_is_refused_whole_before_anything_is_stored(
    app, client, db, org, backend
):
    app[NOTIFY_SETTINGS].sms_per_org_per_day = 9

    refused = await send(client, org, {"everyone": True}, policy=TWO_SMS)  # 5 phones x 2 SMS = 10

    assert refused.status == 429
    error = (await refused.json())["error"]
    assert error["code"] == "paid_limit_exceeded"
    assert "up to 10 SMS" in error["message"] and "9 of its 9" in error["message"]
    assert await stored(db) == (0, 0, 0)
    assert await used(db, "org", str(org.id)) == 0
    async with db.transaction() as tx:
        told = list(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "broadcast.refused")))
    assert told == [org.admin.id]


async def test_what_a_send_reserves_is_taken_from_what_the_next_may_use(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].sms_per_org_per_day = 10

    assert (await send(client, org, {"everyone": True}, policy=TWO_SMS)).status == 201
    again = await send(client, org, {"user_ids": [org.people["pat"]]}, policy=TWO_SMS)

    assert again.status == 429 and "0 of its 10" in (await again.json())["error"]["message"]
    assert int(again.headers["Retry-After"]) <= 86400
    assert await used(db, "org", str(org.id)) == 10


async def test_a_number_has_one_allowance_whichever_organisations_send_to_it(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].sms_per_number_per_day = 2
    assert (await send(client, org, {"user_ids": [org.people["nina"]]}, policy=TWO_SMS)).status == 201

    other_admin = await person(client, db, "Otto Other")
    other = await make_org(db, other_admin.user)
    same_phone = await make_person(db, "Nina Again")
    await add_member(db, other.id, same_phone, "Nina Again", phone="+447946000000")
    resp = await client.post(f"/api/v1/orgs/{other.id}/broadcasts", headers=other_admin.headers, json={
        "title": "x", "body": "y", "recipients": {"user_ids": [same_phone]}, "policy": {**TWO_SMS, "repeats": 0}})

    error = (await resp.json())["error"]
    assert resp.status == 429 and error["code"] == "paid_limit_exceeded"
    assert "1 of the recipients' phone numbers would get more than 2 SMS today" in error["message"]
    assert "+44" not in error["message"]


async def test_calls_have_their_own_allowance(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].calls_per_org_per_day = 4
    calls = {"sms_after_s": None, "call_after_s": 60, "repeats": 0, "repeat_interval_s": 60}

    refused = await send(client, org, {"everyone": True}, policy=calls)  # 5 calls

    assert refused.status == 429 and "up to 5 calls" in (await refused.json())["error"]["message"]
    assert (await send(client, org, {"everyone": True}, policy=TWO_SMS)).status == 201


async def test_a_broadcast_without_sms_or_calls_needs_no_allowance(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].sms_per_org_per_day = app[NOTIFY_SETTINGS].calls_per_org_per_day = 0

    assert (await send(client, org, {"everyone": True}, policy=APP_ONLY)).status == 201
    async with db.transaction() as tx:
        assert await tx.session.scalar(select(func.count()).select_from(PaidUsage)) == 0


async def test_an_accepted_escalation_is_honoured_in_full_when_the_allowance_is_then_used_up(app, client, db, org, fake_provider, backend):
    app[NOTIFY_SETTINGS].sms_per_org_per_day = 1
    policy = {"sms_after_s": 1, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}

    first = await (await send(client, org, {"user_ids": [org.people["pat"]]}, policy=policy)).json()
    assert (await send(client, org, {"user_ids": [org.people["tess"]]}, policy=policy)).status == 429

    await eventually(lambda: _sent(client, org, first["id"]))
    assert [s.to for s in fake_provider.of_kind("sms")] == ["+447946000004"]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_sends_at_once_cannot_both_take_the_last_of_the_allowance(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].sms_per_org_per_day = 10
    three = [org.people[name] for name in ("nina", "noah", "hana")]

    for _ in range(3):
        answers = await asyncio.gather(*(send(client, org, {"user_ids": three}, policy=TWO_SMS) for _ in range(2)))  # 6 SMS each
        assert sorted(a.status for a in answers) == [201, 429]
        async with db.transaction() as tx:
            await tx.session.execute(PaidUsage.__table__.delete())


async def test_a_code_to_a_typed_in_number_is_limited_per_number_per_address_and_per_organisation(db, org, backend):
    """No endpoint sends codes by SMS today; this is what one would call, in the transaction that queues the SMS."""
    settings = NotifySettings(sms_per_address_per_day=3, sms_per_number_per_day=2, sms_per_org_per_day=5)

    async def code(number: str, address: str) -> None:
        async with db.transaction(org_id=org.id) as tx:
            await do_reserve_paid(tx, settings, "sms", org_id=org.id, per_number={number: 1}, address=address)

    async def refused(number: str, address: str) -> str:
        with pytest.raises(PaidLimitExceeded) as e:
            await code(number, address)
        return e.value.scope

    await code("+447946000100", "198.51.100.7")
    await code("+447946000100", "198.51.100.7")
    assert await refused("+447946000100", "198.51.100.8") == "number"
    await code("+447946000101", "198.51.100.7")
    assert await refused("+447946000102", "198.51.100.7") == "address"
    await code("+447946000102", "198.51.100.8")
    await code("+447946000103", "198.51.100.8")
    assert await refused("+447946000104", "198.51.100.9") == "org"
    assert await used(db, "org", str(org.id)) == 5


async def test_sms_and_calls_sooner_or_more_often_than_the_operator_allows_are_refused(app, client, db, org, backend):
    app[NOTIFY_SETTINGS].paid_min_delay_s = 60
    policy_url = f"/api/v1/orgs/{org.id}/broadcast-policy"

    for policy, field in (
        ({"sms_after_s": 0, "call_after_s": None, "repeats": 0, "repeat_interval_s": 60}, "sms_after_s"),
        ({"sms_after_s": None, "call_after_s": 30, "repeats": 0, "repeat_interval_s": 60}, "call_after_s"),
        ({"sms_after_s": 60, "call_after_s": 180, "repeats": 2, "repeat_interval_s": 1}, "repeat_interval_s"),
        ({"sms_after_s": 60, "call_after_s": 180, "repeats": 10, "repeat_interval_s": 300}, "repeats"),
    ):
        resp = await send(client, org, {"everyone": True}, policy=policy)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == f"policy.{field}", policy
        resp = await client.put(policy_url, json=policy, headers=org.admin.headers)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field, policy
    assert await stored(db) == (0, 0, 0)
    assert (await client.put(policy_url, json={**APP_ONLY, "repeat_interval_s": 1}, headers=org.admin.headers)).status == 200
    assert (await client.put(policy_url, json=TWO_SMS, headers=org.admin.headers)).status == 200


async def test_admins_read_the_organisations_allowances_and_what_today_used_of_them(app, client, db, org, backend):
    from server.channels.registry import CHANNELS

    app[NOTIFY_SETTINGS].sms_per_org_per_day = app[CHANNELS].settings.sms_per_org_per_day = 40
    app[CHANNELS].settings.calls_per_org_per_day = 7
    app[CHANNELS].settings.sms_per_number_per_day = 3
    assert (await send(client, org, {"everyone": True}, policy=TWO_SMS)).status == 201  # 5 phones x 2 SMS

    resp = await client.get(f"/api/v1/orgs/{org.id}/paid-allowances", headers=org.admin.headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["channels"] == [
        {"channel": "sms", "per_day": 40, "used_today": 10, "per_number_per_day": 3},
        {"channel": "call", "per_day": 7, "used_today": 0, "per_number_per_day": app[CHANNELS].settings.calls_per_number_per_day},
    ]
    assert body["resets_at"].endswith("T00:00:00Z")

    other_admin = await person(client, db, "Otto Other")
    other = await make_org(db, other_admin.user)
    elsewhere = await (await client.get(f"/api/v1/orgs/{other.id}/paid-allowances", headers=other_admin.headers)).json()
    assert [c["used_today"] for c in elsewhere["channels"]] == [0, 0]  # each organisation sees its own use only
    pat = await person(client, db, "Pat Plain")
    await add_member(db, org.id, pat.id, "Pat Plain")
    assert (await client.get(f"/api/v1/orgs/{org.id}/paid-allowances", headers=pat.headers)).status == 403
