"""What schools hold about a member: their scoped roles, and, if they are also a guardian, that record and their children.

Erasing deletes their roles. A guardian record is the school's record of a
child's family: it stays (a teacher still needs to reach that family), but
without the account, which no longer reaches the organisation through it.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Transaction
from server.orgs.models import Department
from server.personal_data.parts import PersonalDataPart
from schools.models import Guardian, Student, StudentGuardian, UnitRole


async def export_schools(tx: Transaction, user_id: int) -> dict:
    roles = await tx.session.execute(
        select(UnitRole.role, UnitRole.subject, Department.name).join(Department, Department.id == UnitRole.unit_id)
        .where(UnitRole.user_id == user_id).order_by(UnitRole.id)
    )
    guardians = (await tx.session.scalars(select(Guardian).where(Guardian.user_id == user_id).order_by(Guardian.id))).all()
    children = (await tx.session.execute(
        select(StudentGuardian.guardian_id, Student.name, StudentGuardian.relation)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(StudentGuardian.guardian_id.in_([g.id for g in guardians])).order_by(Student.id)
    )).all() if guardians else []
    return {
        "roles": [{"unit": unit, "role": role, "subject": subject} for role, subject, unit in roles],
        "guardian_of": [
            {"name": g.name, "phone": g.phone, "children": [{"name": name, "relation": relation} for gid, name, relation in children if gid == g.id]}
            for g in guardians
        ],
    }


async def erase_schools(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    roles = await tx.session.execute(delete(UnitRole).where(UnitRole.user_id == user_id).execution_options(synchronize_session=False))
    guardians = await tx.session.execute(
        update(Guardian).where(Guardian.user_id == user_id).values(user_id=None).execution_options(synchronize_session=False)
    )
    return {"roles": roles.rowcount, "guardian_accounts_detached": guardians.rowcount}


PART = PersonalDataPart("schools", export_schools, erase_schools)
