"""The import's API: send the files, then poll the job for its progress and report.

Importing the whole hierarchy is for who manages the whole bureau: organisation
admins and bureau staff (an organisation without its bureau yet: its admins).
"""
from __future__ import annotations

import datetime as dt
import secrets
import shutil

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from server.api import Out, endpoint, path_int
from server.appkeys import BUS, DB, SETTINGS
from server.audit.record import do_audit
from server.errors import Forbidden, NotFound
from server.i18n import _, request_locale, translate
from server.orgs.access import OrgContext
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.upload import save_file_fields
from schools.imports.apart import run_import_job_apart
from schools.jobs import do_start_job, job_status, start_task
from schools.keys import SCHOOLS_SETTINGS
from schools.models import SchoolJob
from schools.scope import load_scope
from schools.units import bureau

routes = web.RouteTableDef()
IMPORTS = "/api/v1/orgs/{org_id}/schools/imports"
MAX_FILES = 3  # units, staff, students as CSV files; a workbook holds all three


class ImportProblemOut(Out):
    source: str = Field(description="The sheet or file.")
    row: int | None
    field: str | None
    message: str


class ImportJobOut(Out):
    id: int
    status: str = Field(description="running, done, failed, or interrupted (its server stopped).")
    files: list[str]
    rows_total: int
    rows_done: int
    counts: dict[str, int]
    failed: int = Field(description="Rows not imported.")
    errors: list[ImportProblemOut] = Field(description="The first 1,000 rows not imported, in the caller's language.")
    departed: list[dict] = Field(description="Children no longer in their school's roll, archived (the first 1,000).")
    groups_over_cap: list[int] = Field(description="Classes whose group was left as it was: their roster is past its cap.")
    failure: str | None = Field(description="Why the whole import stopped, if it did.")
    created_at: dt.datetime
    finished_at: dt.datetime | None


def job_out(job: SchoolJob, locale: str) -> ImportJobOut:
    report = job.report or {}
    fatal = report.get("fatal")
    return ImportJobOut(
        id=job.id, status=job_status(job), files=job.files, rows_total=job.rows_total, rows_done=job.rows_done,
        counts=report.get("counts", {}), failed=report.get("failed", 0),
        errors=[
            ImportProblemOut(source=e["source"], row=e["row"], field=e["field"], message=translate(locale, e["message"], **e["params"]))
            for e in report.get("errors", [])
        ],
        departed=report.get("departed", []), groups_over_cap=report.get("groups_over_cap", []),
        failure=translate(locale, fatal["message"], **fatal["params"]) if fatal else None,
        created_at=job.created_at, finished_at=job.finished_at,
    )


async def require_bureau_manager(request: web.Request, org: OrgContext, refusal=None) -> None:
    """Organisation admins and bureau staff; anyone else gets ``refusal`` (403 by default; a job's id is 404 to them)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        scope = await load_scope(tx, org)
        top = await bureau(tx)
    if not (scope.everything or (top is not None and scope.reaches(top[1].path, "manage"))):
        raise refusal or Forbidden(_("only organisation admins and bureau staff import the hierarchy"))


@routes.post(IMPORTS)
@endpoint(response=ImportJobOut, status=202)
async def start_import(request: web.Request, org: OrgContext) -> ImportJobOut:
    """Import the hierarchy from a workbook (sheets units, staff, students) or up to three CSV files (multipart fields
    ``file``); answers at once with the job, whose progress and report ``GET .../imports/{job_id}`` gives."""
    await require_bureau_manager(request, org)
    app = request.app
    settings, schools_settings = app[SETTINGS], app[SCHOOLS_SETTINGS]
    folder = settings.data_dir / "school-imports" / secrets.token_hex(16)
    folder.mkdir(parents=True)
    try:
        files = await save_file_fields(request, folder, max_bytes=schools_settings.import_max_bytes, max_files=MAX_FILES)
        job_id = await do_start_job(app[DB], org.org_id, kind="import", started_by=org.user_id, files=[name for name, _ in files])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    limits = ImportLimits(schools_settings.import_max_rows, settings.import_max_columns, schools_settings.import_max_unpacked_bytes)
    start_task(app, run_import_job_apart(app[DB], app[BUS], org.org_id, job_id, files, region=settings.default_phone_region, limits=limits, folder=folder))
    async with app[DB].transaction(org_id=org.org_id) as tx:
        await do_audit(tx, org.principal, "schools.import_started", target=("school_import", job_id), details={"files": [n for n, _ in files]})
        return job_out(await tx.session.get(SchoolJob, job_id), request_locale(request))


@routes.get(IMPORTS)
@endpoint(response=list[ImportJobOut])
async def list_imports(request: web.Request, org: OrgContext) -> list[ImportJobOut]:
    """The organisation's last 20 imports, newest first."""
    await require_bureau_manager(request, org)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        jobs = await tx.session.scalars(select(SchoolJob).where(SchoolJob.kind == "import").order_by(SchoolJob.id.desc()).limit(20))
        return [job_out(job, request_locale(request)) for job in jobs]


@routes.get(IMPORTS + "/{job_id}")
@endpoint(response=ImportJobOut)
async def get_import(request: web.Request, org: OrgContext) -> ImportJobOut:
    """One import: how far it got, and once it ended, its report."""
    await require_bureau_manager(request, org, NotFound("no such import"))
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        job = await tx.session.scalar(select(SchoolJob).where(SchoolJob.id == path_int(request, "job_id"), SchoolJob.kind == "import"))
        if job is None:
            raise NotFound("no such import")
        return job_out(job, request_locale(request))
