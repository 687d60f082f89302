"""Signing out: logout, the list of my devices, revoking one, and the session.revoked event."""
from __future__ import annotations

from tests.factories import make_user, person, sign_in
from tests.server.accounts.conftest import events_of


async def test_logout_makes_the_token_invalid_and_leaves_other_devices_signed_in(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email, device_name="phone")

    resp = await client.post("/api/v1/auth/logout", headers=alice.headers)

    assert resp.status == 204
    gone = await client.get("/api/v1/me", headers=alice.headers)
    assert gone.status == 401
    assert (await gone.json())["error"]["code"] == "session_invalid"
    assert (await client.get("/api/v1/me", headers=phone)).status == 200


async def test_logout_emits_session_revoked_with_the_session_id(client, db, backend):
    user = await make_user(db)
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "correct horse battery"})
    login = await resp.json()

    await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {login['token']}"})

    assert await events_of(db, user.id, "session.revoked") == [{"session_ids": [login["session_id"]]}]


async def test_devices_lists_my_sessions_and_marks_the_current_one(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email, device_name="phone")
    bob = await person(client, db)

    resp = await client.get("/api/v1/me/devices", headers={**phone, "User-Agent": "ignored-by-listing"})

    assert resp.status == 200
    devices = await resp.json()
    assert len(devices) == 2  # not Bob's
    assert set(devices[0]) == {"id", "device_name", "user_agent", "ip", "created_at", "last_seen_at", "current"}
    current = [d for d in devices if d["current"]]
    assert len(current) == 1 and current[0]["device_name"] == "phone"
    assert all(d["ip"] == "127.0.0.1" for d in devices)
    bob_devices = await (await client.get("/api/v1/me/devices", headers=bob.headers)).json()
    assert {d["id"] for d in bob_devices}.isdisjoint(d["id"] for d in devices)


async def test_revoking_my_other_device_signs_it_out_and_emits_the_event(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email, device_name="phone")
    devices = await (await client.get("/api/v1/me/devices", headers=alice.headers)).json()
    phone_id = next(d["id"] for d in devices if d["device_name"] == "phone")

    resp = await client.delete(f"/api/v1/me/devices/{phone_id}", headers=alice.headers)

    assert resp.status == 204
    assert (await client.get("/api/v1/me", headers=phone)).status == 401
    assert (await client.get("/api/v1/me", headers=alice.headers)).status == 200
    remaining = await (await client.get("/api/v1/me/devices", headers=alice.headers)).json()
    assert [d["id"] for d in remaining] != [] and phone_id not in [d["id"] for d in remaining]
    assert await events_of(db, alice.id, "session.revoked") == [{"session_ids": [phone_id]}]


async def test_revoking_someone_elses_device_is_404_and_leaves_it_alone(client, db, backend):
    alice, bob = await person(client, db), await person(client, db)
    bob_device = (await (await client.get("/api/v1/me/devices", headers=bob.headers)).json())[0]["id"]

    resp = await client.delete(f"/api/v1/me/devices/{bob_device}", headers=alice.headers)

    assert resp.status == 404
    assert (await client.get("/api/v1/me", headers=bob.headers)).status == 200
    assert await events_of(db, bob.id, "session.revoked") == []


async def test_revoking_an_unknown_or_already_revoked_device_is_404(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email, device_name="phone")
    phone_id = next(d["id"] for d in await (await client.get("/api/v1/me/devices", headers=phone)).json() if d["current"])
    assert (await client.delete(f"/api/v1/me/devices/{phone_id}", headers=alice.headers)).status == 204

    assert (await client.delete(f"/api/v1/me/devices/{phone_id}", headers=alice.headers)).status == 404
    assert (await client.delete("/api/v1/me/devices/99999999", headers=alice.headers)).status == 404
    assert (await client.delete("/api/v1/me/devices/abc", headers=alice.headers)).status == 404
