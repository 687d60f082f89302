"""A sign-in on a device the account has not used before is told to the person: a notice, and an event to their connected devices."""
from __future__ import annotations

from server.accounts import notices
from tests.factories import make_org, make_user, person, sign_in
from tests.server.accounts.conftest import events_of, totp_code
from tests.server.accounts.test_totp import enrol


async def my_notices(client, headers) -> list[dict]:
    resp = await client.get("/api/v1/me/notices", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_new_device_is_told_once_and_a_known_one_never(client, db, backend):
    alice = await person(client, db)  # her first sign-in: nothing to compare with, no notice
    assert await my_notices(client, alice.headers) == []

    phone = await sign_in(client, alice.email, device_name="Phone")
    await sign_in(client, alice.email, device_name="Phone")
    await sign_in(client, alice.email)  # the device of her first sign-in

    listed = await my_notices(client, phone)
    assert [(n["kind"], n["data"]["device_name"]) for n in listed] == [("new_device", "Phone")]
    assert listed[0]["data"]["ip"] == "127.0.0.1" and listed[0]["data"]["user_agent"]
    events = await events_of(db, alice.id, "account.new_device")
    assert [(e["notice_id"], e["device_name"]) for e in events] == [(listed[0]["id"], "Phone")]


async def test_another_browser_with_the_same_device_name_is_new(client, db, backend):
    alice = await person(client, db)
    await sign_in(client, alice.email, device_name="Phone")

    resp = await client.post(
        "/api/v1/auth/login", json={"email": alice.email, "password": "correct horse battery", "device_name": "Phone"},
        headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari"},
    )

    assert resp.status == 200
    listed = await my_notices(client, alice.headers)
    assert [n["data"]["device_name"] for n in listed] == ["Phone", "Phone"]
    assert listed[0]["data"]["user_agent"] == "Mozilla/5.0 (iPhone) Safari" != listed[1]["data"]["user_agent"]


async def test_a_remembered_device_is_a_known_one(client, db, backend):
    alice = await person(client, db)
    secret = await enrol(client, alice.headers)
    first = await (await client.post(
        "/api/v1/auth/login",
        json={"email": alice.email, "password": "correct horse battery", "totp_code": totp_code(secret), "remember_device": True, "device_name": "Laptop"},
    )).json()
    assert [n["data"]["device_name"] for n in await my_notices(client, alice.headers)] == ["Laptop"]

    again = await client.post(
        "/api/v1/auth/login",
        json={"email": alice.email, "password": "correct horse battery", "trusted_device_token": first["trusted_device_token"], "device_name": "Renamed"},
    )

    assert again.status == 200
    assert len(await my_notices(client, alice.headers)) == 1


async def test_marking_notices_read_clears_them_up_to_the_one_seen(client, db, backend):
    alice = await person(client, db)
    await sign_in(client, alice.email, device_name="Phone")
    seen = (await my_notices(client, alice.headers))[0]["id"]
    await sign_in(client, alice.email, device_name="Tablet")

    resp = await client.post("/api/v1/me/notices/read", json={"up_to_id": seen}, headers=alice.headers)

    assert resp.status == 204
    assert [n["data"]["device_name"] for n in await my_notices(client, alice.headers)] == ["Tablet"]
    bob = await person(client, db)
    await client.post("/api/v1/me/notices/read", json={"up_to_id": 10**9}, headers=bob.headers)  # marks only his own
    assert len(await my_notices(client, alice.headers)) == 1


async def test_a_listener_hears_each_notice_in_its_transaction(client, db, backend, monkeypatch):
    """The hook through which Web Push (or SMS) reaches a person none of whose devices is connected."""
    heard = []

    async def listener(tx, notice):
        heard.append((notice.user_id, notice.kind, notice.data["device_name"]))

    monkeypatch.setattr(notices, "_listeners", [])
    notices.register_notice_listener(listener)
    user = await make_user(db)
    await sign_in(client, user.email)
    await sign_in(client, user.email, device_name="Phone")

    assert heard == [(user.id, "new_device", "Phone")]


async def test_home_shows_a_new_device_until_it_is_seen_and_hides_the_section_after(client, db, backend):
    alice = await person(client, db)
    org = await make_org(db, alice.user)
    phone = await sign_in(client, alice.email, device_name="Phone")
    chinese = {**phone, "Accept-Language": "zh-CN"}

    home = await (await client.get(f"/api/v1/orgs/{org.id}/home", headers=chinese)).json()
    account = next(s for s in home if s["key"] == "account")
    assert [(i["title"], i["href"], i["urgent"]) for i in account["items"]] == [("你的账号在新设备上登录了：Phone", "/account", True)]

    newest = (await my_notices(client, phone))[0]["id"]
    assert (await client.post("/api/v1/me/notices/read", json={"up_to_id": newest}, headers=phone)).status in (200, 204)
    home = await (await client.get(f"/api/v1/orgs/{org.id}/home", headers=phone)).json()
    assert "account" not in [s["key"] for s in home]
