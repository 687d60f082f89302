"""An import of the hierarchy as a job (schools/jobs.py): the same run from the API and the command line."""
from __future__ import annotations

import shutil
from pathlib import Path

from server.db import Database
from server.i18n import _
from server.orgs.imports.limits import ImportLimits
from schools.imports.report import ImportReport
from schools.imports.run import do_import_hierarchy
from schools.jobs import run_job

STOPPED = _("the import was stopped when its server stopped; import the file again")
FAILED = _("the import failed on the server; import the file again")


async def run_import_job(
    db: Database, org_id: int, job_id: int, files: list[tuple[str, Path]], *, region: str, limits: ImportLimits,
    folder: Path | None = None, on_progress=None,
) -> ImportReport:
    """Run the import of job ``job_id`` to its end (or its cancellation) and record how it ended; ``folder`` is deleted after."""
    try:
        return await run_job(
            db, org_id, job_id, lambda progress: do_import_hierarchy(db, org_id, files, region=region, limits=limits, on_progress=progress),
            report=ImportReport(), stopped=STOPPED, failed=FAILED, on_progress=on_progress,
        )
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
