"""The school year's rollover: classes move up a grade, the last grade graduates, transfers keep their guardians.

For each school at or under the unit it is run on, in one transaction per school:

* its final level is ``final_level`` if given, else the highest level of its grades
  (grades stay from year to year, so an empty final grade still counts), else of its classes;
* from the top down, a class of the final level graduates: its children are archived
  (``graduated``), the class is archived and renamed "<name> (<label>)" so next
  year's class of that name has its place, and its teachers' roles end;
* every other class moves to the grade one level up in the same school (made if
  missing, named like its sibling with the number changed) and takes its level;
  a class right under its school only takes the next level. Its children,
  guardians, teachers and group go with it;
* transfers (a child to another class, in this school or another; classes keep
  their ids through the rollover) change the child's class only: their guardians stay.

It is not idempotent: run twice, classes move up twice.

Groups of the classes that changed follow their rosters (graduates' guardians leave).
A class without a level is left where it is and reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update

from server.db import Database, Transaction, utcnow
from server.errors import Conflict, InvalidInput
from server.orgs.departments import do_create_department, do_update_department
from server.orgs.models import Department
from schools.class_groups import do_follow_rosters
from schools.models import SchoolUnit, Student, UnitRole
from schools.scope import Scope
from schools.students import class_in_scope, student_in_scope

LABEL_MAX = 40
_NUMBER = re.compile(r"\d+")


@dataclass
class RolloverReport:
    schools: int = 0
    promoted: int = 0  # classes moved up a level
    graduated_classes: int = 0
    graduated_students: int = 0
    transferred: int = 0
    grades_made: int = 0
    unlevelled: list[int] = field(default_factory=list)  # classes without a level, left where they are
    blocked: list[int] = field(default_factory=list)  # classes whose next grade has a class of their name already, left where they are


@dataclass(frozen=True)
class Transfer:
    student_id: int
    class_id: int


def check_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > LABEL_MAX or "/" in label:
        raise InvalidInput("the label names the school year that ends ('2024-2025'), at most {label_max} characters, no '/'",
                           field="label", label_max=LABEL_MAX)
    return label


async def schools_under(tx: Transaction, path: str) -> list[tuple[int, str]]:
    rows = await tx.session.execute(
        select(Department.id, Department.path).join(SchoolUnit, SchoolUnit.department_id == Department.id)
        .where(SchoolUnit.kind == "school", Department.path.startswith(path)).order_by(Department.id)
    )
    return [tuple(row) for row in rows]


async def do_rollover(
    db: Database, org_id: int, scope: Scope, unit_path: str, *, label: str, final_level: int | None, transfers: list[Transfer],
) -> RolloverReport:
    label = check_label(label)
    report = RolloverReport()
    async with db.transaction(org_id=org_id) as tx:
        checked = [await _check_transfer(tx, scope, t, i) for i, t in enumerate(transfers)]
        schools = await schools_under(tx, unit_path)
    for school_id, school_path in schools:
        async with db.transaction(org_id=org_id) as tx:
            await _roll_school(tx, school_id, school_path, label=label, final_level=final_level, report=report)
        report.schools += 1
    if checked:
        async with db.transaction(org_id=org_id) as tx:
            touched = set()
            for student_id, class_id, old_class in checked:
                await tx.session.execute(
                    update(Student).where(Student.id == student_id)
                    .values(class_id=class_id, archived_at=None, archived_reason=None, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                touched |= {class_id, old_class}
            await do_follow_rosters(tx, [c for c in touched if c is not None], strict=False)
        report.transferred = len(checked)
    return report


async def _check_transfer(tx: Transaction, scope: Scope, transfer: Transfer, index: int) -> tuple[int, int, int | None]:
    student, _ = await student_in_scope(tx, scope, transfer.student_id, "roster")
    await class_in_scope(tx, scope, transfer.class_id, "roster", field=f"transfers.{index}.class_id")
    return student.id, transfer.class_id, student.class_id


async def _roll_school(tx: Transaction, school_id: int, school_path: str, *, label: str, final_level: int | None, report: RolloverReport) -> None:
    units = (await tx.session.execute(
        select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id)
        .where(Department.path.startswith(school_path), SchoolUnit.kind.in_(("grade", "class")))
    )).all()
    grades = {department.id: (unit, department) for unit, department in units if unit.kind == "grade"}
    classes = [(unit, department) for unit, department in units if unit.kind == "class" and unit.archived_at is None]
    levels = [unit.level for unit, _ in grades.values() if unit.level] or [unit.level for unit, _ in classes if unit.level]
    final = final_level or (max(levels) if levels else None)
    grade_at = {unit.level: department for unit, department in grades.values() if unit.level and department.parent_id == school_id}
    touched: list[int] = []
    for unit, department in sorted(classes, key=lambda c: -(c[0].level or 0)):
        if unit.level is None or final is None:
            report.unlevelled.append(department.id)
            continue
        touched.append(department.id)
        if unit.level >= final:
            await _graduate(tx, unit, department, label)
            report.graduated_classes += 1
            report.graduated_students += await _archive_children(tx, department.id)
            continue
        if department.parent_id != school_id:  # in a grade: to the grade one level up
            target = grade_at.get(unit.level + 1)
            if target is None:
                target = grade_at[unit.level + 1] = await _make_grade(tx, school_id, grades, unit.level + 1)
                report.grades_made += 1
            try:
                await do_update_department(tx, department.id, move=True, parent_id=target.id)
            except Conflict:  # refused before anything changed
                report.blocked.append(department.id)
                continue
        unit.level += 1
        report.promoted += 1
    await tx.session.flush()
    await do_follow_rosters(tx, touched, strict=False)


async def _graduate(tx: Transaction, unit: SchoolUnit, department: Department, label: str) -> None:
    unit.archived_at = utcnow()
    name = f"{department.name} ({label})"
    taken = await tx.session.scalar(select(Department.id).where(Department.parent_id == department.parent_id, Department.name == name))
    await do_update_department(tx, department.id, name=name if taken is None else f"{name} {department.id}")
    await tx.session.execute(delete(UnitRole).where(UnitRole.unit_id == department.id).execution_options(synchronize_session=False))


async def _archive_children(tx: Transaction, class_id: int) -> int:
    result = await tx.session.execute(
        update(Student).where(Student.class_id == class_id, Student.archived_at.is_(None))
        .values(archived_at=utcnow(), archived_reason="graduated", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


async def _make_grade(tx: Transaction, school_id: int, grades: dict, level: int) -> Department:
    """A grade of ``level`` named like a sibling with the number changed ("Grade 3" → "Grade 4"); just the number if none has one."""
    sibling = next((d.name for u, d in grades.values() if _NUMBER.search(d.name)), None)
    name = _NUMBER.sub(str(level), sibling, count=1) if sibling else str(level)
    department = await do_create_department(tx, name=name, parent_id=school_id)
    unit = SchoolUnit(org_id=tx.org_id, department_id=department.id, kind="grade", level=level)
    tx.session.add(unit)
    await tx.session.flush()
    grades[department.id] = (unit, department)
    return department
