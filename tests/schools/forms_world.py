"""A bureau's daily health report for the schools' forms tests: the sample bureau (tests/schools/conftest.py), a health
officer and a subject teacher of North No. 1, a family without a phone in its Grade 1 Class 1, and a round to every child.

Who is where (the sample's external ids): Grade 1 Class 1 of North No. 1 (S0101-G1C1) has Wang Xiaoming (P0001: Wang
Fang, Wang Wei), Liu Yang (P0003: Liu Qiang) and Gu Xiaobao (P0900, whose grandmother has no phone); Class 2
(S0101-G1C2) Zhang Lin (P0004); Grade 6 Class 1 (S0101-G6C1) Huang Bo (P0005); South No. 3's Class 1 (S0201-G1C1)
Wang Xiaohong (P0002: Wang Fang again). Chen Jing (T0004) is head teacher of G1C1 and subject teacher of G1C2.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from server.db import utcnow
from tests.schools.conftest import Bureau, new_bureau
from tests.server.forms.conftest import health
from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import join, ok

WELL = {"temperature": 36.6, "symptoms": False}
FEVER = {"temperature": 38.2, "symptoms": True, "which": ["fever"]}
STAFF = {"bureau staff": "T0001", "district staff": "T0002", "school admin": "T0003", "head teacher": "T0004"}
GUARDIANS = {"Wang Fang": "+8613900000001", "Wang Wei": "+8613900000002", "Liu Qiang": "+8613900000003", "Zhang Li": "+8613900000004",
             "Huang Mei": "+8613900000005"}


@dataclass
class HealthReport:
    bureau: Bureau
    form_id: int
    round_id: int
    people: dict[str, dict[str, str]] = field(default_factory=dict)  # who → headers
    user_ids: dict[str, int] = field(default_factory=dict)

    def url(self, tail: str) -> str:
        return self.bureau.org.url(tail)

    def unit(self, external_id: str) -> int:
        return self.bureau.units[external_id]

    def child(self, external_id: str) -> int:
        return self.bureau.students[external_id]

    def round_url(self, tail: str = "", round_id: int | None = None) -> str:
        return self.url(f"/rounds/{round_id or self.round_id}{tail}")


def closes_in(minutes: int = 120) -> str:
    return (utcnow() + dt.timedelta(minutes=minutes)).isoformat()


async def send_to_children(client, report: HealthReport, headers: dict, audience: dict, **extra):
    """POST a round of the health report to children (the response, unread)."""
    body = {"audience": audience, "respondent_kind": "student", "closes_at": closes_in(), **extra}
    return await client.post(report.url(f"/forms/{report.form_id}/rounds"), json=body, headers=headers)


async def submit(client, report: HealthReport, who: str, child: str, answers: dict = WELL, round_id: int | None = None) -> dict:
    body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child(child), "answers": answers}
    return await ok(await client.post(report.round_url("/submissions", round_id), json=body, headers=report.people[who]), 201)


async def health_report(client, db, *, audience: dict | None = None) -> HealthReport:
    bureau = await new_bureau(db)
    owner = bureau.owner
    grandma = {"external_id": "P0900", "name": "Gu Xiaobao", "class_id": bureau.units["S0101-G1C1"], "guardians": [{"name": "Gu Nainai"}]}
    await ok(await client.post(bureau.url("/students"), json=grandma, headers=owner), 201)
    await bureau.refresh()
    report = HealthReport(bureau, await make_form(db, bureau.org.id, bureau.org.owner.id, health()), 0)
    for who, external_id in STAFF.items():
        report.people[who] = await bureau.staff(external_id)
    for who, phone in GUARDIANS.items():
        report.people[who] = await bureau.guardian(phone)
    for who, unit, role in (("health officer", "S0101", "health_officer"), ("subject teacher", "S0101-G6C1", "subject_teacher")):
        person = await join(db, bureau.org.id, "member", who.title())
        await ok(await client.post(bureau.url(f"/units/{bureau.units[unit]}/roles"), json={"user_id": person.id, "role": role}, headers=owner), 201)
        report.people[who], report.user_ids[who] = person.headers, person.id
    sent = await send_to_children(client, report, owner, audience or {"everyone": True})
    report.round_id = (await ok(sent, 201))["id"]
    return report
