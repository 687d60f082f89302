"""Signing in with a phone number and a code sent by SMS: the codes, the limits, and what an attacker cannot do with them.

The SMS provider is the fake Twilio (tests/notify/fake_provider.py); codes are read off the SMS it received.
Attacker views (docs/SECURITY.md): enumeration (same answer, known number or not), code guessing (attempts per code,
the sign-in rate limit), SMS pumping and bombing (limits per number, address and organisation; the paid allowance).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pyotp
import pytest
from sqlalchemy import select, update

from server.accounts import phone_people
from server.accounts.models import AccountNotice, PhoneCode, User
from server.accounts.phone_people import PhonePerson
from server.appkeys import SETTINGS
from server.channels.models import PaidUsage
from server.channels.registry import CHANNELS
from server.config import Settings
from server.db import utcnow
from server.orgs.models import Membership
from tests.factories import sign_in
from tests.server.accounts.phones import code_in, member_with_phone, next_sms, phone_org, sms_to, start_sms_provider

MEI, NOBODY, GUARDIAN = "+8613900000001", "+8613900000099", "+8613900000077"


@pytest.fixture
async def sms(monkeypatch):
    provider = await start_sms_provider(monkeypatch, sms_per_org_per_day=3)
    yield provider
    await provider.stop()


@pytest.fixture
def settings(sms, database_url, tmp_path) -> Settings:
    """No wait between codes (one test turns it on); small limits, fast to reach."""
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key-for-phone-codes",
        login_max_failures=5, phone_code_max_attempts=3, phone_code_resend_s=0, phone_codes_per_number=3,
        phone_codes_per_address=6, phone_codes_per_org=100,
    )


async def ask(client, phone: str, org, **headers):
    return await client.post("/api/v1/auth/phone/code", json={"phone": phone, "org_slug": org.slug}, headers=headers)


async def phone_sign_in(client, phone: str, code: str, **extra):
    return await client.post("/api/v1/auth/phone/sign-in", json={"phone": phone, "code": code, **extra})


async def code_for(client, sms, org, phone: str) -> str:
    already = len(sms_to(sms, phone))
    resp = await ask(client, phone, org)
    assert resp.status == 202, await resp.text()
    return code_in(await next_sms(sms, phone, already))


async def test_a_member_signs_in_with_the_code_sent_to_their_number_once(client, db, sms):
    org, _ = await phone_org(db)
    mei = await member_with_phone(db, org.id, MEI, "Mei")

    resp = await ask(client, "139 0000 0001", org)  # as people write it: read in the server's region
    assert resp.status == 202
    assert await resp.json() == {"expires_in_s": 300, "resend_in_s": 0}
    message = await next_sms(sms, MEI)
    code = code_in(message)
    assert org.name in message.body and "5 minutes" in message.body

    signed_in = await phone_sign_in(client, MEI, code, device_name="Mei's phone")
    assert signed_in.status == 200, await signed_in.text()
    body = await signed_in.json()
    assert set(body) == {"token", "session_id", "user", "trusted_device_id", "trusted_device_token"}  # a password sign-in's answer
    assert body["user"]["id"] == mei.id
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert (await me.json())["id"] == mei.id
    devices = await (await client.get("/api/v1/me/devices", headers={"Authorization": f"Bearer {body['token']}"})).json()
    assert [d["device_name"] for d in devices] == ["Mei's phone"]

    again = await phone_sign_in(client, MEI, code)
    assert again.status == 401
    assert (await again.json())["error"]["code"] == "bad_code"


async def test_the_sms_is_in_the_persons_language(client, db, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI, "Mei", locale="zh-CN")
    assert (await ask(client, MEI, org)).status == 202
    assert "验证码" in (await next_sms(sms, MEI)).body


async def test_codes_are_stored_only_as_a_keyed_hash(client, db, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    code = await code_for(client, sms, org, MEI)
    async with db.transaction() as tx:
        (row,) = (await tx.session.scalars(select(PhoneCode))).all()
    assert code not in row.code_hash and len(row.code_hash) == 64


async def test_an_unknown_number_gets_the_same_answer_and_no_sms(client, db, sms):
    """Enumeration: the answer (status, body, limits) says nothing about whether the number is someone's."""
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    known, unknown = await ask(client, MEI, org), await ask(client, NOBODY, org)
    assert (known.status, await known.json()) == (unknown.status, await unknown.json())
    await next_sms(sms, MEI)
    await asyncio.sleep(0.3)
    assert sms_to(sms, NOBODY) == []
    refused = await phone_sign_in(client, NOBODY, "000000")
    assert refused.status == 401 and (await refused.json())["error"]["code"] == "bad_code"
    # Both are limited alike: up to 3 asks per number, then the same refusal.
    for _ in range(2):
        assert [(await ask(client, n, org)).status for n in (NOBODY, MEI)] == [202, 202]
    refusals = [await ask(client, n, org) for n in (NOBODY, MEI)]
    assert [r.status for r in refusals] == [429, 429]
    # the same body, but for the seconds left: each number's window started at its own first ask
    assert [re.sub(r"\d+", "N", json.dumps(await r.json())) for r in refusals] == [re.sub(r"\d+", "N", json.dumps(await refusals[0].json()))] * 2


async def test_an_organisation_that_does_not_offer_it_reads_as_unknown(client, db, sms):
    org, _ = await phone_org(db, phone_sign_in=False)
    await member_with_phone(db, org.id, MEI)
    off = await ask(client, MEI, org)
    missing = await client.post("/api/v1/auth/phone/code", json={"phone": MEI, "org_slug": "no-such-org"})
    assert off.status == missing.status == 404
    assert (await off.json())["error"] == {**(await missing.json())["error"], "field": "org_slug"}
    assert (await off.json())["error"]["code"] == "phone_sign_in_unavailable"
    by_id = await client.post("/api/v1/auth/phone/code", json={"phone": MEI, "org_id": org.id})
    assert by_id.status == 404
    neither = await client.post("/api/v1/auth/phone/code", json={"phone": MEI})
    assert neither.status == 400 and (await neither.json())["error"]["field"] == "org_slug"
    bad_number = await client.post("/api/v1/auth/phone/code", json={"phone": "12", "org_id": org.id})
    assert bad_number.status == 400 and (await bad_number.json())["error"]["field"] == "phone"


async def test_an_expired_code_is_refused(client, db, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    code = await code_for(client, sms, org, MEI)
    async with db.transaction() as tx:
        await tx.session.execute(update(PhoneCode).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    resp = await phone_sign_in(client, MEI, code)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "bad_code"


async def test_a_new_code_replaces_the_last_one(client, db, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    first = await code_for(client, sms, org, MEI)
    second = await code_for(client, sms, org, MEI)
    if first != second:
        assert (await phone_sign_in(client, MEI, first)).status == 401
    assert (await phone_sign_in(client, MEI, second)).status == 200


async def test_guessing_kills_the_code_then_the_number_is_locked(client, db, sms):
    """Code guessing: a code survives 3 wrong guesses (then even the right one fails); the number's failures lock it (429)."""
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    code = await code_for(client, sms, org, MEI)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert (await phone_sign_in(client, MEI, wrong)).status == 401
    assert (await phone_sign_in(client, MEI, code)).status == 401  # dead: a new one must be asked for
    code = await code_for(client, sms, org, MEI)
    assert (await phone_sign_in(client, MEI, wrong)).status == 401  # the fifth failure of this number
    locked = await phone_sign_in(client, MEI, code)
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > 0


async def test_asking_is_limited_per_address_and_waits_between_codes(client, db, app, sms):
    """SMS pumping from one address: at most 6 asks per window whatever the numbers; and one code per number per minute."""
    org, _ = await phone_org(db)
    numbers = [f"+86139000001{n:02d}" for n in range(7)]
    answers = [(await ask(client, n, org)).status for n in numbers]
    assert answers == [202] * 6 + [429]
    app[SETTINGS].phone_code_resend_s = 60
    org2, _ = await phone_org(db)
    other = await client.post("/api/v1/auth/phone/code", json={"phone": MEI, "org_id": org2.id},
                              headers={"X-Forwarded-For": "203.0.113.9"})  # not believed: no trusted proxy
    assert other.status == 429


async def test_the_resend_wait_and_the_organisations_limit(client, db, app, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI)
    app[SETTINGS].phone_code_resend_s = 60
    assert (await ask(client, MEI, org)).status == 202
    soon = await ask(client, MEI, org)
    assert soon.status == 429 and 0 < int(soon.headers["Retry-After"]) <= 60
    app[SETTINGS].phone_code_resend_s, app[SETTINGS].phone_codes_per_org = 0, 2
    assert (await ask(client, NOBODY, org)).status == 202
    full = await ask(client, "+8613900000098", org)  # two asked for this organisation in the window already
    assert full.status == 429 and "this organisation" in (await full.json())["error"]["message"]


async def test_the_organisations_sms_allowance_is_spent_only_on_codes_sent_and_refused_alike(client, db, app, sms):
    """Toll fraud: every code sent counts against the organisation's daily SMS (3 here); once spent, asking is refused
    clearly, for unknown numbers too; numbers nobody has never spend it."""
    app[SETTINGS].phone_codes_per_address = 100
    org, _ = await phone_org(db)
    members = [f"+861390000002{n}" for n in range(4)]
    for n, phone in enumerate(members):
        await member_with_phone(db, org.id, phone, f"Member {n}")
    for _ in range(3):
        assert (await ask(client, NOBODY if _ else "+8613900000098", org)).status == 202
    for phone in members[:3]:
        assert (await ask(client, phone, org)).status == 202
    spent = await ask(client, members[3], org)
    unknown = await ask(client, "+8613900000097", org)
    assert spent.status == unknown.status == 429
    error = (await spent.json())["error"]
    assert error["code"] == "paid_limit_exceeded" and "3 SMS a day" in error["message"]
    assert (await unknown.json())["error"] == error
    async with db.transaction() as tx:
        used = await tx.session.scalar(select(PaidUsage.used).where(PaidUsage.scope == "org", PaidUsage.key == str(org.id)))
    assert used == 3
    await asyncio.sleep(0.3)
    assert len(sms.of_kind("sms")) == 3


@pytest.fixture
def guardians(monkeypatch):
    """A capability's lookup that knows one guardian by phone; attaching makes them a member with that number."""
    attached: list[int] = []

    async def attach(tx, user):
        attached.append(user.id)
        tx.session.add(Membership(org_id=tx.org_id, user_id=user.id, role="member", display_name="Lin's guardian", phone=GUARDIAN))

    async def lookup(tx, phone):
        return PhonePerson(name="Lin's guardian", locale="zh-CN", attach=attach) if phone == GUARDIAN else None

    monkeypatch.setattr(phone_people, "_lookups", [])
    phone_people.register_phone_sign_in(lookup)
    return attached


async def test_someone_a_capability_knows_gets_an_account_at_first_sign_in_and_the_same_one_after(client, db, sms, guardians):
    org, _ = await phone_org(db)
    first = await phone_sign_in(client, GUARDIAN, await code_for(client, sms, org, GUARDIAN), device_name="Phone")
    assert first.status == 200, await first.text()
    user = (await first.json())["user"]
    assert (user["name"], user["email"], user["locale"]) == ("Lin's guardian", None, "zh-CN")
    assert guardians == [user["id"]]
    assert "验证码" in sms_to(sms, GUARDIAN)[0].body

    second = await phone_sign_in(client, GUARDIAN, await code_for(client, sms, org, GUARDIAN), device_name="Tablet")
    assert (await second.json())["user"]["id"] == user["id"] and guardians == [user["id"]]
    async with db.transaction() as tx:
        notices = (await tx.session.scalars(select(AccountNotice).where(AccountNotice.user_id == user["id"]))).all()
        account = await tx.session.get(User, user["id"])
    assert [n.data["device_name"] for n in notices] == ["Tablet"]  # a sign-in on a new device is told, as for passwords
    assert account.password_hash is None


async def test_a_number_two_members_share_is_refused_after_the_code(client, db, sms):
    org, _ = await phone_org(db)
    await member_with_phone(db, org.id, MEI, "Mei")
    await member_with_phone(db, org.id, MEI, "Mei's brother")
    resp = await phone_sign_in(client, MEI, await code_for(client, sms, org, MEI))
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "phone_shared"


async def test_an_account_with_two_factor_sign_in_still_needs_its_code(client, db, sms):
    org, _ = await phone_org(db)
    mei = await member_with_phone(db, org.id, MEI)
    secret = pyotp.random_base32()
    async with db.transaction() as tx:
        account = await tx.session.get(User, mei.id)
        account.totp_secret, account.totp_enabled = secret, True
    code = await code_for(client, sms, org, MEI)

    asked = await phone_sign_in(client, MEI, code)
    assert asked.status == 401 and (await asked.json())["error"]["code"] == "totp_required"
    wrong = await phone_sign_in(client, MEI, code, totp_code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status == 401 and (await wrong.json())["error"]["code"] == "bad_totp"
    done = await phone_sign_in(client, MEI, code, totp_code=pyotp.TOTP(secret).now())  # the SMS code was not spent meanwhile
    assert done.status == 200, await done.text()


async def test_admins_turn_phone_sign_in_on_and_off(client, db, sms):
    org, owner = await phone_org(db, phone_sign_in=False)
    headers = await sign_in(client, owner.email)
    assert (await (await client.get(f"/api/v1/orgs/{org.id}", headers=headers)).json())["phone_sign_in"] is False
    on = await client.patch(f"/api/v1/orgs/{org.id}", json={"phone_sign_in": True}, headers=headers)
    assert on.status == 200 and (await on.json())["phone_sign_in"] is True
    await member_with_phone(db, org.id, MEI)
    assert (await ask(client, MEI, org)).status == 202
    audit = await (await client.get(f"/api/v1/orgs/{org.id}/audit", headers=headers)).json()
    assert any(e["action"] == "org.updated" and e["details"] == {"phone_sign_in": True} for e in audit["items"])


async def test_a_server_that_sends_no_sms_says_so(client, db, app, sms, monkeypatch):
    org, _ = await phone_org(db)
    monkeypatch.setattr(app[CHANNELS], "provider", None)
    resp = await ask(client, MEI, org)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "sms_unavailable"
