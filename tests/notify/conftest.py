"""notify's fixtures: a fake Twilio-compatible provider, an app that uses it and knows its own URL, an organisation of people.

The app's ``MUSTER_PUBLIC_URL`` is the test server's real address, because the
provider calls back to the URLs Muster gives it.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.config import Settings
from server.db import Database
from server.orgs.departments import do_create_department
from server.orgs.models import Membership
from server.accounts.models import User
from tests.factories import Person, make_org, person
from tests.notify.fake_provider import FakeProvider


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def fake_provider():
    provider = FakeProvider()
    await provider.start()
    yield provider
    await provider.stop()


@pytest.fixture
def server_port() -> int:
    return free_port()


@pytest.fixture(autouse=True)
def notify_env(monkeypatch, fake_provider):
    """Fast escalation and retries (SMS and calls allowed at once); the fake provider; rates high enough not to slow tests."""
    env = {
        "PROVIDER": "twilio",
        "TWILIO_BASE_URL": fake_provider.url,
        "TWILIO_ACCOUNT_SID": fake_provider.account_sid,
        "TWILIO_AUTH_TOKEN": fake_provider.auth_token,
        "FROM_NUMBER": "+441632960000",
        "SMS_PER_S": "50",
        "CALLS_PER_S": "50",
        "RETRY_BASE_S": "0.1",
        "MAX_ATTEMPTS": "3",
        "REQUEST_TIMEOUT_S": "0.5",
        "ENGINE_IDLE_S": "0.1",
        "SMS_AFTER_S": "",
        "CALL_AFTER_S": "",
        "REPEATS": "0",
        "PAID_MIN_DELAY_S": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(f"MUSTER_NOTIFY_{name}", value)


@pytest.fixture
def settings(database_url, tmp_path, server_port) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key",
                    public_url=f"http://127.0.0.1:{server_port}")


@pytest.fixture
async def client(app, server_port):
    async with TestClient(TestServer(app, host="127.0.0.1", port=server_port)) as client:
        yield client


@dataclass
class Org:
    id: int
    admin: Person
    people: dict[str, int] = field(default_factory=dict)  # name -> user id
    departments: dict[str, int] = field(default_factory=dict)


async def make_person(db: Database, name: str) -> int:
    """A user who never signs in here (no password: no argon2 cost)."""
    async with db.transaction() as tx:
        user = User(name=name, email=f"{name.lower().replace(' ', '.')}.{id(tx)}@example.org")
        tx.session.add(user)
        await tx.session.flush()
        return user.id


async def add_member(db: Database, org_id: int, user_id: int, name: str, *, phone: str | None = None, department_id: int | None = None,
                     role: str = "member") -> None:
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=user_id, display_name=name, phone=phone, department_id=department_id, role=role))


@pytest.fixture
async def org(client, db) -> Org:
    """A ward tree (Hospital > Surgery > Ward 3, and School) and five people with phones; the admin signs in."""
    admin = await person(client, db, "Ada Admin")
    organisation = await make_org(db, admin.user)
    result = Org(organisation.id, admin)
    async with db.transaction(org_id=organisation.id) as tx:
        hospital = await do_create_department(tx, name="Hospital", parent_id=None)
        surgery = await do_create_department(tx, name="Surgery", parent_id=hospital.id)
        ward = await do_create_department(tx, name="Ward 3", parent_id=surgery.id)
        school = await do_create_department(tx, name="School", parent_id=None)
    result.departments = {"hospital": hospital.id, "surgery": surgery.id, "ward": ward.id, "school": school.id}
    for i, (name, department) in enumerate([("nina", ward.id), ("noah", surgery.id), ("hana", hospital.id), ("tess", school.id), ("pat", None)]):
        user_id = await make_person(db, name.title())
        await add_member(db, organisation.id, user_id, name.title(), phone=f"+4479460{i:05d}", department_id=department)
        result.people[name] = user_id
    return result
