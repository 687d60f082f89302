"""Students one at a time (the API; the import writes thousands at once, schools/imports/writer.py).

A child is on the roll of one class, or archived: ``departed`` (left, or no longer
in the school's import) or ``graduated`` (by the rollover). Archived children
keep their guardians and history and come back by being restored or imported
again. A transfer to another class, in the same school or another, changes only
the class: the child's guardians stay linked.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from server.db import Transaction, utcnow
from server.errors import Conflict, InvalidInput, NotFound
from server.orgs.member_fields import clean_display_name
from server.orgs.models import Department
from schools.class_groups import do_follow_rosters
from schools.guardians import GuardianEntry, do_ensure_guardians, do_link
from schools.models import Guardian, SchoolUnit, Student, StudentGuardian
from schools.outsiders import do_revoke_childless_guardians, do_revoke_unadmitted
from schools.scope import Scope
from schools.units import check_external_id, external_id_taken


async def check_student_external_id(tx: Transaction, value: str | None, *, other_than: int | None = None) -> str:
    """A present external id no other child has."""
    external_id = check_external_id(value)
    if external_id is None:
        raise InvalidInput("a student needs an external id: it is how a later import finds them again", field="external_id")
    if await external_id_taken(tx, Student.id, external_id, other_than=other_than):
        raise Conflict("a student has the external id '{external_id}' already", field="external_id", external_id=external_id)
    return external_id


async def student_in_scope(tx: Transaction, scope: Scope, student_id: int, need: str = "read") -> tuple[Student, str | None]:
    """The student and their class's path; 404 outside the caller's reach, 403 if they may only read."""
    row = (await tx.session.execute(
        select(Student, Department.path).outerjoin(Department, Department.id == Student.class_id).where(Student.id == student_id)
    )).first()
    if row is None:
        raise NotFound("no such student")
    scope.require(row[1], need, "no such student")
    return row[0], row[1]


async def class_in_scope(tx: Transaction, scope: Scope, class_id: int, need: str, field: str = "class_id") -> Department:
    """A class the caller may put children in; a unit they cannot see, or that is no class, is bad input naming ``field``."""
    row = (await tx.session.execute(
        select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id).where(SchoolUnit.department_id == class_id)
    )).first()
    if row is None or row[0].kind != "class" or not scope.reaches(row[1].path):
        raise InvalidInput("no class {class_id} that you can see", field=field, class_id=class_id)
    if row[0].archived_at is not None:
        raise InvalidInput("class {class_id} has graduated; pick a class on the roll", field=field, class_id=class_id)
    scope.require(row[1].path, need, "no such unit")
    return row[1]


async def do_add_guardians(tx: Transaction, student: Student, guardians: Sequence[GuardianEntry]) -> None:
    keys = {g.match_key(student.external_id): (g.name, g.phone) for g in guardians}
    ids, _ = await do_ensure_guardians(tx, keys)
    await do_link(tx, [(student.id, ids[g.match_key(student.external_id)], g.relation) for g in guardians])


async def do_create_student(tx: Transaction, *, external_id: str, name: str, class_id: int, guardians: Sequence[GuardianEntry]) -> Student:
    external_id = await check_student_external_id(tx, external_id)
    student = Student(org_id=tx.org_id, external_id=external_id, name=clean_display_name(name, field="name"), class_id=class_id)
    tx.session.add(student)
    await tx.session.flush()
    await do_add_guardians(tx, student, guardians)
    await do_follow_rosters(tx, [class_id])
    return student


async def do_update_student(
    tx: Transaction, student: Student, *, name: str | None = None, external_id: str | None = None, class_id: int | None = None,
    archived: bool | None = None,
) -> Student:
    """Rename, re-number, transfer (``class_id``: guardians stay) or archive/restore one child."""
    touched = {student.class_id}
    if name is not None:
        student.name = clean_display_name(name, field="name")
    if external_id is not None:
        student.external_id = await check_student_external_id(tx, external_id, other_than=student.id)
    if class_id is not None:
        student.class_id = class_id
        touched.add(class_id)
    if archived is not None and archived != (student.archived_at is not None):
        student.archived_at = utcnow() if archived else None
        student.archived_reason = "departed" if archived else None
    student.updated_at = utcnow()
    await tx.session.flush()
    await do_follow_rosters(tx, [c for c in touched if c is not None])
    if archived:
        await do_revoke_childless_guardians(tx, [student.id])
    return student


async def do_unlink_guardian(tx: Transaction, student: Student, guardian_id: int) -> None:
    """Undo one link; a guardian it leaves with no child on the roll is revoked from the organisation at once, as when
    their last child is archived (schools/outsiders.py)."""
    user_id = await tx.session.scalar(
        select(Guardian.user_id).join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .where(StudentGuardian.student_id == student.id, StudentGuardian.guardian_id == guardian_id)
    )
    result = await tx.session.execute(
        delete(StudentGuardian).where(StudentGuardian.student_id == student.id, StudentGuardian.guardian_id == guardian_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise NotFound("no such guardian of this student")
    if student.class_id is not None:
        await do_follow_rosters(tx, [student.class_id])
    if user_id is not None and student.archived_at is None:
        await do_revoke_unadmitted(tx, [user_id])
