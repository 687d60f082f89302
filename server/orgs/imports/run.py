"""One member import, from file to report: the API and ``muster import-members`` both call ``do_import_members``.

The file is streamed: a worker thread reads and checks one batch of rows
(parsing and phone checks are CPU work that must not stall the event loop)
while the previous batch is written (server/orgs/imports/writer.py); then that
batch is forgotten. Memory stays flat whatever the file's length: two batches,
the department ids, and the first ``MAX_REPORTED_ERRORS`` errors.

Imports run apart from request handling: their reading and checking runs on
``IMPORT_THREADS`` threads of their own, never on the default pool that
other requests' work (password hashing has its own too) shares, and at most
``IMPORTS_AT_ONCE`` run on a node (member imports and capabilities' imports,
such as the schools hierarchy, together: ``import_slot``); one more is refused
(429) until one ends.
What a file may declare and cost is bounded before it is parsed
(server/orgs/imports/limits.py).

Idempotent by ``external_id``: importing the same file twice creates nothing the
second time. If the same external_id or email appears twice in a file, the
later row wins (it is written in a later batch, as an update).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from pathlib import Path

from server.db import Database
from server.errors import InvalidInput, RateLimited
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.readers import FileRow, open_member_file
from server.orgs.imports.rows import ImportRow, RowError, check_row
from server.orgs.imports.table_stats import TableStatistics
from server.orgs.imports.writer import BatchOutcome, DepartmentIds, write_batch

BATCH_ROWS = 1000
MAX_REPORTED_ERRORS = 1000
IMPORTS_AT_ONCE = 2
IMPORT_THREADS = ThreadPoolExecutor(max_workers=IMPORTS_AT_ONCE, thread_name_prefix="import")
_running = 0  # imports running in this process
Row = TypeVar("Row")


@dataclass
class ImportReport:
    rows: int = 0  # rows read so far, imported or not
    created: int = 0
    updated: int = 0
    invited: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS

    def record(self, outcome: BatchOutcome) -> None:
        self.created += outcome.created
        self.updated += outcome.updated
        self.invited += outcome.invited
        for error in outcome.errors:
            self.failed += 1
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append(error)


@dataclass
class CheckedBatch(Generic[Row]):
    rows: list[Row]
    errors: list[RowError]
    read: int


class RowBatches(Generic[Row]):
    """Cuts a file's rows into checked batches (``check`` turns a row's cells into a row, or raises InvalidInput).

    A batch never holds two rows with the same key (``keys``: external_id, email; one
    INSERT ... ON CONFLICT cannot touch a row twice): such a row starts the next batch.
    """

    def __init__(self, file_rows: Iterator[FileRow], *, check: Callable[[int, dict[str, str]], Row],
                 keys: Callable[[Row], set], size: int):
        self._file_rows = file_rows
        self._check_row = check
        self._keys = keys
        self._size = size
        self._carried: Row | None = None

    def next_batch(self) -> CheckedBatch[Row] | None:
        rows: list[Row] = []
        errors: list[RowError] = []
        keys: set = set()
        read = 0
        if self._carried is not None:
            rows.append(self._carried)
            keys |= self._keys(self._carried)
            self._carried = None
        for file_row in self._file_rows:
            read += 1
            row = self._check(file_row, errors)
            if row is not None:
                if keys & self._keys(row):
                    self._carried = row
                    break
                rows.append(row)
                keys |= self._keys(row)
            if read >= self._size:
                break
        return CheckedBatch(rows, errors, read) if rows or errors else None

    def _check(self, file_row: FileRow, errors: list[RowError]) -> Row | None:
        if file_row.problem is not None:
            errors.append(RowError(file_row.number, None, file_row.problem))
            return None
        try:
            return self._check_row(file_row.number, file_row.cells)
        except InvalidInput as e:
            errors.append(RowError(file_row.number, e.field, e.msgid, e.params))
            return None


def _keys(row: ImportRow) -> set[tuple[str, str]]:
    return {("external_id", row.external_id)} | ({("email", row.email)} if row.email else set())


@contextlib.contextmanager
def import_slot() -> Iterator[None]:
    global _running
    if _running >= IMPORTS_AT_ONCE:
        raise RateLimited("{imports_at_once} imports are running on this server already; try again in a minute", retry_after_s=60, imports_at_once=IMPORTS_AT_ONCE)
    _running += 1
    try:
        yield
    finally:
        _running -= 1


async def do_import_members(
    db: Database,
    org_id: int,
    path: Path,
    *,
    phone_region: str,
    on_progress: Callable[[ImportReport], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    limits: ImportLimits = ImportLimits(),
) -> ImportReport:
    """Import every row of a CSV or XLSX file into the organisation; InvalidInput if the file itself is unusable,
    TooLarge if it is past ``limits``, RateLimited if ``IMPORTS_AT_ONCE`` imports are running already."""
    loop = asyncio.get_running_loop()
    report = ImportReport()
    departments = DepartmentIds(db, org_id)
    statistics = TableStatistics(db)
    with import_slot(), contextlib.ExitStack() as stack:
        # Opening an XLSX parses its shared strings: CPU work, off the event loop too.
        columns, file_rows = await loop.run_in_executor(IMPORT_THREADS, stack.enter_context, open_member_file(path, limits))
        check = functools.partial(check_row, phone_region=phone_region)
        batches = RowBatches(file_rows, check=check, keys=_keys, size=batch_rows)
        # While one batch is written, the worker thread reads and checks the next.
        upcoming = loop.run_in_executor(IMPORT_THREADS, batches.next_batch)
        try:
            while (batch := await upcoming) is not None:
                upcoming = loop.run_in_executor(IMPORT_THREADS, batches.next_batch)
                report.rows += batch.read
                report.record(BatchOutcome(errors=batch.errors))
                if batch.rows:
                    ids = await departments.resolve(r.department for r in batch.rows if r.department)
                    outcome = await write_batch(db, org_id, batch.rows, columns=frozenset(columns), department_ids=ids)
                    report.record(outcome)
                    await statistics.rows_created(outcome.created)
                if on_progress is not None:
                    on_progress(report)
        finally:
            # The thread cannot be cancelled; let it finish with the file before the file closes.
            await asyncio.wait([upcoming])
    report.errors.sort(key=lambda e: e.row or 0)
    return report
