"""Guardians and teachers of the sample bureau sign in with their phone and a code sent by SMS, through the HTTP API.

The SMS provider is the fake Twilio (tests/notify/fake_provider.py). The codes' own mechanics (expiry, guessing, the
limits per number, address and organisation) are the platform's: tests/server/accounts/test_phone_sign_in.py.
Here: who schools lets in with a number, and that its people go through the same limits and SMS allowance.
"""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from schools.models import Guardian
from server.config import Settings
from tests.schools.conftest import Bureau
from tests.server.accounts.phones import code_in, next_sms, sms_to, start_sms_provider
from tests.server.orgs.conftest import new_org, ok

WANG_FANG, HUANG_MEI, CHEN_JING, NOBODY = "+8613900000001", "+8613900000005", "+8613800000104", "+8613900000999"


@pytest.fixture
async def sms(monkeypatch):
    provider = await start_sms_provider(monkeypatch, sms_per_org_per_day=4)
    yield provider
    await provider.stop()


@pytest.fixture
def settings(sms, database_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key-for-schools-codes",
                    phone_code_resend_s=0, phone_codes_per_address=100)


@pytest.fixture
async def offering(client, bureau: Bureau) -> Bureau:
    """The sample bureau, which offers phone sign-in since its import made its bureau."""
    assert (await ok(await client.get(bureau.org.url(), headers=bureau.owner)))["phone_sign_in"] is True
    return bureau


async def ask(client, bureau: Bureau, phone: str):
    return await client.post("/api/v1/auth/phone/code", json={"phone": phone, "org_id": bureau.org.id})


async def sign_in_by_phone(client, sms, bureau: Bureau, phone: str, typed: str | None = None) -> dict:
    """Ask for a code for ``phone`` (E.164; written as ``typed``), read it off the SMS and sign in with it."""
    already = len(sms_to(sms, phone))
    assert (await ask(client, bureau, typed or phone)).status == 202
    code = code_in(await next_sms(sms, phone, already))
    return await ok(await client.post("/api/v1/auth/phone/sign-in", json={"phone": typed or phone, "code": code, "device_name": "Phone"}))


def bearer(signed_in: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {signed_in['token']}"}


async def test_a_guardian_signs_in_with_a_code_and_sees_their_children(client, sms, offering: Bureau):
    signed_in = await sign_in_by_phone(client, sms, offering, WANG_FANG, "139 0000 0001")  # as parents write it
    async with offering.db.transaction(org_id=offering.org.id) as tx:
        account = await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == WANG_FANG))
    assert signed_in["user"]["id"] == account  # the account the import gave her: no new one
    me = await ok(await client.get(offering.url("/me"), headers=bearer(signed_in)))
    assert [c["name"] for c in me["children"]] == ["Wang Xiaoming", "Wang Xiaohong"] and me["roles"] == []
    assert (await client.get(offering.url("/units"), headers=bearer(signed_in))).status == 404  # an outsider, still


async def test_a_teacher_imported_with_a_phone_signs_in_by_code_too(client, sms, offering: Bureau):
    signed_in = await sign_in_by_phone(client, sms, offering, CHEN_JING)
    me = await ok(await client.get(offering.url("/me"), headers=bearer(signed_in)))
    assert {(r["role"], r["unit"]["id"]) for r in me["roles"]} == {
        ("head_teacher", offering.units["S0101-G1C1"]), ("subject_teacher", offering.units["S0101-G1C2"]),
    }


async def test_a_guardian_whose_last_child_was_archived_is_refused_like_a_number_nobody_has(client, sms, offering: Bureau):
    await ok(await client.patch(offering.url(f"/students/{offering.students['P0005']}"), json={"archived": True}, headers=offering.owner))
    archived, unknown = await ask(client, offering, HUANG_MEI), await ask(client, offering, NOBODY)
    assert (archived.status, await archived.json()) == (unknown.status, await unknown.json())
    await asyncio.sleep(0.3)
    assert sms_to(sms, HUANG_MEI) == [] and sms_to(sms, NOBODY) == []
    for phone in (HUANG_MEI, NOBODY):
        refused = await client.post("/api/v1/auth/phone/sign-in", json={"phone": phone, "code": "123456"})
        assert refused.status == 401 and (await refused.json())["error"]["code"] == "bad_code"
    await ok(await client.patch(offering.url(f"/students/{offering.students['P0005']}"), json={"archived": False}, headers=offering.owner))
    assert (await sign_in_by_phone(client, sms, offering, HUANG_MEI))["user"]["name"] == "Huang Mei"  # back on the roll, back in


async def test_a_guardian_without_an_account_gets_one_attached_and_joins_the_class_group(client, sms, offering: Bureau):
    group = await ok(await client.post(offering.url(f"/units/{offering.units['S0101-G1C1']}/group"), headers=offering.owner), 201)
    async with offering.db.transaction(org_id=offering.org.id) as tx:
        await tx.session.execute(update(Guardian).where(Guardian.phone == "+8613900000003").values(user_id=None))  # Liu Qiang's, erased
    first = await sign_in_by_phone(client, sms, offering, "+8613900000003")
    assert (first["user"]["name"], first["user"]["email"]) == ("Liu Qiang", None)
    async with offering.db.transaction(org_id=offering.org.id) as tx:
        assert await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == "+8613900000003")) == first["user"]["id"]
    again = await sign_in_by_phone(client, sms, offering, "+8613900000003")
    assert again["user"]["id"] == first["user"]["id"]
    chat = await ok(await client.get(offering.org.url(f"/groups/{group['group_id']}"), headers=bearer(again)))
    assert chat["id"] == group["group_id"]  # in the class group, which followed the roster


async def test_guardians_codes_count_against_the_organisations_sms_allowance(client, sms, offering: Bureau):
    for phone in (WANG_FANG, "+8613900000002", "+8613900000003", "+8613900000004"):
        assert (await ask(client, offering, phone)).status == 202
    spent = await ask(client, offering, HUANG_MEI)
    assert spent.status == 429 and (await spent.json())["error"]["code"] == "paid_limit_exceeded"
    await asyncio.sleep(0.3)
    assert len(sms.of_kind("sms")) == 4


async def test_an_organisation_offers_phone_sign_in_once_its_bureau_is_made(client, db):
    org = await new_org(db)
    assert (await ok(await client.get(org.url(), headers=org.owner.headers)))["phone_sign_in"] is False
    await ok(await client.post(org.url("/schools/units"), json={"kind": "bureau", "name": "Riverside"}, headers=org.owner.headers), 201)
    assert (await ok(await client.get(org.url(), headers=org.owner.headers)))["phone_sign_in"] is True
