"""``muster import-members --org SLUG FILE``: the same import as the API, from a shell, with progress on stderr."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from server.config import Settings
from server.db import Database
from server.errors import MusterError
from server.orgs.imports.limits import ImportLimits
from server.orgs.imports.run import ImportReport, do_import_members
from server.orgs.models import Organisation


def members_progress(report: ImportReport, seconds: float, final: bool) -> str:
    rate = report.rows / max(seconds, 1e-9)
    return f"{report.rows:,} rows  {rate:,.0f} rows/s  ({report.created:,} created, {report.updated:,} updated, {report.invited:,} invited, {report.failed:,} failed)"


class ProgressLine:
    """An import's progress on one line of stderr, rewritten in place on a terminal, at most every ``every_s``:
    ``describe(report, seconds since the start, final)`` says it ("12,000 rows  3,400 rows/s" by default)."""

    def __init__(self, out: TextIO, every_s: float = 1.0, describe: Callable[[Any, float, bool], str] = members_progress):
        self._out = out
        self._every_s = every_s
        self._describe = describe
        self._started = time.monotonic()
        self._last = 0.0
        self._in_place = out.isatty()

    def __call__(self, report, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < self._every_s:
            return
        self._last = now
        text = self._describe(report, now - self._started, final)
        if self._in_place:
            self._out.write("\r" + text + ("\n" if final else ""))
        else:
            self._out.write(text + "\n")
        self._out.flush()


async def import_members_command(settings: Settings, slug: str, path: Path) -> int:
    """Run the import and print its report as JSON on stdout; the exit status is 0 only if every row went in."""
    if not path.is_file():
        print(f"muster import-members: no file at {path}", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        async with db.transaction() as tx:
            org_id = await tx.session.scalar(select(Organisation.id).where(Organisation.slug == slug))
        if org_id is None:
            print(f"muster import-members: no organisation with the address '{slug}'", file=sys.stderr)
            return 2
        progress = ProgressLine(sys.stderr)
        try:
            report = await do_import_members(
                db, org_id, path, phone_region=settings.default_phone_region, on_progress=progress, limits=ImportLimits.of(settings)
            )
        except MusterError as e:
            print(f"muster import-members: {e.message}", file=sys.stderr)
            return 2
        progress(report, final=True)
    finally:
        await db.close()
    print(json.dumps({
        "created": report.created,
        "updated": report.updated,
        "invited": report.invited,
        "failed": report.failed,
        "errors": [{"row": e.row, "field": e.field, "message": e.text()} for e in report.errors],
    }, ensure_ascii=False, indent=2))
    return 0 if report.failed == 0 else 1


def run(settings: Settings, slug: str, path: Path) -> int:
    return asyncio.run(import_members_command(settings, slug, path))
