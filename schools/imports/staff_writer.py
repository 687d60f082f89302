"""Writing the staff table: memberships as the member import writes them, then each person's scoped roles.

Staff are members of the organisation in the department of the unit they work
in (server/orgs/imports/writer.py writes them: a new account, or an existing
account invited to consent; an organisation role is never changed by this
import). Their scoped roles then become what their row says: a bureau, district
or school administrator's role on their unit, a teacher's head and subject
roles on the classes listed; roles they held that the row no longer lists end
(but those a row cannot give, a health officer's: they are given one by one).
Someone invited (an existing account of another organisation) gets their roles
once they accept and the file is imported again.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select, tuple_

from server.i18n import _
from server.db import Database, Transaction, utcnow
from server.db.batches import write_or_split
from server.db.one_of import batch_one_of
from server.db.upsert import insert_rows
from server.orgs.imports.rows import ImportRow
from server.orgs.imports.writer import BatchOutcome, write_rows
from server.orgs.models import Membership
from schools.imports.index import UnitIndex, UnitInfo
from schools.imports.report import ImportReport, RowProblem
from schools.imports.rows import STAFF_UNIT_KIND, StaffRow
from schools.models import IMPORTED_ROLES, UnitRole

BATCH = 1000
MEMBER_COLUMNS = {"phone": "phone", "email": "email", "title": "title", "unit": "department"}  # staff column → member import column


@dataclass
class Written:
    members: BatchOutcome
    touched_classes: set[int] = field(default_factory=set)


def check_places(row: StaffRow, index: UnitIndex) -> tuple[str, str, dict] | None:
    """Why the row's unit or classes cannot be what it says, or None."""
    unit = index.bureau if row.unit is None else index.by_external.get(row.unit)
    if unit is None:
        return ("unit", _("no unit with the external id '{unit}' in the file or already imported"), {"unit": row.unit or ""})
    if unit.kind != STAFF_UNIT_KIND[row.role]:
        return ("unit", _("a {role} works in a {kind}; '{unit}' is a {unit_kind}"),
                {"role": row.role, "kind": STAFF_UNIT_KIND[row.role], "unit": row.unit or "", "unit_kind": unit.kind})
    for column, classes in (("head_teacher_of", row.head_teacher_of), ("subject_teacher_of", row.subject_teacher_of)):
        for external_id in classes:
            found = index.by_external.get(external_id)
            if found is None or found.kind != "class" or found.archived:
                return (column, _("no class with the external id '{external_id}' on the roll"), {"external_id": external_id})
    return None


def _roles(row: StaffRow, index: UnitIndex) -> set[tuple[int, str, str]]:
    """``(unit id, role, subject)`` the row gives."""
    if row.role != "teacher":
        unit: UnitInfo = index.bureau if row.unit is None else index.by_external[row.unit]
        return {(unit.id, row.role, "")}
    return {(index.by_external[c].id, "head_teacher", "") for c in row.head_teacher_of} | {
        (index.by_external[c].id, "subject_teacher", row.subject) for c in row.subject_teacher_of
    }


async def do_import_staff(
    db: Database, org_id: int, source: str, columns: list[str], rows: Sequence[StaffRow], index: UnitIndex, report: ImportReport,
) -> set[int]:
    """Write one batch of checked rows; returns the classes whose teachers changed."""
    ready = []
    for row in rows:
        problem = check_places(row, index)
        if problem is None:
            ready.append(row)
        else:
            report.fail(RowProblem(source, row.number, problem[0], problem[1], problem[2]))
    member_columns = frozenset(MEMBER_COLUMNS[c] for c in columns if c in MEMBER_COLUMNS) | {"department"}
    results, refused = await write_or_split(db, org_id, ready, lambda tx, part: _write(tx, part, index, member_columns))
    touched: set[int] = set()
    for written in results:
        report.count("staff_created", written.members.created)
        report.count("staff_updated", written.members.updated)
        report.count("staff_invited", written.members.invited)
        for error in written.members.errors:
            report.fail(RowProblem(source, error.row, error.field, error.message, error.params))
        touched |= written.touched_classes
    for row, reason in refused:
        report.fail(RowProblem(source, row.number, None, reason))
    return touched


async def _write(tx: Transaction, rows: Sequence[StaffRow], index: UnitIndex, columns: frozenset[str]) -> Written:
    department_ids = {("unit", r.unit): (index.bureau if r.unit is None else index.by_external[r.unit]).id for r in rows}
    members = [
        ImportRow(number=r.number, external_id=r.external_id, name=r.name, email=r.email, phone=r.phone,
                  department=("unit", r.unit), title=r.title, role="member")
        for r in rows
    ]
    outcome = await write_rows(tx, members, columns, department_ids)
    failed = {error.row for error in outcome.errors}
    users = dict((await tx.session.execute(
        select(Membership.external_id, Membership.user_id).where(batch_one_of(tx, Membership.external_id, [r.external_id for r in rows]))
    )).all())
    wanted = {users[r.external_id]: _roles(r, index) for r in rows if r.external_id in users and r.number not in failed}
    if not wanted:
        return Written(outcome)
    held = (await tx.session.execute(
        select(UnitRole.user_id, UnitRole.unit_id, UnitRole.role, UnitRole.subject).where(batch_one_of(tx, UnitRole.user_id, list(wanted)))
    )).all()
    touched = set()
    gone = [(user_id, unit_id, role) for user_id, unit_id, role, subject in held
            if role in IMPORTED_ROLES and (unit_id, role, subject) not in wanted[user_id]]
    if gone:
        await tx.session.execute(
            delete(UnitRole).where(tuple_(UnitRole.user_id, UnitRole.unit_id, UnitRole.role).in_(gone)).execution_options(synchronize_session=False)
        )
        touched |= {unit_id for _, unit_id, _ in gone}
    have = {(user_id, unit_id, role, subject) for user_id, unit_id, role, subject in held}
    new = [(user_id, unit_id, role, subject) for user_id, roles in wanted.items() for unit_id, role, subject in roles
           if (user_id, unit_id, role, subject) not in have]
    if new:
        table = UnitRole.__table__
        columns_ = {"user_id": [n[0] for n in new], "unit_id": [n[1] for n in new], "role": [n[2] for n in new], "subject": [n[3] for n in new]}
        statement, parameters = insert_rows(tx, table, columns_, {"org_id": tx.org_id, "created_at": utcnow()})
        await tx.session.execute(statement, parameters)
        touched |= {n[1] for n in new}
    return Written(outcome, {unit_id for unit_id in touched if index.by_id.get(unit_id) and index.by_id[unit_id].kind == "class"})
