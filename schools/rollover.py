"""The school year's rollover: classes move up a grade, the last grade graduates, transfers keep their guardians.

It runs as a job (schools/jobs.py: 202, then polled; one job at a time per
organisation), and at most once per school and school year: the label of the
year that ends. For each school at or under the unit it is run on, in one
transaction per school:

* the school's ``school_rollovers`` row of that label is inserted first (a
  unique key of school and label): if it is there already, the school rolled
  over for that year, by this job's predecessor or a concurrent one, and is
  left alone and reported (``already``); the row commits with the school's
  changes, so a school is rolled over completely or not at all, and a job
  stopped half way is run again to finish the schools it had not reached;

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

Transfers come after the schools (they set a class, so running them twice is
harmless). Groups of the classes that changed follow their rosters (graduates' guardians leave).
A class without a level is left where it is and reported.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from sqlalchemy import delete, select, update

from server.db import Database, Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import Conflict, InvalidInput
from server.orgs.departments import do_create_department, do_update_department
from server.orgs.models import Department
from schools.outsiders import do_revoke_childless_guardians
from schools.class_groups import do_follow_rosters
from schools.models import ROLLOVER_LABEL_MAX as LABEL_MAX, SchoolRollover, SchoolUnit, Student, UnitRole
from schools.scope import Scope
from schools.students import class_in_scope, student_in_scope

_NUMBER = re.compile(r"\d+")


@dataclass
class SchoolCounts:
    """What a rollover did in one school, or (summed) in all of them."""

    promoted: int = 0  # classes moved up a level
    graduated_classes: int = 0
    graduated_students: int = 0
    grades_made: int = 0
    unlevelled: list[int] = field(default_factory=list)  # classes without a level, left where they are
    blocked: list[int] = field(default_factory=list)  # classes whose next grade has a class of their name already, left where they are

    def add(self, other: SchoolCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class RolloverReport(SchoolCounts):
    """The job's report (schools/jobs.py): its progress is in schools."""

    label: str = ""
    schools_total: int = 0
    schools: int = 0  # rolled over by this run
    already: list[int] = field(default_factory=list)  # schools rolled over for this label before: left alone
    transferred: int = 0

    @property
    def rows_total(self) -> int:
        return self.schools_total

    @property
    def rows_done(self) -> int:
        return self.schools + len(self.already)

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Transfer:
    student_id: int
    class_id: int


@dataclass(frozen=True)
class CheckedTransfer:
    student_id: int
    class_id: int
    old_class_id: int | None


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


async def check_transfers(tx: Transaction, scope: Scope, transfers: list[Transfer]) -> list[CheckedTransfer]:
    """The transfers, each of a child and to a class whose rosters the caller may change (404/400 naming the field otherwise)."""
    checked = []
    for index, transfer in enumerate(transfers):
        student, _ = await student_in_scope(tx, scope, transfer.student_id, "roster")
        await class_in_scope(tx, scope, transfer.class_id, "roster", field=f"transfers.{index}.class_id")
        checked.append(CheckedTransfer(student.id, transfer.class_id, student.class_id))
    return checked


async def do_rollover(
    db: Database, org_id: int, unit_path: str, *, label: str, final_level: int | None, transfers: list[CheckedTransfer],
    job_id: int | None = None, on_progress=None,
) -> RolloverReport:
    """Roll every school at or under ``unit_path`` over for the year ``label`` (those that were not already), then make the
    transfers; ``on_progress(report)`` after each school."""
    report = RolloverReport(label=check_label(label))
    async with db.transaction(org_id=org_id) as tx:
        schools = await schools_under(tx, unit_path)
    report.schools_total = len(schools)
    for school_id, school_path in schools:
        async with db.transaction(org_id=org_id) as tx:
            claim = await _claim(tx, school_id, report.label, job_id)
            if claim is None:
                report.already.append(school_id)
            else:
                counts = SchoolCounts()
                await _roll_school(tx, school_id, school_path, label=report.label, final_level=final_level, report=counts,
                                   staying={t.student_id for t in transfers})
                await tx.session.execute(
                    update(SchoolRollover).where(SchoolRollover.id == claim).values(counts=asdict(counts)).execution_options(synchronize_session=False)
                )
                report.add(counts)
                report.schools += 1
        if on_progress is not None:
            await on_progress(report)
    if transfers:
        async with db.transaction(org_id=org_id) as tx:
            touched = set()
            for transfer in transfers:
                await tx.session.execute(
                    update(Student).where(Student.id == transfer.student_id)
                    .values(class_id=transfer.class_id, archived_at=None, archived_reason=None, updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
                touched |= {transfer.class_id, transfer.old_class_id}
            await do_follow_rosters(tx, [c for c in touched if c is not None], strict=False)
        report.transferred = len(transfers)
    return report


async def _claim(tx: Transaction, school_id: int, label: str, job_id: int | None) -> int | None:
    """The school's new rollover row for ``label``, or None if it has one: it rolled over for that year already.
    A concurrent claim of the same school and label waits for the first's transaction, then finds it."""
    return await tx.session.scalar(
        insert_for(tx.dialect, SchoolRollover)
        .values(org_id=tx.org_id, school_id=school_id, label=label, job_id=job_id, counts={}, done_at=utcnow())
        .on_conflict_do_nothing(index_elements=["school_id", "label"])
        .returning(SchoolRollover.id)
    )


async def _roll_school(tx: Transaction, school_id: int, school_path: str, *, label: str, final_level: int | None, report: SchoolCounts,
                       staying: set[int]) -> None:
    """Graduate and promote the school's classes; guardians left with no child on the roll are revoked, but for the
    children a transfer brings back (``staying``)."""
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
    graduated: list[int] = []
    for unit, department in sorted(classes, key=lambda c: -(c[0].level or 0)):
        if unit.level is None or final is None:
            report.unlevelled.append(department.id)
            continue
        touched.append(department.id)
        if unit.level >= final:
            await _graduate(tx, unit, department, label)
            report.graduated_classes += 1
            children = await _archive_children(tx, department.id)
            report.graduated_students += len(children)
            graduated += children
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
    await do_revoke_childless_guardians(tx, [i for i in graduated if i not in staying])


async def _graduate(tx: Transaction, unit: SchoolUnit, department: Department, label: str) -> None:
    unit.archived_at = utcnow()
    name = f"{department.name} ({label})"
    taken = await tx.session.scalar(select(Department.id).where(Department.parent_id == department.parent_id, Department.name == name))
    await do_update_department(tx, department.id, name=name if taken is None else f"{name} {department.id}")
    await tx.session.execute(delete(UnitRole).where(UnitRole.unit_id == department.id).execution_options(synchronize_session=False))


async def _archive_children(tx: Transaction, class_id: int) -> list[int]:
    """The class's children on the roll archived as graduated; their ids."""
    on_roll = (Student.class_id == class_id, Student.archived_at.is_(None))
    ids = list(await tx.session.scalars(select(Student.id).where(*on_roll)))
    await tx.session.execute(
        update(Student).where(*on_roll).values(archived_at=utcnow(), archived_reason="graduated", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return ids


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
