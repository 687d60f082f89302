"""Changing my password: proves the current one, keeps this device, signs out the others."""
from __future__ import annotations

from tests.factories import PASSWORD, person, sign_in
from tests.server.accounts.conftest import MAX_FAILURES, events_of

NEW = "a much better passphrase"


async def change(client, headers, current: str, new: str = NEW):
    return await client.post("/api/v1/me/password", json={"current_password": current, "new_password": new}, headers=headers)


async def test_password_change_keeps_this_device_and_signs_out_the_others(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email, device_name="phone")
    tablet = await sign_in(client, alice.email, device_name="tablet")
    devices = await (await client.get("/api/v1/me/devices", headers=alice.headers)).json()
    others = sorted(d["id"] for d in devices if not d["current"])

    resp = await change(client, alice.headers, PASSWORD)

    assert resp.status == 200
    assert (await resp.json())["revoked_session_ids"] == others
    assert (await client.get("/api/v1/me", headers=alice.headers)).status == 200
    assert (await client.get("/api/v1/me", headers=phone)).status == 401
    assert (await client.get("/api/v1/me", headers=tablet)).status == 401
    assert await events_of(db, alice.id, "session.revoked") == [{"session_ids": others}]


async def test_new_password_signs_in_and_the_old_one_no_longer_does(client, db, backend):
    alice = await person(client, db)
    assert (await change(client, alice.headers, PASSWORD)).status == 200

    old = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    new = await client.post("/api/v1/auth/login", json={"email": alice.email, "password": NEW})

    assert old.status == 401 and new.status == 200


async def test_wrong_current_password_is_403_and_changes_nothing(client, db, backend):
    alice = await person(client, db)
    phone = await sign_in(client, alice.email)

    resp = await change(client, alice.headers, "not my password")

    assert resp.status == 403
    assert (await resp.json())["error"] == {"code": "wrong_password", "message": "the password is wrong", "field": "current_password"}
    assert (await client.get("/api/v1/me", headers=phone)).status == 200
    assert (await client.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})).status == 200
    assert await events_of(db, alice.id, "session.revoked") == []


async def test_guessing_the_current_password_is_rate_limited(client, db, backend):
    alice = await person(client, db)
    for _ in range(MAX_FAILURES):
        assert (await change(client, alice.headers, "guess")).status == 403

    resp = await change(client, alice.headers, PASSWORD)

    assert resp.status == 429 and "Retry-After" in resp.headers


async def test_too_short_new_password_names_the_field(client, db, backend):
    alice = await person(client, db)
    resp = await change(client, alice.headers, PASSWORD, new="short")
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "new_password"
