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

Writing the file (the CSV's streaming, the XLSX in constant memory, formula
injection neutralised) is the platform's table export (server/table_export.py).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, or_, select, true

from server.db import Database
from server.db.keyset import keyset_page
from server.forms.dashboard import ROOT, under
from server.forms.definition import FormDefinition, FormField
from server.forms.models import FormRound, FormSubmission, FormVersion, RoundCount, RoundRespondent
from server.forms.respondents import respondent_kind
from server.orgs.models import Department
from server.table_export import XLSX_TYPE, csv_cell, neutralised  # noqa: F401  (the forms routes, bench/forms_rounds.py and tests use them from here)

PAGE = 5000  # rows a statement reads, and a CSV response's write (~400 KB); 10,000 held twice the memory (+30 MB) for no less CPU
FIXED = ("round", "respondent_id", "respondent", "department", "submitted_by", "submitted_at", "revision", "abnormal")


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
