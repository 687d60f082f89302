"""Fixtures of the organisation tests: an organisation with a signed-in owner, and people in it by role.

People here get a device session straight from ``issue_session`` instead of a
password login: these tests are about organisations, and argon2 twice per
person would make them slow.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from server.accounts.auth import issue_session
from server.accounts.users import do_create_user
from server.db import Database
from server.orgs.actions import do_create_org
from server.orgs.models import Membership
from tests.factories import Person

_people = itertools.count(1)


@dataclass
class OrgFixture:
    id: int
    owner: Person

    def url(self, tail: str = "") -> str:
        return f"/api/v1/orgs/{self.id}{tail}"


async def signed_in(db: Database, name: str | None = None) -> Person:
    """A person with an account (no password) and a bearer token."""
    n = next(_people)
    async with db.transaction() as tx:
        user = await do_create_user(tx, name=name or f"Someone {n}", email=f"someone{n}@example.org")
        token, _ = await issue_session(tx, user, days=1)
    return Person(user, user.email, {"Authorization": f"Bearer {token}"})


async def join(db: Database, org_id: int, role: str = "member", name: str | None = None) -> Person:
    """A signed-in person with a membership of ``role`` in the organisation."""
    someone = await signed_in(db, name)
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=someone.id, role=role, display_name=someone.user.name, email=someone.email))
    return someone


@pytest.fixture
async def org(db) -> OrgFixture:
    return await new_org(db)


async def new_org(db: Database, owner_name: str = "Olivia Owner") -> OrgFixture:
    owner = await signed_in(db, owner_name)
    async with db.transaction() as tx:
        created = await do_create_org(tx, name=f"Org of {owner_name}", slug=f"org-{next(_people)}", owner=owner.user)
    return OrgFixture(created.id, owner)


async def ok(resp, status: int = 200):
    """The JSON body of a response that must have ``status``; the body is in the failure message otherwise."""
    assert resp.status == status, f"{resp.status}: {await resp.text()}"
    return await resp.json() if status != 204 else None
