"""Writing the students table: children upserted by external id, their guardians found or made, the links between.

For a batch of rows, in one transaction: which children exist already (to
count new ones, transfers to another class, and children back from the
archive), one INSERT ... ON CONFLICT of the children, the guardians by match
key (schools/guardians.py: existing ones renamed, new ones with their
accounts), one INSERT ... ON CONFLICT of the links. A re-import never unlinks a
guardian: links the file no longer has stay (unlinking is a person's decision,
through the API). Children of a school in the file whom the file no longer
lists are archived at the end of the run (``do_archive_departed``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from server.i18n import _
from server.db import Database, Transaction, utcnow
from server.db.batches import write_or_split
from server.db.one_of import batch_one_of
from server.db.upsert import insert_rows
from schools.outsiders import do_revoke_childless_guardians
from schools.guardians import do_ensure_guardians, do_link
from schools.imports.index import UnitIndex
from schools.imports.report import MAX_LISTED, ImportReport, RowProblem
from schools.imports.rows import StudentRow
from schools.models import Student

BATCH = 2000
CHUNK = 5000


@dataclass
class Written:
    created: int = 0
    updated: int = 0
    transferred: int = 0
    restored: int = 0
    guardians_created: int = 0
    links_created: int = 0
    touched_classes: set[int] = field(default_factory=set)


def check_class(row: StudentRow, index: UnitIndex) -> int | None:
    found = index.by_external.get(row.class_external_id)
    return found.id if found is not None and found.kind == "class" and not found.archived else None


async def do_import_students(db: Database, org_id: int, source: str, rows: Sequence[StudentRow], index: UnitIndex, report: ImportReport) -> set[int]:
    """Write one batch of checked rows (no external id twice); returns the classes whose rosters changed."""
    ready = []
    for row in rows:
        if check_class(row, index) is None:
            report.fail(RowProblem(source, row.number, "class", _("no class with the external id '{external_id}' on the roll"),
                                   {"external_id": row.class_external_id}))
        else:
            ready.append(row)
    results, refused = await write_or_split(db, org_id, ready, lambda tx, part: _write(tx, part, index))
    touched: set[int] = set()
    for written in results:
        for name in ("created", "updated", "transferred", "restored"):
            report.count(f"students_{name}", getattr(written, name))
        report.count("guardians_created", written.guardians_created)
        report.count("links_created", written.links_created)
        touched |= written.touched_classes
    for row, reason in refused:
        report.fail(RowProblem(source, row.number, None, reason))
    return touched


async def _write(tx: Transaction, rows: Sequence[StudentRow], index: UnitIndex) -> Written:
    written = Written()
    classes = {row.external_id: index.by_external[row.class_external_id].id for row in rows}
    table = Student.__table__
    c = table.c  # table columns, read as plain rows (no ORM): scoped to the organisation by hand
    existing = {
        external_id: (class_id, archived_at is not None, name)
        for external_id, class_id, archived_at, name in await tx.session.execute(
            select(c.external_id, c.class_id, c.archived_at, c.name).where(c.org_id == tx.org_id, batch_one_of(tx, c.external_id, [r.external_id for r in rows]))
        )
    }
    for row in rows:
        before = existing.get(row.external_id)
        if before is None:
            written.created += 1
        elif before[0] != classes[row.external_id]:
            written.transferred += 1
            if before[0] is not None:
                written.touched_classes.add(before[0])
        elif before[1]:
            written.restored += 1
        elif before[2] != row.name:
            written.updated += 1
        if before is None or before[0] != classes[row.external_id] or before[1]:
            written.touched_classes.add(classes[row.external_id])
    now = utcnow()
    columns = {"external_id": [r.external_id for r in rows], "name": [r.name for r in rows], "class_id": [classes[r.external_id] for r in rows]}
    statement, parameters = insert_rows(tx, table, columns, {"org_id": tx.org_id, "created_at": now, "updated_at": now})
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.org_id, table.c.external_id],
        set_={"name": excluded.name, "class_id": excluded.class_id, "archived_at": None, "archived_reason": None, "updated_at": excluded.updated_at},
        # A child the file does not change is not rewritten: no new row version, no index entries.
        where=or_(table.c.name != excluded.name, table.c.class_id.is_distinct_from(excluded.class_id), table.c.archived_at.is_not(None)),
    )
    await tx.session.execute(statement, parameters)
    guardians = {
        guardian.match_key(row.external_id): (guardian.name, guardian.phone) for row in rows for guardian in row.guardians
    }
    if guardians:
        ids = dict((await tx.session.execute(
            select(c.external_id, c.id).where(c.org_id == tx.org_id, batch_one_of(tx, c.external_id, [r.external_id for r in rows if r.guardians]))
        )).all())
        guardian_ids, written.guardians_created = await do_ensure_guardians(tx, guardians)
        written.links_created = await do_link(tx, [
            (ids[row.external_id], guardian_ids[guardian.match_key(row.external_id)], guardian.relation) for row in rows for guardian in row.guardians
        ])
        if written.links_created:
            written.touched_classes |= {classes[row.external_id] for row in rows if row.guardians}
    return written


async def do_archive_departed(db: Database, org_id: int, class_ids: set[int], seen: set[str], report: ImportReport) -> set[int]:
    """Children on the roll of ``class_ids`` (every class of the schools the file listed children of) whom the file no
    longer lists: archived (departed) and reported. Returns their classes."""
    departed = []
    wanted = sorted(class_ids)
    now = utcnow()
    c = Student.__table__.c
    async with db.transaction(org_id=org_id) as tx:
        for start in range(0, len(wanted), CHUNK):
            on_roll = await tx.session.execute(
                select(c.id, c.external_id, c.name, c.class_id)
                .where(c.org_id == org_id, batch_one_of(tx, c.class_id, wanted[start:start + CHUNK]), c.archived_at.is_(None))
            )
            departed += [row for row in on_roll if row.external_id not in seen]
        departed.sort(key=lambda row: row.id)
        for start in range(0, len(departed), CHUNK):
            await tx.session.execute(
                update(Student).where(batch_one_of(tx, Student.id, [row.id for row in departed[start:start + CHUNK]]))
                .values(archived_at=now, archived_reason="departed", updated_at=now).execution_options(synchronize_session=False)
            )
        await do_revoke_childless_guardians(tx, [row.id for row in departed])
    report.count("departed", len(departed))
    report.departed = [{"id": row.id, "external_id": row.external_id, "name": row.name} for row in departed[:MAX_LISTED]]
    return {row.class_id for row in departed}
