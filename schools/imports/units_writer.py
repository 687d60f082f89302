"""Writing the units table: parents before children, a wave at a time, each wave in batches of set-based statements.

A unit is found again by its external id: a known one is renamed, moved or
re-levelled if the row says so (its kind never changes by import); a new one
becomes a department (or adopts a department of that name already at that
place) with its ``school_units`` row. A row whose parent is neither in the
file nor already imported fails, and so do its children. The bureau is made
when first needed, named by its row or after the organisation, and the organisation
then offers sign-in by phone (schools/phone_sign_in.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update

from server.i18n import _
from server.db import Database, Transaction, utcnow
from server.db.batches import write_or_split
from server.db.upsert import insert_rows, update_rows
from server.errors import MusterError
from server.orgs.departments import MAX_DEPTH, depth, do_create_department, do_update_department
from server.orgs.models import Department, Organisation
from schools.imports.index import UnitIndex, UnitInfo
from schools.imports.report import ImportReport, RowProblem
from schools.imports.rows import UnitRow
from schools.models import PARENT_KINDS, SchoolUnit
from schools.phone_sign_in import do_offer_phone_sign_in

BATCH = 2000


@dataclass
class Written:
    infos: list[UnitInfo] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    problems: list[tuple[UnitRow, MusterError]] = field(default_factory=list)


async def do_import_units(db: Database, org_id: int, source: str, rows: list[UnitRow], index: UnitIndex, report: ImportReport) -> None:
    def fail(row: UnitRow, field: str | None, message: str, **params) -> None:
        report.fail(RowProblem(source, row.number, field, message, params))

    seen: dict[str, int] = {}
    pending: list[UnitRow] = []
    for row in rows:
        if row.external_id in seen:
            fail(row, "external_id", _("external_id '{external_id}' is on row {row} already"), external_id=row.external_id, row=seen[row.external_id])
            continue
        seen[row.external_id] = row.number
        known = index.by_external.get(row.external_id)
        if known is not None and known.kind != row.kind:
            fail(row, "kind", _("unit '{external_id}' is a {kind}; an import does not change a unit's kind"), external_id=row.external_id, kind=known.kind)
        elif row.kind == "bureau" and index.bureau is not None and index.bureau.external_id not in (None, row.external_id):
            fail(row, "kind", _("the organisation has its bureau already ('{external_id}')"), external_id=index.bureau.external_id)
        else:
            pending.append(row)
    bureau_rows = [r for r in pending if r.kind == "bureau"]
    for extra in bureau_rows[1:]:
        fail(extra, "kind", _("the organisation has its bureau already ('{external_id}')"), external_id=bureau_rows[0].external_id)
    made = await _ensure_bureau(db, org_id, index, bureau_rows[0] if bureau_rows else None)
    if made is not None:
        report.count(made)
    pending = [r for r in pending if r.kind != "bureau"]

    while pending:
        wave, later = [], []
        for row in pending:
            parent = _parent(row, index)
            (wave if parent is not None else later).append(row)
        if not wave:
            break
        ready = []
        places: set[tuple[int, str]] = set()
        for row in wave:
            parent = _parent(row, index)
            problem = _check_place(row, parent, index)
            place = (parent.id, row.name)
            if problem is None and place in places:
                problem = ("name", _("there is already a department '{name}' there"), {"name": row.name})
            if problem is not None:
                fail(row, problem[0], problem[1], **problem[2])
                continue
            places.add(place)
            ready.append(row)
        for start in range(0, len(ready), BATCH):
            chunk = ready[start:start + BATCH]
            results, refused = await write_or_split(db, org_id, chunk, lambda tx, part: _write(tx, part, index))
            for written in results:
                for info in written.infos:
                    index.add(info)
                report.count("units_created", written.created)
                report.count("units_updated", written.updated)
                for row, error in written.problems:
                    fail(row, error.field, error.msgid, **error.params)
            for row, reason in refused:
                fail(row, None, reason)
        pending = later
    for row in pending:  # their parent never came
        fail(row, "parent", _("no unit with the external id '{parent}' in the file or already imported"), parent=row.parent)


def _parent(row: UnitRow, index: UnitIndex) -> UnitInfo | None:
    return index.bureau if row.parent is None else index.by_external.get(row.parent)


def _check_place(row: UnitRow, parent: UnitInfo, index: UnitIndex) -> tuple[str, str, dict] | None:
    """Why ``row`` cannot go under ``parent``, or None."""
    if parent.kind not in PARENT_KINDS[row.kind]:
        return ("parent", _("a {kind} belongs under a {parents}, not a {parent_kind}"),
                {"kind": row.kind, "parents": " or ".join(PARENT_KINDS[row.kind]), "parent_kind": parent.kind})
    known = index.by_external.get(row.external_id)
    if known is not None and parent.path.startswith(known.path):
        return ("parent", _("a department cannot move under itself or one of its sub-departments"), {})
    if depth(parent.path) >= MAX_DEPTH:
        return ("parent", _("departments nest at most {max_depth} levels deep"), {"max_depth": MAX_DEPTH})
    return None


async def _ensure_bureau(db: Database, org_id: int, index: UnitIndex, row: UnitRow | None) -> str | None:
    """The bureau made (``units_created``) or changed by its row (``units_updated``), or None."""
    async with db.transaction(org_id=org_id) as tx:
        if index.bureau is None:
            name = row.name if row else await tx.session.scalar(select(Organisation.name).where(Organisation.id == org_id))
            department = await tx.session.scalar(select(Department).where(Department.parent_id.is_(None), Department.name == name))
            if department is None:
                department = await do_create_department(tx, name=name[:200].replace("/", " "), parent_id=None)
            tx.session.add(SchoolUnit(org_id=org_id, department_id=department.id, kind="bureau", external_id=row.external_id if row else None))
            await tx.session.flush()
            await do_offer_phone_sign_in(tx, None)
            info = UnitInfo(department.id, "bureau", department.path, None, None, department.name, False, row.external_id if row else None)
            made = "units_created"
        elif row is not None and (row.name != index.bureau.name or row.external_id != index.bureau.external_id):
            department = await do_update_department(tx, index.bureau.id, name=row.name)
            await tx.session.execute(update(SchoolUnit).where(SchoolUnit.department_id == department.id).values(external_id=row.external_id))
            info = UnitInfo(department.id, "bureau", department.path, None, None, department.name, False, row.external_id)
            made = "units_updated"
        else:
            return None
    index.add(info)
    return made


async def _write(tx: Transaction, rows: Sequence[UnitRow], index: UnitIndex) -> Written:
    written = Written()
    known_rows = [r for r in rows if r.external_id in index.by_external]
    for row in known_rows:  # few: a re-import changes a handful of units
        try:
            async with tx.session.begin_nested():
                info = await _update(tx, row, index)
        except MusterError as e:
            written.problems.append((row, e))
            continue
        if info is not None:
            written.infos.append(info)
            written.updated += 1
    new_rows = [r for r in rows if r.external_id not in index.by_external]
    if new_rows:
        await _create(tx, new_rows, index, written)
    return written


async def _update(tx: Transaction, row: UnitRow, index: UnitIndex) -> UnitInfo | None:
    known = index.by_external[row.external_id]
    parent = _parent(row, index)
    level = row.level if row.level is not None or row.kind != "class" else (parent.level if parent.kind == "grade" else known.level)
    if known.name == row.name and known.parent_id == parent.id and known.level == level:
        return None
    department = await do_update_department(tx, known.id, name=row.name, move=known.parent_id != parent.id, parent_id=parent.id)
    await tx.session.execute(update(SchoolUnit).where(SchoolUnit.department_id == known.id).values(level=level))
    return UnitInfo(known.id, known.kind, department.path, level, parent.id, row.name, known.archived, known.external_id)


async def _create(tx: Transaction, rows: Sequence[UnitRow], index: UnitIndex, written: Written) -> None:
    """New units: departments already at their place are adopted (a unit of that name without an external id too);
    the rest are made with one INSERT, their paths with one UPDATE, their unit rows with one INSERT."""
    parents = {row.external_id: _parent(row, index) for row in rows}
    at_places = {
        (parent_id, name): department_id
        for parent_id, name, department_id in await tx.session.execute(
            select(Department.parent_id, Department.name, Department.id).where(Department.parent_id.in_({p.id for p in parents.values()}))
        )
    }
    units_there = {
        department_id: external_id
        for department_id, external_id in await tx.session.execute(
            select(SchoolUnit.department_id, SchoolUnit.external_id).where(SchoolUnit.department_id.in_(set(at_places.values())))
        )
    } if at_places else {}
    adopted: list[tuple[UnitRow, int]] = []
    fresh: list[UnitRow] = []
    for row in rows:
        there = at_places.get((parents[row.external_id].id, row.name))
        if there is None:
            fresh.append(row)
        elif there in units_there:
            if units_there[there] is not None:
                written.problems.append((row, MusterError("there is already a unit '{name}' there (external id '{external_id}')",
                                                          field="name", name=row.name, external_id=units_there[there])))
            else:
                adopted.append((row, there))
        else:
            adopted.append((row, there))
    now = utcnow()
    ids: list[int] = []
    if fresh:
        table = Department.__table__
        columns = {"parent_id": [parents[r.external_id].id for r in fresh], "name": [r.name for r in fresh], "path": [""] * len(fresh)}
        statement, parameters = insert_rows(tx, table, columns, {"org_id": tx.org_id, "created_at": now})
        ids = sorted((await tx.session.scalars(statement.returning(table.c.id), parameters)).all())
        paths = [f"{parents[r.external_id].path}{id_}/" for r, id_ in zip(fresh, ids, strict=True)]
        await tx.session.execute(*update_rows(tx, table, "id", {"id": ids, "path": paths}))
    placed = list(zip(fresh, ids)) + adopted
    if not placed:
        return
    levels = {r.external_id: _level(r, parents[r.external_id]) for r, _ in placed}
    adopted_units = {id_ for _, id_ in adopted if id_ in units_there}
    if adopted_units:
        again = [(r, id_) for r, id_ in adopted if id_ in adopted_units]
        await tx.session.execute(*update_rows(tx, SchoolUnit.__table__, "department_id", {
            "department_id": [id_ for _, id_ in again], "external_id": [r.external_id for r, _ in again], "level": [levels[r.external_id] for r, _ in again],
        }))
    inserted = [(r, id_) for r, id_ in placed if id_ not in adopted_units]
    if inserted:
        table = SchoolUnit.__table__
        columns = {
            "department_id": [id_ for _, id_ in inserted], "kind": [r.kind for r, _ in inserted],
            "external_id": [r.external_id for r, _ in inserted], "level": [levels[r.external_id] for r, _ in inserted],
        }
        statement, parameters = insert_rows(tx, table, columns, {"org_id": tx.org_id, "created_at": now})
        await tx.session.execute(statement, parameters)
    for row, id_ in placed:
        parent = parents[row.external_id]
        written.infos.append(UnitInfo(id_, row.kind, f"{parent.path}{id_}/", levels[row.external_id], parent.id, row.name, False, row.external_id))
    written.created += len(placed)


def _level(row: UnitRow, parent: UnitInfo) -> int | None:
    if row.level is not None or row.kind != "class":
        return row.level
    return parent.level if parent.kind == "grade" else None
