"""``muster schools import --org SLUG FILE...``: the same import as the API, from a shell, with a progress bar on stderr.

It is recorded as a job like the API's (the page lists it), and prints the report as JSON on stdout;
the exit status is 0 only if every row went in.
"""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import select

from server.config import Settings
from server.db import Database
from server.errors import MusterError
from server.orgs.imports.command import ProgressLine
from server.orgs.imports.limits import ImportLimits
from server.orgs.models import Organisation
from schools.config import SchoolsSettings
from schools.imports.jobs import run_import_job
from schools.imports.report import ImportReport
from schools.jobs import do_start_job
from schools.models import SchoolJob

BAR = 30


def progress_bar(report: ImportReport, seconds: float, final: bool) -> str:
    """"[#########---------]  45%  123,456/274,000 rows  8,210 rows/s  3 failed"."""
    share = report.rows_done / report.rows_total if report.rows_total else (1.0 if final else 0.0)
    filled = int(BAR * min(share, 1.0))
    rate = report.rows_done / max(seconds, 1e-9)
    return (f"[{'#' * filled}{'-' * (BAR - filled)}] {share:4.0%}  {report.rows_done:,}/{report.rows_total:,} rows  "
            f"{rate:,.0f} rows/s  {report.failed:,} failed")


async def import_command(settings: Settings, slug: str, paths: list[Path]) -> int:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"muster schools import: no file at {missing[0]}", file=sys.stderr)
        return 2
    schools = SchoolsSettings()
    db = Database(settings.database_url)
    try:
        async with db.transaction() as tx:
            org_id = await tx.session.scalar(select(Organisation.id).where(Organisation.slug == slug))
        if org_id is None:
            print(f"muster schools import: no organisation with the address '{slug}'", file=sys.stderr)
            return 2
        bar = ProgressLine(sys.stderr, every_s=0.5, describe=progress_bar)
        try:
            job_id = await do_start_job(db, org_id, kind="import", started_by=None, files=[p.name for p in paths])
        except MusterError as e:
            print(f"muster schools import: {e.message}", file=sys.stderr)
            return 2
        limits = ImportLimits(schools.import_max_rows, settings.import_max_columns, schools.import_max_unpacked_bytes)
        report = await run_import_job(db, org_id, job_id, [(p.name, p) for p in paths], region=settings.default_phone_region, limits=limits, on_progress=bar)
        bar(report, final=True)
        async with db.transaction(org_id=org_id) as tx:
            job = await tx.session.get(SchoolJob, job_id)
        fatal = job.report.get("fatal")
    finally:
        await db.close()
    body = {"job": job_id, "rows": report.rows_done} | report.as_json()
    body["errors"] = [{"source": e.source, "row": e.row, "field": e.field, "message": e.text()} for e in report.errors]
    if fatal:
        print(f"muster schools import: {fatal['message'].format(**fatal['params'])}", file=sys.stderr)
        return 2
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0 if report.failed == 0 else 1


def add_command(sub) -> None:
    schools = sub.add_parser("schools", help="the schools hierarchy")
    schools_sub = schools.add_subparsers(dest="schools_command", required=True)
    command = schools_sub.add_parser(
        "import",
        help="import or update a bureau's hierarchy (units, staff, students with guardians) from XLSX or CSV",
        description="One workbook with sheets units, staff and students, or up to three CSV files (one per table, told by "
        "their columns). Rows are matched by external_id, so importing again updates; children of a listed school that the "
        "file no longer has are archived. Prints a JSON report; exits 1 if any row failed. See schools/DESIGN.md.",
    )
    command.add_argument("--org", required=True, metavar="SLUG", help="the organisation's address (slug)")
    command.add_argument("files", type=Path, nargs="+", metavar="FILE", help="an .xlsx workbook, or .csv files (UTF-8)")
    command.set_defaults(func=lambda args: sys.exit(asyncio.run(import_command(Settings().resolved(), args.org, args.files))))
