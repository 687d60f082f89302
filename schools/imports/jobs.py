"""Import jobs: each import of the hierarchy is a row that says how far it got, polled by the page.

The API saves the files, makes the job and runs the import as a task of the
node that received it; the command line makes a job too, so the page lists
every import. Progress is written at most twice a second. One import runs at a
time per organisation: a second is refused (409) while the first's job is
running and fresh. A job whose node stopped (restarted, died) stops being
updated; after ``STALE_AFTER`` it reads as ``interrupted`` and another may start.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import time
from pathlib import Path

from sqlalchemy import select, update

from server.db import Database, utcnow
from server.errors import Conflict, MusterError
from server.orgs.imports.limits import ImportLimits
from schools.imports.report import ImportReport
from schools.imports.run import do_import_hierarchy
from schools.models import ImportJob

log = logging.getLogger("muster.schools")

STALE_AFTER = dt.timedelta(minutes=2)
PROGRESS_EVERY_S = 0.5


def job_status(job: ImportJob) -> str:
    """running | done | failed | interrupted (running, but its node has not said anything for ``STALE_AFTER``)."""
    if job.status == "running" and job.updated_at < utcnow() - STALE_AFTER:
        return "interrupted"
    return job.status


async def do_start_job(db: Database, org_id: int, *, started_by: int | None, files: list[str]) -> int:
    async with db.transaction(org_id=org_id) as tx:
        running = await tx.session.scalars(select(ImportJob).where(ImportJob.status == "running").with_for_update())
        if any(job_status(job) == "running" for job in running):
            raise Conflict("an import of this organisation is running; wait for it to end")
        job = ImportJob(org_id=org_id, started_by=started_by, status="running", files=files, report={})
        tx.session.add(job)
        await tx.session.flush()
        return job.id


class JobProgress:
    """The import's progress callback: writes the job's counts, at most every ``PROGRESS_EVERY_S``."""

    def __init__(self, db: Database, org_id: int, job_id: int, then=None):
        self._db, self._org_id, self._job_id, self._then = db, org_id, job_id, then
        self._last = 0.0

    async def __call__(self, report: ImportReport) -> None:
        if self._then is not None:
            self._then(report)
        if time.monotonic() - self._last < PROGRESS_EVERY_S:
            return
        self._last = time.monotonic()
        await self._write(report, status="running")

    async def _write(self, report: ImportReport, *, status: str, fatal: dict | None = None) -> None:
        body = report.as_json() | ({"fatal": fatal} if fatal else {})
        async with self._db.transaction(org_id=self._org_id) as tx:
            await tx.session.execute(
                update(ImportJob).where(ImportJob.id == self._job_id).values(
                    status=status, rows_total=report.rows_total, rows_done=report.rows_done, report=body, updated_at=utcnow(),
                    finished_at=None if status == "running" else utcnow(),
                ).execution_options(synchronize_session=False)
            )

    async def finish(self, report: ImportReport, fatal: MusterError | None = None) -> None:
        failure = {"message": fatal.msgid, "params": fatal.params, "field": fatal.field} if fatal else None
        await self._write(report, status="failed" if fatal else "done", fatal=failure)


async def run_job(
    db: Database, org_id: int, job_id: int, files: list[tuple[str, Path]], *, region: str, limits: ImportLimits,
    folder: Path | None = None, on_progress=None,
) -> ImportReport:
    """Run the import of job ``job_id`` to its end (or its cancellation) and record how it ended; ``folder`` is deleted after."""
    progress = JobProgress(db, org_id, job_id, on_progress)
    report = ImportReport()

    async def watched(current: ImportReport) -> None:
        nonlocal report
        report = current
        await progress(current)

    try:
        report = await do_import_hierarchy(db, org_id, files, region=region, limits=limits, on_progress=watched)
        await progress.finish(report)
    except MusterError as e:
        await progress.finish(report, e)
    except asyncio.CancelledError:
        await asyncio.shield(progress.finish(report, MusterError("the import was stopped when its server stopped; import the file again")))
        raise
    except Exception:
        log.exception("schools import %s failed", job_id)
        await progress.finish(report, MusterError("the import failed on the server; import the file again"))
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return report
