"""Building blocks of the external contacts tests: an organisation with staff, links, and people outside it."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from server.db import Database
from server.orgs.models import Membership
from tests.factories import Person
from tests.server.orgs.conftest import join, new_org, ok, signed_in

_numbers = itertools.count(1)


@dataclass
class Staff:
    id: int
    owner: Person
    nurse: Person
    colleague: Person
    admin: Person

    def url(self, tail: str = "") -> str:
        return f"/api/v1/orgs/{self.id}{tail}"


@pytest.fixture
async def org(db) -> Staff:
    made = await new_org(db)
    return Staff(
        made.id,
        made.owner,
        await join(db, made.id, "member", "Nurse Li"),
        await join(db, made.id, "member", "Nurse Wang"),
        await join(db, made.id, "admin", "Admin Zhao"),
    )


async def make_link(client, org: Staff, by: Person, **body) -> dict:
    return await ok(await client.post(org.url("/contact-links"), json=body, headers=by.headers), 201)


async def outsider(db: Database, name: str | None = None) -> Person:
    """A signed-in person of no organisation (a parent, a patient)."""
    return await signed_in(db, name or f"Parent {next(_numbers)}")


async def add_contact(client, db: Database, org: Staff, staff: Person, name: str | None = None) -> tuple[Person, dict]:
    """Someone outside the organisation who accepted ``staff``'s one-time link: the person and the accept answer."""
    person = await outsider(db, name)
    link = await make_link(client, org, staff)
    joined = await ok(await client.post("/api/v1/contact-links/accept", json={"token": link["token"]}, headers=person.headers))
    return person, joined


async def member_id(db: Database, org_id: int, user_id: int) -> int:
    async with db.transaction(org_id=org_id) as tx:
        return await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id))


async def say(client, org: Staff, group_id: int, by: Person, body: str) -> dict:
    return await ok(await client.post(org.url(f"/groups/{group_id}/messages"), json={"body": body}, headers=by.headers), 201)


async def bodies(client, org: Staff, group_id: int, by: Person) -> list[str]:
    history = await ok(await client.get(org.url(f"/groups/{group_id}/messages"), headers=by.headers))
    return [m["body"] for m in history["messages"]]
