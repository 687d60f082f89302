"""Helpers of the phone sign-in tests (API and page): the fake SMS provider, an organisation that offers phone sign-in, codes read off SMS."""
from __future__ import annotations

import asyncio
import re

import pytest

from sqlalchemy import update

from server.db import Database
from server.orgs.models import Membership, Organisation
from tests.factories import make_org, make_user
from tests.notify.fake_provider import FakeProvider, Sent

CODE = re.compile(r"\b(\d{6})\b")


async def start_sms_provider(monkeypatch, **limits: int) -> FakeProvider:
    """The fake Twilio, as the server's SMS provider; ``limits`` set MUSTER_NOTIFY_* allowances (sms_per_org_per_day=1...)."""
    provider = FakeProvider()
    await provider.start()
    env = {"PROVIDER": "twilio", "TWILIO_BASE_URL": provider.url, "TWILIO_ACCOUNT_SID": provider.account_sid,
           "TWILIO_AUTH_TOKEN": provider.auth_token, "FROM_NUMBER": "+441632960000"}
    env |= {name.upper(): str(value) for name, value in limits.items()}
    for name, value in env.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)
    return provider


@pytest.fixture
async def sms(monkeypatch):
    """The fake Twilio as the server's SMS provider, for a test module that imports this fixture (list it before ``app``)."""
    provider = await start_sms_provider(monkeypatch)
    yield provider
    await provider.stop()


async def phone_org(db: Database, *, phone_sign_in: bool = True):
    """An organisation (offering phone sign-in, unless told) and its owner."""
    owner = await make_user(db, "Owner")
    org = await make_org(db, owner)
    async with db.transaction() as tx:
        await tx.session.execute(update(Organisation).where(Organisation.id == org.id).values(phone_sign_in=phone_sign_in))
    return org, owner


async def member_with_phone(db: Database, org_id: int, phone: str, name: str = "Mei", *, locale: str | None = None):
    user = await make_user(db, name)
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=user.id, role="member", display_name=name, phone=phone))
        if locale:
            (await tx.session.merge(user)).locale = locale
    return user


def sms_to(provider: FakeProvider, phone: str) -> list[Sent]:
    return [s for s in provider.of_kind("sms") if s.to == phone]


async def next_sms(provider: FakeProvider, phone: str, already: int = 0, timeout: float = 10.0) -> Sent:
    """The SMS number ``already + 1`` to ``phone``, once it arrived (codes go out in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(sms_to(provider, phone)) <= already:
        assert asyncio.get_running_loop().time() < deadline, f"no SMS #{already + 1} to {phone}"
        await asyncio.sleep(0.05)
    return sms_to(provider, phone)[already]


def code_in(sms: Sent) -> str:
    return CODE.search(sms.body).group(1)
