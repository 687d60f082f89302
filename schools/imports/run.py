"""One import of the hierarchy, from files to report: the API's job and ``muster schools import`` both call ``do_import_hierarchy``.

The tables go in order (units, staff, students). Units are few (a city has
about 30,000) and read whole, so parents can come after their children in
the file; staff and students are streamed: a worker thread reads and checks
one batch (CPU work kept off the event loop, on the platform's import threads)
while the previous one is written, then it is forgotten. What stays in memory
is the units' index, the students' external ids seen (to find who departed)
and the first errors. At most ``IMPORTS_AT_ONCE`` imports of any kind run on a
node (server/orgs/imports/run.py).

After the rows: children of the schools the file listed children of whom it no
longer lists are archived as departed, and the groups of every class whose
roster changed follow it (schools/class_groups.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path

from server.db import Database
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.rows import RowError
from server.orgs.imports.run import IMPORT_THREADS, RowBatches, import_slot
from server.orgs.imports.table_stats import TableStatistics
from schools.class_groups import do_follow_rosters
from schools.imports.index import UnitIndex
from schools.imports.report import ImportReport, RowProblem
from schools.imports.rows import check_staff, check_student, check_unit
from schools.imports.staff_writer import BATCH as STAFF_BATCH
from schools.imports.staff_writer import do_import_staff
from schools.imports.students_writer import BATCH as STUDENT_BATCH
from schools.imports.students_writer import do_archive_departed, do_import_students
from schools.imports.tables import Table, open_tables
from schools.imports.units_writer import do_import_units

GROUPS_CHUNK = 500
# The tables a city's import grows from nothing: their planner statistics are refreshed as they do (server/orgs/imports/table_stats.py).
GROWN = ("users", "school_students", "school_guardians", "school_student_guardians")
Progress = Callable[[ImportReport], Awaitable[None] | None]


def _problem(source: str, error: RowError) -> RowProblem:
    return RowProblem(source, error.row, error.field, error.message, error.params)


async def do_import_hierarchy(
    db: Database, org_id: int, files: list[tuple[str, Path]], *, region: str, limits: ImportLimits, on_progress: Progress | None = None,
) -> ImportReport:
    """Import every table of ``files`` (``(name as sent, path)``); InvalidInput or TooLarge if a file itself is unusable
    (then nothing is written), RateLimited if the node runs ``IMPORTS_AT_ONCE`` imports already."""
    loop = asyncio.get_running_loop()
    report = ImportReport()

    async def progress(current: ImportReport) -> None:
        if on_progress is not None and inspect.isawaitable(told := on_progress(current)):
            await told
    with import_slot(), contextlib.ExitStack() as stack:
        tables = await loop.run_in_executor(IMPORT_THREADS, stack.enter_context, open_tables(files, limits))
        report.rows_total = sum(t.total for t in tables)
        await progress(report)
        index = await UnitIndex.load(db, org_id)
        touched: set[int] = set()
        for table in tables:
            if table.kind == "units":
                await _units(db, org_id, table, index, report, loop)
            elif table.kind == "staff":
                touched |= await _staff(db, org_id, table, index, region, report, loop, progress)
            else:
                touched |= await _students(db, org_id, table, index, region, report, loop, progress)
            await progress(report)
        await _follow(db, org_id, touched, report)
    return report


async def _units(db: Database, org_id: int, table: Table, index: UnitIndex, report: ImportReport, loop) -> None:
    batches = RowBatches(table.rows, check=check_unit, keys=lambda _: set(), size=10**9)
    batch = await loop.run_in_executor(IMPORT_THREADS, batches.next_batch)
    if batch is None:
        return
    report.rows_done += batch.read
    for error in batch.errors:
        report.fail(_problem(table.source, error))
    await do_import_units(db, org_id, table.source, batch.rows, index, report)


async def _streamed(table: Table, check, size: int, report: ImportReport, loop, progress: Progress, write) -> set[int]:
    """Rows checked on a worker thread a batch ahead of ``write(rows)``, which returns the classes it touched."""
    batches = RowBatches(table.rows, check=check, keys=lambda row: {row.external_id}, size=size)
    touched: set[int] = set()
    upcoming = loop.run_in_executor(IMPORT_THREADS, batches.next_batch)
    try:
        while (batch := await upcoming) is not None:
            upcoming = loop.run_in_executor(IMPORT_THREADS, batches.next_batch)
            report.rows_done += batch.read
            for error in batch.errors:
                report.fail(_problem(table.source, error))
            if batch.rows:
                touched |= await write(batch.rows)
            await progress(report)
    finally:
        await asyncio.wait([upcoming])  # the thread cannot be cancelled; it finishes with the file before the file closes
    return touched


async def _staff(db, org_id: int, table: Table, index: UnitIndex, region: str, report: ImportReport, loop, progress: Progress) -> set[int]:
    statistics = TableStatistics(db, ("users", "memberships"))  # the guardians' accounts are found by the members' phones

    async def write(rows) -> set[int]:
        before = report.counts["staff_created"]
        touched = await do_import_staff(db, org_id, table.source, table.columns, rows, index, report)
        await statistics.rows_created(report.counts["staff_created"] - before)
        return touched

    return await _streamed(table, functools.partial(check_staff, region=region), STAFF_BATCH, report, loop, progress, write)


async def _students(db, org_id: int, table: Table, index: UnitIndex, region: str, report: ImportReport, loop, progress: Progress) -> set[int]:
    seen: set[str] = set()
    schools: set[int] = set()

    def check(number: int, cells: dict[str, str]):
        if cells.get("external_id"):
            seen.add(cells["external_id"].strip())  # a row that fails still names a child who has not departed
        row = check_student(number, cells, region=region)
        found = index.by_external.get(row.class_external_id)
        if found is not None:
            schools.add(index.school_of(found))
        return row

    statistics = TableStatistics(db, GROWN)

    async def write(rows) -> set[int]:
        before = report.counts["students_created"]
        touched = await do_import_students(db, org_id, table.source, rows, index, report)
        await statistics.rows_created(report.counts["students_created"] - before)
        return touched

    touched = await _streamed(table, check, STUDENT_BATCH, report, loop, progress, write)
    classes = {u.id for u in index.by_id.values() if u.kind == "class" and index.school_of(u) in schools}
    return touched | await do_archive_departed(db, org_id, classes, seen, report)


async def _follow(db: Database, org_id: int, class_ids: set[int], report: ImportReport) -> None:
    wanted = sorted(class_ids)
    for start in range(0, len(wanted), GROUPS_CHUNK):
        async with db.transaction(org_id=org_id) as tx:
            report.groups_over_cap += await do_follow_rosters(tx, wanted[start:start + GROUPS_CHUNK], strict=False)
