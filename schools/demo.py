"""The demo's school side: Riverside Education Bureau → Riverside District → Riverside Primary School → Grade 1 →
Class 1A, with six children and their guardians, the demo teacher (Tom Becker) its head teacher, and its class group.

Guardians with a phone sign in with it (the bureau's organisation offers phone sign-in once its bureau is made);
Li Haoran's father has no phone on file: Tom prints his class's family link cards at /schools/family-links (the
"Family links" place) for families like his.

The units and children are seeded through the import itself (the format of schools/samples/), so it is
idempotent by external ids like any import: ``muster demo`` can run every time. The demo teacher keeps
his place in the directory (School/Class 1A): he is given his roles, not imported.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import select

from server.accounts.auth import Principal
from server.config import Settings
from server.db import Database
from server.orgs.access import OrgContext
from server.orgs.imports.limits import ImportLimits
from server.orgs.models import Department, Membership
from schools.class_groups import class_group_name, do_make_class_group
from schools.imports.run import do_import_hierarchy
from schools.models import SchoolUnit
from schools.roles import do_assign_role

TEACHER = "teacher@riverside.example"
UNITS = """external_id,kind,name,parent,level
RIVERSIDE-BUREAU,bureau,Riverside Education Bureau,,
RIVERSIDE-D1,district,Riverside District,,
RIVERSIDE-PS,school,Riverside Primary School,RIVERSIDE-D1,
RIVERSIDE-PS-G1,grade,Grade 1,RIVERSIDE-PS,1
RIVERSIDE-PS-G1A,class,Class 1A,RIVERSIDE-PS-G1,
RIVERSIDE-PS-G1B,class,Class 1B,RIVERSIDE-PS-G1,
"""
STUDENTS = """external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation,guardian2_name,guardian2_phone,guardian2_relation
DEMO-P1,Chen Xiaoyu,RIVERSIDE-PS-G1A,Chen Hong,+8613700000001,mother,Chen Gang,+8613700000002,father
DEMO-P2,Li Haoran,RIVERSIDE-PS-G1A,Li Na,+8613700000003,mother,Li Ming,,father
DEMO-P3,Zhang Yutong,RIVERSIDE-PS-G1A,Zhang Wei,+8613700000004,father,Zhao Min,+8613700000005,grandmother
DEMO-P4,Emma Wilson,RIVERSIDE-PS-G1A,Sarah Wilson,+8613700000006,mother,,,
DEMO-P5,Liu Zimo,RIVERSIDE-PS-G1B,Liu Fang,+8613700000007,mother,,,
DEMO-P6,Chen Xiaolei,RIVERSIDE-PS-G1B,Chen Hong,+8613700000001,mother,Chen Gang,+8613700000002,father
"""


async def seed_demo(db: Database, demo, settings: Settings) -> None:
    with tempfile.TemporaryDirectory(prefix="muster-demo-schools-") as folder:
        files = []
        for name, text in (("units.csv", UNITS), ("students.csv", STUDENTS)):
            (Path(folder) / name).write_text(text, encoding="utf-8")
            files.append((name, Path(folder) / name))
        await do_import_hierarchy(db, demo.org_id, files, region=settings.default_phone_region, limits=ImportLimits())
    async with db.transaction(org_id=demo.org_id) as tx:
        teacher = await tx.session.scalar(select(Membership).where(Membership.email == TEACHER))
        units = dict((await tx.session.execute(select(SchoolUnit.external_id, SchoolUnit))).all())
        await do_assign_role(tx, units["RIVERSIDE-PS-G1A"], user_id=teacher.user_id, role="head_teacher", subject="")
        await do_assign_role(tx, units["RIVERSIDE-PS-G1B"], user_id=teacher.user_id, role="subject_teacher", subject="Maths")
        department = await tx.session.get(Department, units["RIVERSIDE-PS-G1A"].department_id)
        org = OrgContext(demo.org_id, Principal(teacher.user_id, 0, teacher.display_name), teacher.id, teacher.role)
        await do_make_class_group(tx, org, settings, department.id, await class_group_name(tx, department))
