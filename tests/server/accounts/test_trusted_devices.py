"""Remembered devices: after a sign-in with a code and remember_device, that browser signs in with the password alone.

Only that account, only until it expires, is revoked, the password changes or
the second factor is turned off; the password and the rate limit still apply.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from server.accounts.models import TrustedDevice
from server.db import utcnow
from tests.factories import PASSWORD, make_org, person
from tests.server.accounts.conftest import MAX_FAILURES, totp_code
from tests.server.accounts.test_totp import enrol


async def login(client, email: str, *, password: str = PASSWORD, **extra):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


async def remembered(client, db, name: str | None = None) -> tuple[object, str, dict]:
    """A person with TOTP on who signed in on "Laptop" with a code and remember_device: (person, secret, that answer)."""
    someone = await person(client, db, name)
    secret = await enrol(client, someone.headers)
    resp = await login(client, someone.email, totp_code=totp_code(secret), remember_device=True, device_name="Laptop")
    assert resp.status == 200, await resp.text()
    return someone, secret, await resp.json()


async def error_code(resp) -> str:
    return (await resp.json())["error"]["code"]


async def test_a_remembered_device_signs_in_with_the_password_alone(client, db, backend):
    alice, _, first = await remembered(client, db)
    assert first["trusted_device_token"].startswith("mtd_") and first["trusted_device_id"] > 0

    again = await login(client, alice.email, trusted_device_token=first["trusted_device_token"], device_name="Laptop")

    assert again.status == 200
    body = await again.json()
    assert body["trusted_device_id"] == first["trusted_device_id"]
    assert body["trusted_device_token"] is None  # shown once
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})).status == 200


async def test_the_token_does_not_replace_the_password(client, db, backend):
    alice, _, first = await remembered(client, db)
    resp = await login(client, alice.email, password="not her password", trusted_device_token=first["trusted_device_token"])
    assert resp.status == 401 and await error_code(resp) == "bad_credentials"


async def test_without_a_code_remember_device_gives_no_token(client, db, backend):
    alice = await person(client, db)  # no second factor: nothing to skip
    resp = await login(client, alice.email, remember_device=True)
    assert resp.status == 200 and (await resp.json())["trusted_device_token"] is None
    assert await (await client.get("/api/v1/me/trusted-devices", headers=alice.headers)).json() == []


async def test_an_unknown_expired_revoked_or_other_persons_token_asks_for_the_code(client, db, backend):
    alice, _, alices = await remembered(client, db)
    bob, _, bobs = await remembered(client, db)
    laptop = alices["trusted_device_token"]

    unknown = await login(client, alice.email, trusted_device_token="mtd_" + "x" * 43)
    bobs_token = await login(client, alice.email, trusted_device_token=bobs["trusted_device_token"])
    async with db.transaction() as tx:
        await tx.session.execute(update(TrustedDevice).where(TrustedDevice.id == alices["trusted_device_id"]).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    expired = await login(client, alice.email, trusted_device_token=laptop)
    assert (await client.delete(f"/api/v1/me/trusted-devices/{bobs['trusted_device_id']}", headers=bob.headers)).status == 204
    revoked = await login(client, bob.email, trusted_device_token=bobs["trusted_device_token"])

    for resp in (unknown, bobs_token, expired, revoked):
        assert resp.status == 401 and await error_code(resp) == "totp_required"


async def test_a_code_still_works_beside_a_stale_token(client, db, backend):
    alice, secret, first = await remembered(client, db)
    assert (await client.delete(f"/api/v1/me/trusted-devices/{first['trusted_device_id']}", headers=alice.headers)).status == 204

    resp = await login(client, alice.email, trusted_device_token=first["trusted_device_token"], totp_code=totp_code(secret, +1))

    assert resp.status == 200


async def test_changing_the_password_forgets_every_remembered_device(client, db, backend):
    alice, _, first = await remembered(client, db)
    new_password = "a brand new passphrase"

    changed = await client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": new_password}, headers=alice.headers)

    assert changed.status == 200, await changed.text()
    resp = await login(client, alice.email, password=new_password, trusted_device_token=first["trusted_device_token"])
    assert resp.status == 401 and await error_code(resp) == "totp_required"
    assert await (await client.get("/api/v1/me/trusted-devices", headers=alice.headers)).json() == []


async def test_turning_the_second_factor_off_forgets_remembered_devices_for_good(client, db, backend):
    alice, secret, first = await remembered(client, db)
    off = await client.delete("/api/v1/me/totp", json={"password": PASSWORD, "code": totp_code(secret, +1)}, headers=alice.headers)
    assert off.status == 204, await off.text()
    await enrol(client, alice.headers)  # on again, with a new secret

    resp = await login(client, alice.email, trusted_device_token=first["trusted_device_token"])

    assert resp.status == 401 and await error_code(resp) == "totp_required"


async def test_the_rate_limit_still_applies_with_a_remembered_device(client, db, backend):
    alice, _, first = await remembered(client, db)
    for _ in range(MAX_FAILURES):
        assert (await login(client, alice.email, password="guess guess")).status == 401

    resp = await login(client, alice.email, trusted_device_token=first["trusted_device_token"])

    assert resp.status == 429


async def test_the_list_shows_my_remembered_devices_and_revoking_one_is_audited(client, db, backend):
    alice, _, first = await remembered(client, db)
    org = await make_org(db, alice.user)
    bob, _, bobs = await remembered(client, db)

    listed = await (await client.get("/api/v1/me/trusted-devices", headers=alice.headers)).json()
    others = await client.delete(f"/api/v1/me/trusted-devices/{bobs['trusted_device_id']}", headers=alice.headers)
    mine = await client.delete(f"/api/v1/me/trusted-devices/{first['trusted_device_id']}", headers=alice.headers)
    again = await client.delete(f"/api/v1/me/trusted-devices/{first['trusted_device_id']}", headers=alice.headers)

    assert [(d["id"], d["device_name"]) for d in listed] == [(first["trusted_device_id"], "Laptop")]
    assert set(listed[0]) == {"id", "device_name", "user_agent", "created_at", "last_used_at", "expires_at"}
    assert dt.datetime.fromisoformat(listed[0]["expires_at"]) - dt.datetime.fromisoformat(listed[0]["created_at"]) == dt.timedelta(days=30)
    assert others.status == 404 and mine.status == 204 and again.status == 404
    assert await (await client.get("/api/v1/me/trusted-devices", headers=alice.headers)).json() == []
    assert len(await (await client.get("/api/v1/me/trusted-devices", headers=bob.headers)).json()) == 1
    audit = await (await client.get(f"/api/v1/orgs/{org.id}/audit", params={"action": "account.trusted"}, headers=alice.headers)).json()
    assert [(i["action"], i["target_id"], i["details"]["reason"]) for i in audit["items"]] == [
        ("account.trusted_device_revoked", first["trusted_device_id"], "revoked")
    ]
