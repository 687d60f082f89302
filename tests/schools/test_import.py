"""Importing the hierarchy: CSV and XLSX, idempotent by external ids, row errors by number, departed children archived."""
from __future__ import annotations

from sqlalchemy import func, select

from schools.models import Guardian, SchoolUnit, Student, StudentGuardian, UnitRole
from server.orgs.models import Department, Membership
from tests.schools.conftest import import_files, new_bureau


async def test_the_samples_import_the_whole_hierarchy(db):
    bureau = await new_bureau(db)
    async with db.transaction(org_id=bureau.org.id) as tx:
        kinds = dict((await tx.session.execute(select(SchoolUnit.kind, func.count()).group_by(SchoolUnit.kind))).all())
        assert kinds == {"bureau": 1, "district": 2, "school": 2, "grade": 3, "class": 4}
        paths = dict((await tx.session.execute(select(Department.name, Department.path).where(Department.id == bureau.units["S0101-G1C1"]))).all())
        assert paths["Class 1"].count("/") == 6  # bureau / district / school / grade / class
        assert await tx.session.scalar(select(func.count()).select_from(Student)) == 5
        # Wang Fang is one guardian of two children in two schools; Huang Gang has no phone and no account.
        wang = await tx.session.scalar(select(Guardian).where(Guardian.phone == "+8613900000001"))
        assert await tx.session.scalar(select(func.count()).where(StudentGuardian.guardian_id == wang.id)) == 2
        assert wang.user_id is not None
        huang = await tx.session.scalar(select(Guardian).where(Guardian.name == "Huang Gang"))
        assert huang.phone is None and huang.user_id is None
        roles = (await tx.session.execute(select(UnitRole.role, func.count()).group_by(UnitRole.role))).all()
        assert dict(roles) == {"bureau_staff": 1, "district_staff": 1, "school_admin": 1, "head_teacher": 4, "subject_teacher": 1}
        teacher = await tx.session.scalar(select(Membership).where(Membership.external_id == "T0004"))
        assert teacher.department_id == bureau.units["S0101"] and teacher.role == "member"


async def test_importing_again_changes_nothing(db):
    bureau = await new_bureau(db)
    report = await import_files(db, bureau.org.id)
    assert report.failed == 0
    assert {k: v for k, v in report.counts.items() if v} == {"staff_updated": 6}  # the member import counts matched rows as updated
