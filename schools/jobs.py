"""Jobs: the long pieces of work of the hierarchy (an import, a school year's rollover), each a row the page polls.

The API makes the job and runs the work as a task of the node that received
it (``start_task``), answering 202 at once; the command line makes a job too,
so the page lists every import. Progress is written at most twice a second.
One job runs at a time per organisation, whatever its kind (an import and a
rollover of the same schools must not interleave): another is refused (409)
while the first's job is running and fresh. A job whose node stopped
(restarted, died) stops being updated; after ``STALE_AFTER`` it reads as
``interrupted`` and another may start. A task still running when its node
stops is cancelled and its job reads as failed (``stop_jobs``).

The work reports its progress with a report object: ``rows_done`` and
``rows_total`` (an import's rows, a rollover's schools) and ``as_json()``,
what the job stores.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Protocol, TypeVar

from aiohttp import web
from sqlalchemy import select, update

from server.db import Database, utcnow
from server.errors import Conflict, MusterError
from server.heap import give_back_memory
from schools.keys import JOB_TASKS
from schools.models import SchoolJob

log = logging.getLogger("muster.schools")

STALE_AFTER = dt.timedelta(minutes=2)
PROGRESS_EVERY_S = 0.5


class JobReport(Protocol):
    rows_done: int
    rows_total: int

    def as_json(self) -> dict: ...


Report = TypeVar("Report", bound=JobReport)


def job_status(job: SchoolJob) -> str:
    """running | done | failed | interrupted (running, but its node has not said anything for ``STALE_AFTER``)."""
    if job.status == "running" and job.updated_at < utcnow() - STALE_AFTER:
        return "interrupted"
    return job.status


async def do_start_job(
    db: Database, org_id: int, *, kind: str, started_by: int | None, files: list[str] | None = None, unit_id: int | None = None,
    report: dict | None = None,
) -> int:
    async with db.transaction(org_id=org_id) as tx:
        running = await tx.session.scalars(select(SchoolJob).where(SchoolJob.status == "running").with_for_update())
        if any(job_status(job) == "running" for job in running):
            raise Conflict("an import or a rollover of this organisation is running; wait for it to end")
        job = SchoolJob(org_id=org_id, kind=kind, unit_id=unit_id, started_by=started_by, status="running", files=files or [], report=report or {})
        tx.session.add(job)
        await tx.session.flush()
        return job.id


class JobProgress:
    """The work's progress callback: writes the job's counts, at most every ``PROGRESS_EVERY_S``."""

    def __init__(self, db: Database, org_id: int, job_id: int, then=None):
        self._db, self._org_id, self._job_id, self._then = db, org_id, job_id, then
        self._last = 0.0

    async def __call__(self, report: JobReport) -> None:
        if self._then is not None:
            self._then(report)
        if time.monotonic() - self._last < PROGRESS_EVERY_S:
            return
        self._last = time.monotonic()
        await self._write(report, status="running")

    async def _write(self, report: JobReport, *, status: str, fatal: dict | None = None) -> None:
        body = report.as_json() | ({"fatal": fatal} if fatal else {})
        async with self._db.transaction(org_id=self._org_id) as tx:
            await tx.session.execute(
                update(SchoolJob).where(SchoolJob.id == self._job_id).values(
                    status=status, rows_total=report.rows_total, rows_done=report.rows_done, report=body, updated_at=utcnow(),
                    finished_at=None if status == "running" else utcnow(),
                ).execution_options(synchronize_session=False)
            )

    async def finish(self, report: JobReport, fatal: MusterError | None = None) -> None:
        failure = {"message": fatal.msgid, "params": fatal.params, "field": fatal.field} if fatal else None
        await self._write(report, status="failed" if fatal else "done", fatal=failure)


async def do_end_job(db: Database, org_id: int, job_id: int, failure: str, params: dict | None = None) -> None:
    """End a job still running whose work could not end it itself (its process was stopped or died, or never started):
    failed with ``failure`` (a msgid and its ``params``), its last report kept."""
    async with db.transaction(org_id=org_id) as tx:
        job = await tx.session.scalar(select(SchoolJob).where(SchoolJob.id == job_id, SchoolJob.status == "running").with_for_update())
        if job is not None:
            job.status = "failed"
            job.report = (job.report or {}) | {"fatal": {"message": failure, "params": params or {}, "field": None}}
            job.updated_at = job.finished_at = utcnow()


async def run_job(
    db: Database, org_id: int, job_id: int, work: Callable[[Callable[[Report], Awaitable[None]]], Awaitable[Report]], *,
    report: Report, stopped: str, failed: str, on_progress=None,
) -> Report:
    """Run ``work(progress)`` to its end (or its cancellation) and record how it ended on job ``job_id``: its last report,
    and why it stopped if it did (``stopped``: the node stopped; ``failed``: a bug; both msgids)."""
    progress = JobProgress(db, org_id, job_id, on_progress)

    async def watched(current: Report) -> None:
        nonlocal report
        report = current
        await progress(current)

    try:
        report = await work(watched)
        await progress.finish(report)
    except MusterError as e:
        await progress.finish(report, e)
    except asyncio.CancelledError:
        await asyncio.shield(progress.finish(report, MusterError(stopped)))
        raise
    except Exception:
        log.exception("schools job %s failed", job_id)
        await progress.finish(report, MusterError(failed))
    return report


def start_task(app: web.Application, work: Coroutine) -> None:
    """Run a job's work as a task of this node, cancelled if the node stops first; once it ends, what its work freed
    goes back to the system (server/heap.py). An import's work is a child process (schools/imports/apart.py)."""
    task = asyncio.create_task(work)
    app[JOB_TASKS].add(task)
    task.add_done_callback(app[JOB_TASKS].discard)
    task.add_done_callback(lambda _: give_back_memory())


async def stop_jobs(app: web.Application) -> None:
    """On shutdown: cancel the jobs still running here; each records that it was stopped."""
    tasks = list(app[JOB_TASKS])
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
