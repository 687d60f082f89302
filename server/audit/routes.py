"""The audit log API, for the organisation's admins.

    GET /api/v1/orgs/{org_id}/audit          newest first, a page at a time (keyset on id)
    GET /api/v1/orgs/{org_id}/audit/export   every entry as CSV, streamed; the export is itself recorded

There is no route that changes or deletes an entry.
"""
from __future__ import annotations

import csv
import io
import json

from aiohttp import web
from sqlalchemy import select

from server.api import endpoint
from server.appkeys import DB
from server.db.keyset import keyset_page
from server.audit.models import AuditEntry
from server.audit.record import do_audit
from server.audit.schemas import AuditEntryOut, AuditPageOut, AuditQuery
from server.orgs.access import OrgContext

EXPORT_BATCH = 2000
COLUMNS = ("id", "at", "actor_user_id", "actor_name", "action", "target_kind", "target_id", "remote", "details")

routes = web.RouteTableDef()


@routes.get("/api/v1/orgs/{org_id}/audit")
@endpoint(query=AuditQuery, response=AuditPageOut, role="admin")
async def list_audit(request: web.Request, query: AuditQuery, org: OrgContext) -> AuditPageOut:
    """The organisation's audit log, newest first."""
    statement = select(AuditEntry)
    if query.action:
        statement = statement.where(AuditEntry.action.startswith(query.action, autoescape=True))
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        page = await keyset_page(tx, statement, AuditEntry.id, after=query.before, limit=query.limit, descending=True)
    return AuditPageOut(items=[AuditEntryOut.model_validate(e) for e in page.rows], next_before=page.next_after)


@routes.get("/api/v1/orgs/{org_id}/audit/export")
@endpoint(role="admin")
async def export_audit(request: web.Request, org: OrgContext) -> web.StreamResponse:
    """Every entry of the organisation as CSV (UTF-8 with BOM, so spreadsheets read Chinese names), oldest first."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="audit-{org.org_id}.csv"',
        }
    )
    if request.method == "HEAD":  # the headers only: nothing is exported
        return response
    db = request.app[DB]
    async with db.transaction(org_id=org.org_id) as tx:
        await do_audit(tx, org.principal, "audit.exported")
    await response.prepare(request)
    await response.write("\ufeff".encode() + csv_line(COLUMNS))
    after = None
    while True:
        async with db.transaction(org_id=org.org_id) as tx:
            batch = await keyset_page(tx, select(AuditEntry), AuditEntry.id, after=after, limit=EXPORT_BATCH)
        await response.write(b"".join(csv_line(row_cells(e)) for e in batch.rows))
        if batch.next_after is None:
            break
        after = batch.next_after
    await response.write_eof()
    return response


def row_cells(entry: AuditEntry) -> tuple:
    return (
        entry.id, entry.at.isoformat(), entry.actor_user_id, entry.actor_name, entry.action,
        entry.target_kind, entry.target_id, entry.remote, json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
    )


def csv_line(cells) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(["" if c is None else spreadsheet_safe(str(c)) for c in cells])
    return out.getvalue().encode()


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula (a name like ``=HYPERLINK(...)``) is kept as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
