"""Exports of a round's (or a date range's) submissions: CSV streamed as it is read, XLSX written in constant memory.

Rows are read a page at a time by submission id (server/db/keyset.py), each
page in its own short transaction, so an export of 480,000 rows holds no
connection while the client reads and never has more than a page in memory.
A page is one statement of table columns (Core: tuples, no ORM objects): the
respondent's and the submitter's names are correlated subqueries their
respondent kind gives (``name_of``, ``submitter_name_of``: a member by the
directory's name, a child's guardian by the roll's), the department is joined, and
"abnormal" is compared in SQL; Python decodes the answers' JSON and formats
each cell once, by its type (``CSV_CELL``, ``_cell_writers``).
Someone who may see the answers of only parts of a round (server/forms/privacy.py)
exports only the submissions whose respondent's bucket lies there: the same
range of paths a dashboard sums (server/forms/dashboard.py).

* CSV: the response starts at once (headers and a UTF-8 byte order mark, so
  spreadsheet programs read Chinese right), then each page as it is read,
  one write of ~400 KB a page.
* XLSX: XlsxWriter in ``constant_memory`` mode (each row goes to disk when the
  next starts), written in a thread, then sent in 1 MB reads; cells are typed
  (numbers, yes/no as booleans, text as strings), so nothing is ever a formula.

Cost at 480,000 rows (bench/health.py, bench/RESULTS.md "health"): reading and
formatting a row ~15 µs of the node's CPU for CSV; XlsxWriter's writing
~45 µs a row (~4.5 µs a cell: its XML escaping and cell references), the most
of an XLSX export.

Formula injection: a CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, and is not simply a number or a phone number, gets
a leading apostrophe, which spreadsheet programs show as text; in XLSX text
is written as a string cell, which is never evaluated.
"""
from __future__ import annotations

import asyncio
import codecs
import csv
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from aiohttp import web
from sqlalchemy import ColumnElement, Select, Text, and_, cast, or_, select, true

from server.db import Database
from server.db.keyset import keyset_page
from server.forms.dashboard import ROOT, under
from server.forms.definition import FormDefinition, FormField
from server.forms.models import FormRound, FormSubmission, FormVersion, RoundCount, RoundRespondent
from server.forms.respondents import respondent_kind
from server.orgs.models import Department

PAGE = 5000  # rows a statement reads, and a CSV response's write (~400 KB); 10,000 held twice the memory (+30 MB) for no less CPU
SEND_CHUNK = 1 << 20  # an XLSX file's reads as it is sent
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,30}")
FIXED = ("round", "respondent_id", "respondent", "department", "submitted_by", "submitted_at", "revision", "abnormal")


def neutralised(text: str) -> str:
    """Text a spreadsheet program will not take for a formula, numbers and phone numbers left as they are."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text) and not PHONE.fullmatch(text):
        return "'" + text
    return text


@dataclass(frozen=True)
class Export:
    """What is exported: the rounds (ids and local open dates) and the fields, in the order of the newest version."""

    org_id: int
    rounds: dict[int, str]
    fields: list[FormField]
    kind: str
    zone: Any
    within: dict[int, list[str]]  # round id → the subtrees whose answers are exported (``/``: all)

    @property
    def header(self) -> list[str]:
        return [*FIXED, *(f.name for f in self.fields)]

    def only_within(self) -> ColumnElement[bool] | None:
        """The submissions under each round's subtrees, as a condition on ``round_counts.path``; None if every round is whole."""
        submission, count = FormSubmission.__table__.c, RoundCount.__table__.c
        groups: dict[tuple[str, ...], list[int]] = {}
        for round_id in self.rounds:
            groups.setdefault(tuple(self.within.get(round_id, (ROOT,))), []).append(round_id)
        if all(ROOT in paths for paths in groups):
            return None
        return or_(*(
            and_(submission.round_id.in_(ids), true() if ROOT in paths else or_(*(and_(*under(count.path, p)) for p in paths)))
            for paths, ids in groups.items()
        ))


async def plan_export(db: Database, org_id: int, rounds: Sequence[FormRound], zone, within: dict[int, list[str]] | None = None) -> Export:
    """The columns: every field of every version the rounds used, the newest version's order first."""
    version_ids = sorted({r.version_id for r in rounds}, reverse=True)
    fields: dict[str, FormField] = {}
    async with db.transaction(org_id=org_id) as tx:
        definitions = dict((await tx.session.execute(select(FormVersion.id, FormVersion.definition).where(FormVersion.id.in_(version_ids)))).all())
    for version_id in version_ids:
        for f in FormDefinition.model_validate(definitions[version_id]).fields:
            fields.setdefault(f.name, f)
    kinds = {r.respondent_kind for r in rounds}
    return Export(org_id, {r.id: r.opens_at.astimezone(zone).date().isoformat() for r in rounds}, list(fields.values()),
                  kinds.pop() if len(kinds) == 1 else "user", zone, dict(within or {}))


def _page_statement(tx, export: Export) -> Select:
    """A page's select, of table columns (rows as tuples, no ORM objects): the submission id (the key), its round,
    respondent, their name, their bucket's department, who submitted, when, the revision, whether abnormal, the answers.
    Core statements get no tenant filter of their own: each table is scoped to the organisation here."""
    s, rr, d = FormSubmission.__table__, RoundRespondent.__table__, Department.__table__
    org_id, kind = export.org_id, respondent_kind(export.kind)
    query = (select(s.c.id, s.c.round_id, s.c.respondent_id, kind.name_of(tx, s.c.respondent_id), d.c.name,
                    kind.submitter_name_of(tx, s.c.submitted_by, s.c.respondent_id), s.c.updated_at, s.c.revision,
                    cast(s.c.abnormal, Text) != "[]", s.c.answers)
             .select_from(s)
             .join(rr, and_(rr.c.round_id == s.c.round_id, rr.c.respondent_id == s.c.respondent_id, rr.c.org_id == org_id), isouter=True)
             .join(d, and_(d.c.id == rr.c.bucket, d.c.org_id == org_id), isouter=True)
             .where(s.c.org_id == org_id, s.c.round_id.in_(list(export.rounds))))
    limited = export.only_within()
    if limited is not None:
        c = RoundCount.__table__
        query = query.join(c, and_(c.c.round_id == s.c.round_id, c.c.bucket == rr.c.bucket, c.c.org_id == org_id)).where(limited)
    return query


async def rows(db: Database, export: Export) -> AsyncIterator[list[list[Any]]]:
    """The rows, a page at a time, as typed values: one per submission, in id order. One statement a page."""
    after = None
    fields = [f.name for f in export.fields]
    rounds, zone = export.rounds, export.zone
    while True:
        async with db.transaction(org_id=export.org_id) as tx:
            page = await keyset_page(tx, _page_statement(tx, export), FormSubmission.__table__.c.id, after=after, limit=PAGE)
        yield [[rounds[round_id], respondent_id, who, where, by, at.astimezone(zone).replace(tzinfo=None), revision, bool(abnormal),
                *map(answers.get, fields)]
               for _, round_id, respondent_id, who, where, by, at, revision, abnormal, answers in page.rows]
        if page.next_after is None:
            return
        after = page.next_after


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def csv_cell(value: Any) -> str | int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return neutralised(cell_text(value))


def _same(value):
    return value


# A CSV cell by its value's type, looked up once a cell (csv_cell for any other type).
CSV_CELL = {str: neutralised, int: _same, float: _same, type(None): lambda _: "", bool: lambda v: "yes" if v else "no",
            dt.datetime: lambda v: v.isoformat(sep=" ", timespec="seconds")}


def csv_lines(page: list[list[Any]]) -> list[list[str | int | float]]:
    cell = CSV_CELL.get
    return [[cell(type(v), csv_cell)(v) for v in row] for row in page]


async def stream_csv(request: web.Request, db: Database, export: Export, filename: str) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8",
                                           "Content-Disposition": f'attachment; filename="{filename}.csv"', "Cache-Control": "no-store"})
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(export.header)
    await response.write(codecs.BOM_UTF8 + buffer.getvalue().encode())
    async for page in rows(db, export):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_lines(page))
        await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def _cell_writers(sheet, when_format) -> dict[type, Callable[[int, int, Any], Any]]:
    """The sheet's typed writer for a value of each type (other types: as text); nothing is ever a formula."""
    return {str: sheet.write_string, int: sheet.write_number, float: sheet.write_number, bool: sheet.write_boolean,
            dt.datetime: lambda r, c, v: sheet.write_datetime(r, c, v, when_format)}


def _write_rows(writers: dict, as_text: Callable, start: int, page: list[list[Any]]) -> None:
    writer = writers.get
    for r, row in enumerate(page, start):
        for c, value in enumerate(row):
            if value is not None:
                writer(type(value), as_text)(r, c, value)


async def send_xlsx(request: web.Request, db: Database, export: Export, folder: Path, filename: str) -> web.StreamResponse:
    """Write the XLSX to a temporary file in ``folder``, send it, and delete it (sent or not)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, suffix=".xlsx", delete=False)
    handle.close()
    try:
        await _write_xlsx(db, export, handle.name)
        response = web.StreamResponse(headers={"Content-Type": XLSX_TYPE,
                                               "Content-Disposition": f'attachment; filename="{filename}.xlsx"', "Cache-Control": "no-store"})
        response.content_length = os.path.getsize(handle.name)
        await response.prepare(request)
        with open(handle.name, "rb") as f:
            while chunk := f.read(SEND_CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        os.unlink(handle.name)


async def _write_xlsx(db: Database, export: Export, path: str) -> int:
    """The workbook, row by row in constant memory; returns the number of rows."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("submissions")
    writers = _cell_writers(sheet, book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}))

    def as_text(r: int, c: int, value: Any) -> None:
        sheet.write_string(r, c, cell_text(value))

    for c, name in enumerate(export.header):
        sheet.write_string(0, c, name)
    count = 0
    async for page in rows(db, export):
        await asyncio.to_thread(_write_rows, writers, as_text, count + 1, page)
        count += len(page)
    await asyncio.to_thread(book.close)
    return count
