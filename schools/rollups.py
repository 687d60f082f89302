"""Roll-up counts of units: active classes, students on the roll and staff with a role, at and under each unit.

One query per kind of count over the subtree of the listed units' common
ancestor; each row is then credited to every listed unit on its path (a path is
the chain of department ids, so "under unit U" is "U's id is on the path").
Guardians are counted only for one unit at a time (a distinct count: a guardian
of two children is one guardian).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import distinct, func, select

from server.db import Transaction
from server.orgs.models import Department
from schools.models import SchoolUnit, Student, StudentGuardian, UnitRole


@dataclass
class Counts:
    classes: int = 0
    students: int = 0
    staff: int = 0


def common_prefix(paths: Sequence[str]) -> str:
    """The deepest department path every one of ``paths`` is under ('/' for the whole tree)."""
    parts = [p.strip("/").split("/") for p in paths]
    shared: list[str] = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return "/" + "".join(f"{part}/" for part in shared)


async def rollups(tx: Transaction, units: Sequence[tuple[int, str]]) -> dict[int, Counts]:
    """Counts for each ``(unit id, department path)``."""
    counts = {unit_id: Counts() for unit_id, _ in units}
    if not units:
        return counts
    top = common_prefix([path for _, path in units])

    def credit(path: str, attribute: str, amount: int = 1) -> None:
        for part in path.strip("/").split("/"):
            found = counts.get(int(part))
            if found is not None:
                setattr(found, attribute, getattr(found, attribute) + amount)

    under = Department.path.startswith(top)
    classes = await tx.session.execute(
        select(Department.path).join(SchoolUnit, SchoolUnit.department_id == Department.id)
        .where(under, SchoolUnit.kind == "class", SchoolUnit.archived_at.is_(None))
    )
    for (path,) in classes:
        credit(path, "classes")
    students = await tx.session.execute(
        select(Department.path, func.count(Student.id)).join(Department, Department.id == Student.class_id)
        .where(under, Student.archived_at.is_(None)).group_by(Department.path)
    )
    for path, number in students:
        credit(path, "students", number)
    staff: dict[int, set[int]] = {unit_id: set() for unit_id in counts}
    roles = await tx.session.execute(select(Department.path, UnitRole.user_id).join(Department, Department.id == UnitRole.unit_id).where(under))
    for path, user_id in roles:
        for part in path.strip("/").split("/"):
            if int(part) in staff:
                staff[int(part)].add(user_id)
    for unit_id, people in staff.items():
        counts[unit_id].staff = len(people)
    return counts


async def guardian_count(tx: Transaction, path: str) -> int:
    """Distinct guardians of the students on the roll at and under the unit at ``path``."""
    return await tx.session.scalar(
        select(func.count(distinct(StudentGuardian.guardian_id)))
        .join(Student, Student.id == StudentGuardian.student_id)
        .join(Department, Department.id == Student.class_id)
        .where(Department.path.startswith(path), Student.archived_at.is_(None))
    )
