"""A bureau for the schools tests: the sample hierarchy (schools/samples/) imported into a new organisation,
and signed-in staff and guardians of it.

North District (D01) has North No. 1 Primary (S0101) with Grade 1 (classes C1 and C2) and Grade 6 (C1);
South District (D02) has South No. 3 Primary (S0201) with Grade 1 C1. Wang Fang (+8613900000001) has a child
in S0101 Grade 1 C1 and another in S0201.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from server.accounts.auth import issue_session
from server.accounts.models import User
from server.db import Database
from server.orgs.imports.limits import ImportLimits
from server.orgs.models import Membership
from schools.imports.run import do_import_hierarchy
from schools.models import Guardian, SchoolUnit, Student
from tests.server.orgs.conftest import OrgFixture, new_org

SAMPLES = Path(__file__).parents[2] / "schools" / "samples"
SAMPLE_FILES = [(name, SAMPLES / name) for name in ("units.csv", "staff.csv", "students.csv")]


@dataclass
class Bureau:
    org: OrgFixture
    db: Database
    units: dict[str, int] = field(default_factory=dict)  # external id → unit id
    students: dict[str, int] = field(default_factory=dict)  # external id → student id

    def url(self, tail: str) -> str:
        return self.org.url("/schools" + tail)

    @property
    def owner(self) -> dict[str, str]:
        return self.org.owner.headers

    async def staff_id(self, external_id: str) -> int:
        """The user id of the staff member with this external id."""
        async with self.db.transaction(org_id=self.org.id) as tx:
            return await tx.session.scalar(select(Membership.user_id).where(Membership.external_id == external_id))

    async def staff(self, external_id: str) -> dict[str, str]:
        """Headers of the staff member with this external id (signed in on a new device)."""
        return await headers_of(self.db, await self.staff_id(external_id))

    async def guardian(self, phone: str) -> dict[str, str]:
        async with self.db.transaction(org_id=self.org.id) as tx:
            user_id = await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == phone))
        return await headers_of(self.db, user_id)

    async def refresh(self) -> None:
        async with self.db.transaction(org_id=self.org.id) as tx:
            self.units = dict((await tx.session.execute(select(SchoolUnit.external_id, SchoolUnit.department_id))).all())
            self.students = dict((await tx.session.execute(select(Student.external_id, Student.id))).all())


async def headers_of(db: Database, user_id: int) -> dict[str, str]:
    async with db.transaction() as tx:
        token, _ = await issue_session(tx, await tx.session.get(User, user_id), days=1)
    return {"Authorization": f"Bearer {token}"}


async def poll(client, url: str, headers: dict) -> dict:
    """A job (an import, a rollover) once it ended."""
    for _ in range(300):
        job = await (await client.get(url, headers=headers)).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"the job did not end: {job}")


async def import_files(db: Database, org_id: int, files=SAMPLE_FILES):
    return await do_import_hierarchy(db, org_id, list(files), region="CN", limits=ImportLimits(max_rows=10_000))


async def new_bureau(db: Database) -> Bureau:
    org = await new_org(db, "Olivia Owner")
    report = await import_files(db, org.id)
    assert report.failed == 0, report.errors
    bureau = Bureau(org, db)
    await bureau.refresh()
    return bureau


@pytest.fixture
async def bureau(db) -> Bureau:
    return await new_bureau(db)
