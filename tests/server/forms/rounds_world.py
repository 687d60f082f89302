"""Building blocks of the rounds tests: a health-report form, a department tree with members, a round sent to them.

The form is stored directly: these tests are about rounds, and the form API is the form engine's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import update

from server.db import Database, utcnow
from server.forms.models import Form, FormVersion
from server.orgs.models import Membership
from tests.factories import Person
from tests.server.orgs.conftest import OrgFixture, join, new_org, ok

HEALTH = {"fields": [
    {"name": "temperature", "type": "temperature", "label": "Temperature", "required": True, "min": 34, "max": 43,
     "abnormal": {"op": "ge", "value": 37.3}},
    {"name": "symptoms", "type": "yes_no", "label": "Symptoms", "required": True, "abnormal": {"op": "eq", "value": True}},
    {"name": "note", "type": "text", "label": "Note"},
]}
WELL = {"temperature": 36.6, "symptoms": False}
FEVER = {"temperature": 38.2, "symptoms": False}


async def make_form(db: Database, org_id: int, author_id: int, definition: dict = HEALTH, title: str = "Daily health report") -> int:
    async with db.transaction(org_id=org_id) as tx:
        form = Form(org_id=org_id, title=title, created_by=author_id, current_version=1)
        tx.session.add(form)
        await tx.session.flush()
        tx.session.add(FormVersion(org_id=org_id, form_id=form.id, number=1, definition=definition, created_by=author_id))
        return form.id


async def member_in(db: Database, org_id: int, department_id: int | None, name: str | None = None, phone: str | None = None,
                    role: str = "member") -> Person:
    person = await join(db, org_id, role, name)
    async with db.transaction(org_id=org_id) as tx:
        await tx.session.execute(update(Membership).where(Membership.user_id == person.id).values(department_id=department_id, phone=phone))
    return person


@dataclass
class School:
    """An organisation shaped like a small school district: district → two schools → classes, people in the classes."""

    org: OrgFixture
    form_id: int
    departments: dict[str, int]
    people: dict[str, list[Person]] = field(default_factory=dict)

    def url(self, tail: str) -> str:
        return self.org.url(tail)

    @property
    def owner(self) -> dict[str, str]:
        return self.org.owner.headers

    def everyone(self) -> list[Person]:
        return [p for group in self.people.values() for p in group]


async def department(client, org: OrgFixture, name: str, parent_id: int | None = None) -> int:
    body = {"name": name, **({"parent_id": parent_id} if parent_id else {})}
    return (await ok(await client.post(org.url("/departments"), json=body, headers=org.owner.headers), 201))["id"]


async def make_school(client, db: Database, sizes: dict[str, int] | None = None) -> School:
    """District → North (class N1, N2), South (class S1); ``sizes`` people per class."""
    org = await new_org(db)
    d = {"district": await department(client, org, "District")}
    d["north"] = await department(client, org, "North school", d["district"])
    d["south"] = await department(client, org, "South school", d["district"])
    d["n1"] = await department(client, org, "Class N1", d["north"])
    d["n2"] = await department(client, org, "Class N2", d["north"])
    d["s1"] = await department(client, org, "Class S1", d["south"])
    school = School(org, await make_form(db, org.id, org.owner.id), d)
    for key, n in (sizes or {"n1": 3, "n2": 2, "s1": 2}).items():
        school.people[key] = [await member_in(db, org.id, d[key], f"{key.upper()} pupil {i}", f"+86138000{d[key]:03d}{i:02d}") for i in range(n)]
    return school


async def send_round(client, school: School, *, minutes: int = 60, **extra) -> dict:
    body = {"audience": {"department_ids": [school.departments["district"]]}, "closes_at": (utcnow() + dt.timedelta(minutes=minutes)).isoformat(), **extra}
    return await ok(await client.post(school.url(f"/forms/{school.form_id}/rounds"), json=body, headers=school.owner), 201)
