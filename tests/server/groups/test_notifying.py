"""Being told: mention badges on every device, Web Push to people with no device connected, batched per window,
within each person's mute and quiet hours, and an SMS digest within the organisation's SMS allowance.

The push service is the fake that checks VAPID and decrypts each message
(tests/notify/fake_push.py); the SMS provider is the fake Twilio
(tests/notify/fake_provider.py). The push worker's rounds are run by the
tests (``run_once``), with an explicit clock where the window matters.
"""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from server.channels.models import SmsDigest
from server.channels.registry import CHANNELS
from server.config import Settings
from server.db import utcnow
from server.groups.models import Group
from server.groups.notifying import NOTIFIER
from server.orgs.models import Membership
from tests.notify.fake_provider import FakeProvider
from tests.notify.fake_push import FakePushService, forbid_encrypting_here, vapid_keys
from tests.server.gateway.sockets import connect, token_of
from tests.server.groups.conftest import create_group, post

WINDOW_S = 60.0


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    """The worker's rounds are the test's to run: no background worker on this node."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key",
                    group_push_engine=False, group_push_batch_s=WINDOW_S, sms_digest_s=WINDOW_S, group_mention_all="members")


@pytest.fixture
async def push_service(monkeypatch):
    """This server's VAPID keys and the push service on 127.0.0.1 over http (allowed, as in a lab)."""
    private, public = vapid_keys()
    for name, value in {"VAPID_PRIVATE_KEY": private, "VAPID_PUBLIC_KEY": public, "PUSH_ALLOW_PRIVATE": "true"}.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    service = FakePushService(public)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def sms_provider(monkeypatch):
    provider = FakeProvider()
    await provider.start()
    for name, value in {"PROVIDER": "twilio", "TWILIO_BASE_URL": provider.url, "TWILIO_ACCOUNT_SID": provider.account_sid,
                        "TWILIO_AUTH_TOKEN": provider.auth_token, "FROM_NUMBER": "+441632960000", "SMS_PER_NUMBER_PER_DAY": "1"}.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    yield provider
    await provider.stop()


async def subscribe(client, push_service, who):
    browser = push_service.subscribe()
    resp = await client.post("/api/v1/push-subscriptions", json=browser.as_browser_gives_it(), headers=who.headers)
    assert resp.status == 204, await resp.text()
    return browser


def pushed(browser) -> list[dict]:
    return [m["payload"] for m in browser.messages]


async def device(client, who):
    socket = await connect(client.session, str(client.make_url("/api/v1/ws")), token_of(who.headers))
    await socket.until_ready()
    return socket


async def next_event(socket, event_type: str) -> dict:
    while True:
        frame = await socket.next_frame()
        if frame["type"] == "event" and frame["event"] == event_type:
            return frame["data"]


async def next_frame_of(socket, frame_type: str) -> dict:
    while True:
        frame = await socket.next_frame()
        if frame["type"] == frame_type:
            return frame


async def mentions(client, org, who) -> dict:
    resp = await client.get(org.url("/mentions"), headers=who.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_mention_shows_on_the_badge_of_every_device_and_is_pushed_only_to_whoever_has_none_connected(
    push_service, client, app, org, backend
):
    here, away, bystander = org.people
    group = await create_group(client, org)
    here_browser, away_browser = await subscribe(client, push_service, here), await subscribe(client, push_service, away)
    here_socket = await device(client, here)

    resp = await post(client, org, group["id"], org.owner, "@here @away lunch?", mentions=[here.id, away.id])
    assert resp.status == 201, await resp.text()

    assert await next_event(here_socket, "group.mentions") == {"org_id": org.id, "group_id": group["id"], "unread_mentions": 1}
    assert await mentions(client, org, away) == {"total": 1, "groups": [{"group_id": group["id"], "unread_mentions": 1}]}
    assert (await mentions(client, org, bystander))["total"] == 0
    listed = await (await client.get(org.url("/groups"), headers=away.headers)).json()
    assert listed[0]["unread_mentions"] == 1

    done = await app[NOTIFIER].run_once()

    assert (done.pushed, done.skipped_connected) == (1, 1)
    assert pushed(here_browser) == []
    [push] = pushed(away_browser)
    assert push["title"] == "Owner mentioned you in Team"
    assert push["body"] == "@here @away lunch?"
    assert push["type"] == "group.mention" and push["group_id"] == group["id"]
    await here_socket.close()


async def test_at_all_counts_for_everyone_but_the_sender_and_reading_clears_the_badge_on_the_other_devices(
    push_service, client, app, org, backend
):
    reader = org.people[0]
    group = await create_group(client, org)
    browsers = [await subscribe(client, push_service, p) for p in org.people]
    other_device = await device(client, reader)

    assert (await post(client, org, group["id"], org.owner, "all hands at 3", mention_all=True)).status == 201

    frame = await next_frame_of(other_device, "group.message")  # each device counts @all from the message itself
    assert frame["message"]["mention_all"] is True
    assert (await mentions(client, org, reader))["total"] == 1
    assert (await mentions(client, org, org.owner))["total"] == 0
    assert (await app[NOTIFIER].run_once()).pushed == 2  # the reader has a device connected
    assert [pushed(b)[0]["title"] for b in browsers[1:]] == ["Owner mentioned everyone in Team"] * 2
    assert pushed(browsers[0]) == []

    resp = await client.post(org.url(f"/groups/{group['id']}/read"), json={"seq": 1}, headers=reader.headers)
    assert resp.status == 200
    assert (await next_event(other_device, "group.read"))["unread_mentions"] == 0
    assert (await mentions(client, org, reader))["total"] == 0
    await other_device.close()


async def test_messages_to_someone_away_are_batched_into_one_push_per_window(push_service, client, app, org, backend, monkeypatch):
    away = org.people[0]
    group = await create_group(client, org)
    browser = await subscribe(client, push_service, away)
    notifier = app[NOTIFIER]
    forbid_encrypting_here(monkeypatch)  # the node's push worker process encrypts and sends

    for n in range(5):
        assert (await post(client, org, group["id"], org.owner, f"update {n}")).status == 201
    assert (await notifier.run_once()).pushed == 1  # the only one with Web Push
    assert [(p["title"], p["body"], p["unread"]) for p in pushed(browser)] == [("Team", "5 new messages", 5)]
    assert app[CHANNELS].pusher.pid not in (None, os.getpid())

    for n in range(3):
        assert (await post(client, org, group["id"], org.owner, f"more {n}")).status == 201
    assert (await notifier.run_once()).groups == 0  # within the window: nothing yet
    assert (await notifier.run_once(utcnow() + dt.timedelta(seconds=WINDOW_S + 1))).groups == 1
    assert [p["body"] for p in pushed(browser)] == ["5 new messages", "3 new messages"]
    assert (await notifier.run_once(utcnow() + dt.timedelta(seconds=3 * WINDOW_S))).groups == 0  # nothing new: nothing sent


async def test_a_muted_group_pushes_nothing_but_mentions_and_those_only_if_the_person_wants_them(push_service, client, app, org, backend):
    quiet = org.people[0]
    group = await create_group(client, org)
    browser = await subscribe(client, push_service, quiet)
    assert (await client.put(org.url(f"/groups/{group['id']}/mute"), json={"muted": True}, headers=quiet.headers)).status == 204
    notifier = app[NOTIFIER]
    later = utcnow()

    async def round_after(body: str, **extra) -> None:
        nonlocal later
        assert (await post(client, org, group["id"], org.owner, body, **extra)).status == 201
        later += dt.timedelta(seconds=WINDOW_S + 1)
        await notifier.run_once(later)

    await round_after("chatter")
    assert pushed(browser) == []
    await round_after("@quiet look", mentions=[quiet.id])
    assert [p["title"] for p in pushed(browser)] == ["Owner mentioned you in Team"]

    resp = await client.patch("/api/v1/me/notification-settings", json={"mentions_when_muted": False}, headers=quiet.headers)
    assert resp.status == 200 and (await resp.json())["mentions_when_muted"] is False
    await round_after("@quiet again", mentions=[quiet.id])
    assert len(pushed(browser)) == 1
    assert (await mentions(client, org, quiet))["total"] == 2  # the badge still counts them


async def test_nothing_is_pushed_in_the_persons_quiet_hours(push_service, client, app, org, backend, monkeypatch):
    sleeper = org.people[0]
    forbid_encrypting_here(monkeypatch)
    group = await create_group(client, org)
    browser = await subscribe(client, push_service, sleeper)
    now = utcnow()
    local = now.astimezone(ZoneInfo("Asia/Shanghai"))  # the organisation's time zone, in which quiet hours are read
    start, end = (local - dt.timedelta(hours=1)).strftime("%H:%M"), (local + dt.timedelta(hours=1)).strftime("%H:%M")
    resp = await client.patch("/api/v1/me/notification-settings", json={"quiet_hours_start": start, "quiet_hours_end": end},
                              headers=sleeper.headers)
    assert resp.status == 200, await resp.text()
    assert {k: (await resp.json())[k] for k in ("quiet_hours_start", "quiet_hours_end", "push_subscribed")} == {
        "quiet_hours_start": start, "quiet_hours_end": end, "push_subscribed": True}

    assert (await post(client, org, group["id"], org.owner, "@sleeper urgent?", mentions=[sleeper.id])).status == 201
    await app[NOTIFIER].run_once(now)
    assert pushed(browser) == []

    assert (await post(client, org, group["id"], org.owner, "morning", mentions=[sleeper.id])).status == 201
    await app[NOTIFIER].run_once(now + dt.timedelta(hours=2))
    assert [p["body"] for p in pushed(browser)] == ["morning"]


@pytest.mark.parametrize("change, field, code", [
    ({"quiet_hours_start": "25:00", "quiet_hours_end": "07:00"}, "quiet_hours_start", "invalid"),
    ({"quiet_hours_start": "7am", "quiet_hours_end": "07:00"}, "quiet_hours_start", "invalid"),
    ({"quiet_hours_start": "22:00"}, "quiet_hours_end", "quiet_hours_incomplete"),
    ({"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"}, "quiet_hours_end", "quiet_hours_empty"),
    ({"mentions_when_muted": "sometimes"}, "mentions_when_muted", "invalid"),
    ({"volume": 11}, "volume", "invalid"),
])
async def test_bad_notification_settings_are_refused_with_the_field_and_nothing_changes(client, org, change, field, code):
    who = org.people[0]
    before = await (await client.get("/api/v1/me/notification-settings", headers=who.headers)).json()
    resp = await client.patch("/api/v1/me/notification-settings", json=change, headers=who.headers)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert (error["field"], error["code"]) == (field, code), error
    assert await (await client.get("/api/v1/me/notification-settings", headers=who.headers)).json() == before


async def test_quiet_hours_past_midnight_hold_until_morning(client, org):
    who = org.people[0]
    resp = await client.patch("/api/v1/me/notification-settings", json={"quiet_hours_start": "22:30", "quiet_hours_end": "07:00"},
                              headers=who.headers)
    assert resp.status == 200
    from server.channels.preferences import Preferences

    night = Preferences(22 * 60 + 30, 7 * 60)
    at = lambda h, m: dt.datetime(2026, 12, 6, h, m, tzinfo=dt.UTC)  # noqa: E731
    assert [night.quiet_at(at(h, m), "UTC") for h, m in ((22, 29), (22, 30), (3, 0), (6, 59), (7, 0), (12, 0))] == [
        False, True, True, True, False, False]
    cleared = await client.patch("/api/v1/me/notification-settings", json={"quiet_hours_start": None, "quiet_hours_end": None},
                                 headers=who.headers)
    assert (await cleared.json())["quiet_hours_start"] is None


async def test_a_member_removed_before_the_round_is_told_nothing_and_a_recalled_mention_leaves_the_badge(push_service, client, app, org, backend):
    removed, kept = org.people[0], org.people[1]
    group = await create_group(client, org)
    removed_browser, kept_browser = await subscribe(client, push_service, removed), await subscribe(client, push_service, kept)
    assert (await post(client, org, group["id"], org.owner, "@both", mentions=[removed.id, kept.id])).status == 201
    recalled = await post(client, org, group["id"], org.owner, "@kept oops", mentions=[kept.id])
    assert (await mentions(client, org, kept))["total"] == 2
    resp = await client.post(org.url(f"/groups/{group['id']}/messages/{(await recalled.json())['seq']}/recall"), headers=org.owner.headers)
    assert resp.status == 200
    assert (await mentions(client, org, kept))["total"] == 1
    resp = await client.post(org.url(f"/groups/{group['id']}/members/remove"), json={"user_ids": [removed.id]}, headers=org.owner.headers)
    assert resp.status == 200

    await app[NOTIFIER].run_once()

    assert pushed(removed_browser) == []
    assert [p["body"] for p in pushed(kept_browser)] == ["@both"]


async def test_the_sms_digest_reaches_people_without_push_and_never_passes_the_sms_allowance(
    sms_provider, client, app, db, org, backend
):
    no_push, no_phone = org.people[0], org.people[1]
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Membership).where(Membership.user_id == no_push.id).values(phone="+447700900123"))
    group = await create_group(client, org)
    member_try = await client.patch(org.url("/notification-settings"), json={"sms_digest": True}, headers=no_push.headers)
    assert member_try.status == 403
    resp = await client.patch(org.url("/notification-settings"), json={"sms_digest": True}, headers=org.owner.headers)
    assert resp.status == 200 and (await resp.json()) == {"sms_digest": True}
    notifier = app[NOTIFIER]
    now = utcnow()

    for body in ("@you one", "@you two"):
        assert (await post(client, org, group["id"], org.owner, body, mentions=[no_push.id, no_phone.id])).status == 201
        await notifier.run_once(now)
        now += dt.timedelta(seconds=WINDOW_S + 1)
    assert await notifier.send_due_digests(now - dt.timedelta(seconds=2 * WINDOW_S)) == 0  # not a window old yet
    assert await notifier.send_due_digests(now + dt.timedelta(seconds=WINDOW_S)) == 1

    [sms] = sms_provider.of_kind("sms")
    assert (sms.to, sms.body) == ("+447700900123", "Muster: you were mentioned 2 times. Open Muster to read them.")

    assert (await post(client, org, group["id"], org.owner, "@you three", mentions=[no_push.id])).status == 201
    await notifier.run_once(now + dt.timedelta(seconds=WINDOW_S))
    assert await notifier.send_due_digests(now + dt.timedelta(seconds=3 * WINDOW_S)) == 0  # the number's allowance is used up
    assert len(sms_provider.of_kind("sms")) == 1
    async with db.transaction() as tx:
        assert (await tx.session.execute(select(SmsDigest))).all() == []  # dropped, not kept to pass the limit later


async def test_the_worker_claims_each_message_once_however_many_rounds_run_at_once(push_service, client, app, org, backend):
    import asyncio

    group = await create_group(client, org)
    browser = await subscribe(client, push_service, org.people[0])
    assert (await post(client, org, group["id"], org.owner, "once")).status == 201
    rounds = await asyncio.gather(*(app[NOTIFIER].run_once() for _ in range(4)))
    assert sum(r.groups for r in rounds) == 1
    assert len(pushed(browser)) == 1
    async with app[NOTIFIER].db.transaction() as tx:
        assert await tx.session.scalar(select(Group.told_seq).where(Group.id == group["id"])) == 1


async def test_erasing_a_member_takes_their_pending_sms_digest(sms_provider, client, app, db, org, backend):
    who = org.people[0]
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(Membership).where(Membership.user_id == who.id).values(phone="+447700900124"))
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == who.id))
    group = await create_group(client, org)
    assert (await client.patch(org.url("/notification-settings"), json={"sms_digest": True}, headers=org.owner.headers)).status == 200
    assert (await post(client, org, group["id"], org.owner, "@who", mentions=[who.id])).status == 201
    assert (await app[NOTIFIER].run_once()).digested == 1

    exported = await (await client.get(org.url(f"/members/{member_id}/personal-data"), headers=org.owner.headers)).json()
    assert exported["parts"]["channels"] == {"notification_settings": None, "push_subscriptions": [], "sms_digest_mentions": 1}
    resp = await client.post(org.url(f"/members/{member_id}/erasure"), json={"confirm": True}, headers=org.owner.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["erased"]["channels"] == {"sms_digests": 1}
    assert await app[NOTIFIER].send_due_digests(utcnow() + dt.timedelta(days=1)) == 0
    assert sms_provider.of_kind("sms") == []


async def test_a_mention_inside_the_window_is_pushed_at_once_to_whom_it_names_and_the_others_wait_for_the_window(
    push_service, client, app, org, backend
):
    named, other = org.people[0], org.people[1]
    group = await create_group(client, org)
    named_browser, other_browser = await subscribe(client, push_service, named), await subscribe(client, push_service, other)
    notifier = app[NOTIFIER]
    now = utcnow()
    assert (await post(client, org, group["id"], org.owner, "first")).status == 201
    await notifier.run_once(now)  # the first message after a quiet spell goes at once
    assert (await post(client, org, group["id"], org.owner, "second")).status == 201
    assert (await post(client, org, group["id"], org.owner, "@named you", mentions=[named.id])).status == 201

    assert (await notifier.run_once(now + dt.timedelta(seconds=1))).pushed == 1
    assert [p["body"] for p in pushed(named_browser)] == ["1 new message", "@named you"]
    assert [p["body"] for p in pushed(other_browser)] == ["1 new message"]

    await notifier.run_once(now + dt.timedelta(seconds=WINDOW_S + 1))
    assert [p["body"] for p in pushed(other_browser)] == ["1 new message", "2 new messages"]
    assert [p["body"] for p in pushed(named_browser)][-1] == "2 new messages"  # the mention is not pushed twice
