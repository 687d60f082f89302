"""The demo's school side: Riverside Education Bureau → Riverside District → Riverside Primary School → Grade 1 →
Class 1A, with six children and their guardians, the demo teacher (Tom Becker) its head teacher, and its class group;
and the school's daily health report, which the families answer: a recurrence every working day at 07:30, and
today's round, open from the moment the demo starts, which the teacher follows on his dashboard.

Guardians with a phone sign in with it (the bureau's organisation offers phone sign-in once its bureau is made);
Li Haoran's father has no phone on file: Tom prints his class's family link cards at /schools/family-links (the
"Family links" place) for families like his.

The units and children are seeded through the import itself (the format of schools/samples/), so it is
idempotent by external ids like any import: ``muster demo`` can run every time. The demo teacher keeps
his place in the directory (School/Class 1A): he is given his roles, not imported. The health report is
made once; a round is sent again only when none of it is open.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from sqlalchemy import select

from server.accounts.auth import Principal
from server.audiences.expand import Audience
from server.config import Settings
from server.db import Database, utcnow
from server.forms.calendar import org_time_zone
from server.forms.definition import FormDefinition
from server.forms.editing import do_create_form
from server.forms.models import Form, FormRound, RoundSchedule
from server.forms.rounds import do_create_round, do_create_schedule, do_open_if_due
from server.orgs.access import OrgContext
from server.orgs.imports.limits import ImportLimits
from server.orgs.models import Department, Membership
from schools.class_groups import class_group_name, do_make_class_group
from schools.imports.run import do_import_hierarchy
from schools.models import SchoolUnit
from schools.respondents import STUDENT
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
HEALTH_REPORT = "Daily health report"
HEALTH_FIELDS = {"fields": [
    {"name": "temperature", "type": "temperature", "label": "Temperature (°C)", "required": True, "min": 35, "max": 42,
     "abnormal": {"op": "ge", "value": 37.3}},
    {"name": "symptoms", "type": "yes_no", "label": "Any symptoms (cough, sore throat, rash)?", "required": True,
     "abnormal": {"op": "eq", "value": True}},
    {"name": "which", "type": "multiple_choice", "label": "Which?", "required": True, "relevant": {"field": "symptoms", "op": "eq", "value": True},
     "choices": [{"value": "cough", "label": "Cough"}, {"value": "sore_throat", "label": "Sore throat"}, {"value": "rash", "label": "Rash"},
                 {"value": "other", "label": "Something else"}]},
    {"name": "at_school", "type": "yes_no", "label": "Coming to school today?", "required": True},
    {"name": "note", "type": "text", "label": "Anything the teacher should know", "max_length": 500},
]}


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
    await _seed_health_report(db, demo.org_id, units["RIVERSIDE-PS"].department_id)


async def _seed_health_report(db: Database, org_id: int, school_id: int) -> None:
    """The school's families' daily health report, sent by the organisation's owner: the form and its recurrence once,
    and a round open now unless one is."""
    async with db.transaction(org_id=org_id) as tx:
        owner = await tx.session.scalar(select(Membership).where(Membership.role == "owner").order_by(Membership.id).limit(1))
        org = OrgContext(org_id, Principal(owner.user_id, 0, owner.display_name), owner.id, owner.role)
        form = await tx.session.scalar(select(Form).where(Form.title == HEALTH_REPORT))
        if form is None:
            form, _ = await do_create_form(tx, org, title=HEALTH_REPORT, definition=FormDefinition.model_validate(HEALTH_FIELDS))
        families = Audience({"departments": [school_id]})
        if await tx.session.scalar(select(RoundSchedule.id).where(RoundSchedule.form_id == form.id)) is None:
            today = utcnow().astimezone(await org_time_zone(tx)).date()
            await do_create_schedule(tx, org, form, audience=families, kind=STUDENT, days="working_days", open_minute=7 * 60 + 30,
                                     open_minutes=10 * 60, remind_after=[90], starts_on=today + dt.timedelta(days=1), ends_on=None)
        now = utcnow()
        if await tx.session.scalar(select(FormRound.id).where(FormRound.form_id == form.id, FormRound.closes_at > now)) is not None:
            return
        round_ = await do_create_round(tx, form, created_by=owner.user_id, audience=families, kind=STUDENT, opens_at=now,
                                       closes_at=now + dt.timedelta(hours=12))
    await do_open_if_due(db, round_)
