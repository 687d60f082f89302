"""Building blocks of the groups tests: an organisation with signed-in people, groups, bulk members."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import insert, select

from server.accounts.auth import issue_session
from server.accounts.models import User
from server.db import Database, utcnow
from server.groups.models import GroupMember
from server.orgs.models import Membership
from tests.factories import Person, make_org


@dataclass
class Org:
    id: int
    owner: Person
    people: list[Person]

    def url(self, path: str = "") -> str:
        return f"/api/v1/orgs/{self.id}{path}"


async def join_org(db: Database, org_id: int, user: User, role: str = "member") -> None:
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=user.id, role=role, display_name=user.name, email=user.email))


_numbers = itertools.count(1)


async def signed_in(db: Database, name: str) -> Person:
    """A person with a device session issued directly: no password to hash, so tests stay fast."""
    n = next(_numbers)
    async with db.transaction() as tx:
        user = User(kind="person", name=name, email=f"group-person-{n}-{uuid.uuid4().hex[:8]}@example.org")
        tx.session.add(user)
        await tx.session.flush()
        token, _ = await issue_session(tx, user, days=1)
    return Person(user, user.email, {"Authorization": f"Bearer {token}"})


async def owner_and_members(database_url: str, *names: str) -> tuple[int, Person, list[Person]]:
    """For tests against real nodes: an organisation (its id), its owner, and members with these names, all signed in."""
    db = Database(database_url)
    try:
        owner = await signed_in(db, "Owner")
        org = await make_org(db, owner.user)
        members = [await signed_in(db, name) for name in names]
        for member in members:
            await join_org(db, org.id, member.user)
    finally:
        await db.close()
    return org.id, owner, members


async def make_people_org(client, db, count: int) -> Org:
    owner = await signed_in(db, "Owner")
    org = await make_org(db, owner.user)
    people = []
    for n in range(count):
        p = await signed_in(db, f"Member {n}")
        await join_org(db, org.id, p.user)
        people.append(p)
    return Org(org.id, owner, people)


@pytest.fixture
async def org(client, db) -> Org:
    """An owner and three people, all signed in."""
    return await make_people_org(client, db, 3)


async def create_group(client, org: Org, *, by: Person | None = None, **body) -> dict:
    by = by or org.owner
    body.setdefault("name", "Team")
    body.setdefault("member_ids", [p.id for p in org.people])
    resp = await client.post(org.url("/groups"), json=body, headers=by.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def post(client, org: Org, group_id: int, by: Person, body: str = "hello", **extra):
    return await client.post(org.url(f"/groups/{group_id}/messages"), json={"body": body, **extra}, headers=by.headers)


async def add_bulk_members(db: Database, org_id: int, group_id: int, count: int, *, prefix: str) -> list[int]:
    """``count`` users made members directly with multi-row INSERTs (no sign-in, no events): for size tests."""
    now = utcnow()
    async with db.transaction() as tx:
        await tx.session.execute(
            insert(User), [{"kind": "person", "name": f"{prefix} {n}", "email": f"{prefix}-{n}@example.org", "totp_enabled": False, "created_at": now} for n in range(count)]
        )
        ids = list(await tx.session.scalars(select(User.id).where(User.email.like(f"{prefix}-%@example.org"))))
        await tx.session.execute(
            insert(GroupMember),
            [{"org_id": org_id, "group_id": group_id, "user_id": u, "role": "member", "read_seq": 0, "muted": False, "joined_at": now} for u in ids],
        )
    return ids


@dataclass
class Ward:
    """Alice (owner) and Bob in one organisation and one group, for the page tests."""

    alice: Person
    bob: Person
    org_id: int
    api: str  # the groups API's absolute URL
    group_id: int


async def ward_group(db: Database, http, base_url: str) -> Ward:
    alice, bob = await signed_in(db, "Alice"), await signed_in(db, "Bob")
    org = await make_org(db, alice.user)
    await join_org(db, org.id, bob.user)
    api = f"{base_url}/api/v1/orgs/{org.id}/groups"
    resp = await http.post(api, json={"name": "Ward 3", "member_ids": [bob.id]}, headers=alice.headers)
    assert resp.status == 201, await resp.text()
    return Ward(alice, bob, org.id, api, (await resp.json())["id"])
