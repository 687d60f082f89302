"""Scoped roles: who holds which role on which unit (the staff of the hierarchy).

Only members of the organisation hold roles; a role fits some kinds of unit
(``ROLE_UNIT_KINDS``: school admins on schools, head and subject teachers on
classes, health officers on a school, a district or the bureau...). A teacher's role on a class puts them in its group (schools/class_groups.py).
"""
from __future__ import annotations

from sqlalchemy import select

from server.db import Transaction
from server.db.upsert import insert_for
from server.errors import InvalidInput, NotFound
from server.orgs.models import Department, Membership
from schools.class_groups import do_follow_rosters
from schools.models import ROLE_UNIT_KINDS, SUBJECT_MAX, UNIT_ROLES, SchoolUnit, UnitRole
from schools.paging import cut_page


def check_role(role: str, unit_kind: str, field: str = "role") -> str:
    role = role.strip().lower()
    if role not in UNIT_ROLES:
        raise InvalidInput("a role is one of {roles}, not '{role}'", field=field, roles=", ".join(UNIT_ROLES), role=role[:40])
    if unit_kind not in ROLE_UNIT_KINDS[role]:
        raise InvalidInput("a {role} is held on a {kind}, not a {unit_kind}", field=field, role=role, kind=" / ".join(ROLE_UNIT_KINDS[role]),
                           unit_kind=unit_kind)
    return role


def check_subject(subject: str | None, field: str = "subject") -> str:
    subject = (subject or "").strip()
    if len(subject) > SUBJECT_MAX:
        raise InvalidInput("a subject is at most {subject_max} characters", field=field, subject_max=SUBJECT_MAX)
    return subject


async def do_assign_role(tx: Transaction, unit: SchoolUnit, *, user_id: int, role: str, subject: str | None) -> UnitRole:
    """``user_id`` (a member) holds ``role`` on ``unit``; given again, only the subject changes."""
    role = check_role(role, unit.kind)
    subject = check_subject(subject)
    if await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id)) is None:
        raise InvalidInput("{user_id} is not a member of this organisation", field="user_id", user_id=user_id)
    await tx.session.execute(
        insert_for(tx.dialect, UnitRole)
        .values(org_id=tx.org_id, unit_id=unit.department_id, user_id=user_id, role=role, subject=subject)
        .on_conflict_do_update(index_elements=["unit_id", "user_id", "role"], set_={"subject": subject})
    )
    held = await tx.session.scalar(
        select(UnitRole).where(UnitRole.unit_id == unit.department_id, UnitRole.user_id == user_id, UnitRole.role == role)
        .execution_options(populate_existing=True)
    )
    if unit.kind == "class":
        await do_follow_rosters(tx, [unit.department_id])
    return held


async def do_remove_role(tx: Transaction, unit: SchoolUnit, role_id: int) -> None:
    held = await tx.session.scalar(select(UnitRole).where(UnitRole.id == role_id, UnitRole.unit_id == unit.department_id))
    if held is None:
        raise NotFound("no such role on this unit")
    await tx.session.delete(held)
    await tx.session.flush()
    if unit.kind == "class":
        await do_follow_rosters(tx, [unit.department_id])


async def list_staff(tx: Transaction, department: Department, *, after_id: int, limit: int) -> tuple[list, int | None]:
    """Roles held at and under the unit, with who holds them and where: ``(UnitRole, name, unit name)``."""
    rows = (await tx.session.execute(
        select(UnitRole, Membership.display_name, Department.name)
        .join(Department, Department.id == UnitRole.unit_id)
        .join(Membership, Membership.user_id == UnitRole.user_id)
        .where(Department.path.startswith(department.path), UnitRole.id > after_id)
        .order_by(UnitRole.id).limit(limit + 1)
    )).all()
    return cut_page(rows, limit, lambda row: row[0].id)
