"""Building blocks for tests: people, organisations, signed-in clients."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from server.accounts.models import User
from server.accounts.users import do_create_user
from server.db import Database
from server.orgs.actions import do_create_org
from server.orgs.models import Organisation

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class Person:
    user: User
    email: str
    headers: dict[str, str]

    @property
    def id(self) -> int:
        return self.user.id


async def make_user(db: Database, name: str | None = None, *, password: str = PASSWORD) -> User:
    n = next(_counter)
    async with db.transaction() as tx:
        return await do_create_user(tx, name=name or f"Person {n}", email=f"person{n}@example.org", password=password)


async def make_org(db: Database, owner: User, name: str | None = None) -> Organisation:
    n = next(_counter)
    async with db.transaction() as tx:
        return await do_create_org(tx, name=name or f"Org {n}", slug=f"org-{n}", owner=owner)


async def sign_in(client: TestClient, email: str, password: str = PASSWORD, **extra) -> dict[str, str]:
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def person(client: TestClient, db: Database, name: str | None = None) -> Person:
    user = await make_user(db, name)
    return Person(user, user.email, await sign_in(client, user.email))
