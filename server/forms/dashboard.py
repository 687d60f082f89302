"""Dashboards of a round: expected, submitted, missing and abnormal under any department, its children, who is missing.

Everything is read from ``round_counts`` (one row per bucket, changed by each
submission) and ``round_respondents``:

* a department's roll-up is the sum of the buckets whose path is in its
  subtree: one range scan of ``(round_id, path)``, since a subtree's paths
  are those from ``/1/5/`` up to (not including) ``/1/50`` (``'0'`` is the
  character after ``'/'``); compared byte by byte (collation "C") on both
  databases, so the index serves the range;
* its children's roll-ups are the same range scan, grouped by the path
  segment after the department's own (the child each bucket is under);
* the people of a subtree are a keyset page of ``round_respondents`` by
  respondent id (server/db/keyset.py), described (name, contact phone) by
  their respondent kind, a page at a time.

Who sees what: the round's form author and organisation admins see the whole
round; a capability may let others see parts of it (a head teacher their
classes, a school's administrators their school) by registering a
``DashboardScope`` that answers the department paths a person may see.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, func, literal, select

from server.db import Transaction
from server.db.keyset import Page, keyset_page
from server.errors import NotFound
from server.forms.models import Form, FormRound, RoundCount, RoundRespondent
from server.forms.respondents import Described, respondent_kind
from server.forms.rounds import may_run
from server.orgs.access import OrgContext
from server.orgs.models import Department

ROOT = "/"
DashboardScope = Callable[[Transaction, OrgContext, FormRound], Awaitable[list[str]]]
_scopes: list[DashboardScope] = []


def register_dashboard_scope(scope: DashboardScope) -> None:
    """Let a capability show parts of rounds to people who neither wrote the form nor administer the organisation:
    ``scope(tx, org, round)`` answers the department paths (``/1/5/``) the caller may see. At import, once."""
    if scope not in _scopes:
        _scopes.append(scope)


async def visible_paths(tx: Transaction, org: OrgContext, round_: FormRound) -> list[str]:
    """The subtrees of the round the caller may see: ``["/"]`` for all of it, ``[]`` for none."""
    if org.role in ("guest", "external"):
        return []
    form = await tx.session.get(Form, round_.form_id)
    if form is not None and may_run(org, form):
        return [ROOT]
    paths: list[str] = []
    for scope in _scopes:
        paths += await scope(tx, org, round_)
    return sorted(set(paths))


@dataclass(frozen=True)
class Counts:
    expected: int = 0
    submitted: int = 0
    abnormal: int = 0

    @property
    def missing(self) -> int:
        return self.expected - self.submitted


@dataclass(frozen=True)
class Node:
    """What a dashboard shows: a department (``id``, its ``path``); the whole round (``id`` None, path ``/``);
    the parts of it the caller may see (``id`` None, no path); or the respondents of no department (``id`` 0)."""

    id: int | None
    name: str
    path: str | None


WHOLE, LOOSE = Node(None, "", ROOT), Node(0, "", None)


def under(path_column: ColumnElement, path: str) -> list[ColumnElement[bool]]:
    """``path_column`` (collation "C") is in the subtree whose path is ``path`` (``/``-ended)."""
    return [path_column >= path, path_column < path[:-1] + "0"]


_SUMS = (func.coalesce(func.sum(RoundCount.expected), 0), func.coalesce(func.sum(RoundCount.submitted), 0),
         func.coalesce(func.sum(RoundCount.abnormal), 0))


async def counts_under(tx: Transaction, round_id: int, paths: Sequence[str]) -> Counts:
    rows = [(await tx.session.execute(select(*_SUMS).where(RoundCount.round_id == round_id, *under(RoundCount.path, path)))).one() for path in paths]
    return _total(Counts(*row) for row in rows)


def _child_segment(tx: Transaction, path_column: ColumnElement, parent_path: str) -> ColumnElement:
    """The id of the child of ``parent_path`` a bucket's path goes through, as text ('' for the parent itself):
    the segment after the parent's path."""
    rest = func.substr(path_column, len(parent_path) + 1)
    if tx.dialect == "postgresql":
        return func.split_part(rest, "/", 1)
    return func.substr(rest, 1, func.instr(rest, "/") - 1)


async def breakdown(tx: Transaction, round_id: int, node: Node, visible: Sequence[str]) -> tuple[Counts, list[tuple[Node, Counts]]]:
    """The counts under ``node`` and what is one level below it, each with its subtree's counts: the departments with
    respondents in the round, by name (at the top of the round, those counted under no department too), or the
    parts the caller may see.

    One range scan of the node's buckets grouped by the child their path goes through (the node's own total is the
    sum of the groups), then the children's names.
    """
    if node.id is None and node.path is None:
        departments = await tx.session.execute(select(Department.id, Department.name, Department.path).where(Department.path.in_(visible)))
        parts = [(Node(d.id, d.name, d.path), await counts_under(tx, round_id, [d.path])) for d in departments]
        return _total(c for _, c in parts), parts
    if node.id == 0:
        row = (await tx.session.execute(select(*_SUMS).where(RoundCount.round_id == round_id, RoundCount.bucket == 0))).one()
        return Counts(*row), []
    child = _child_segment(tx, RoundCount.path, node.path).label("child")
    rows = (await tx.session.execute(
        select(child, *_SUMS).where(RoundCount.round_id == round_id, *under(RoundCount.path, node.path)).group_by(child)
    )).all()
    sums = {int(r.child): Counts(r[1], r[2], r[3]) for r in rows if r.child}
    found = []
    if sums:
        departments = await tx.session.execute(
            select(Department.id, Department.name, Department.path).where(Department.id.in_(sorted(sums))).order_by(Department.name, Department.id)
        )
        found = [(Node(d.id, d.name, d.path), sums[d.id]) for d in departments]
    loose = next((Counts(r[1], r[2], r[3]) for r in rows if not r.child), None)
    if node.id is None and loose is not None and loose.expected:
        found.append((LOOSE, loose))
    return _total(Counts(r[1], r[2], r[3]) for r in rows), found


def _total(parts) -> Counts:
    total = Counts()
    for c in parts:
        total = Counts(total.expected + c.expected, total.submitted + c.submitted, total.abnormal + c.abnormal)
    return total


async def node_for(tx: Transaction, visible: Sequence[str], department_id: int | None) -> tuple[Node, list[str]]:
    """The department asked for (None: the top of what the caller sees) and the paths to count under it;
    a department outside what the caller may see is 404."""
    if department_id is None:
        return (WHOLE, [ROOT]) if ROOT in visible else (Node(None, "", None), list(visible))
    if department_id == 0:
        if ROOT not in visible:
            raise NotFound("no such department")
        return LOOSE, []
    department = await tx.session.scalar(select(Department).where(Department.id == department_id))
    if department is None or not any(department.path.startswith(path) for path in visible):
        raise NotFound("no such department")
    return Node(department.id, department.name, department.path), [department.path]


async def node_counts(tx: Transaction, round_id: int, node: Node, paths: Sequence[str]) -> Counts:
    if node.id == 0:
        row = (await tx.session.execute(select(*_SUMS).where(RoundCount.round_id == round_id, RoundCount.bucket == 0))).one()
        return Counts(*row)
    return await counts_under(tx, round_id, paths)


State = Literal["missing", "submitted", "all"]


async def respondents_page(
    tx: Transaction, round_: FormRound, node: Node, paths: Sequence[str], *, state: State, after: int | None, limit: int
) -> tuple[Page, dict[int, Described], dict[int, str]]:
    """A page of the respondents under ``node``, by id, with who they are and the names of their buckets."""
    rr = RoundRespondent
    population = select(rr.respondent_id, rr.bucket, rr.submitted, rr.abnormal).where(rr.round_id == round_.id)
    if node.id == 0:
        population = population.where(rr.bucket == 0)
    elif ROOT not in paths:
        buckets = [select(RoundCount.bucket).where(RoundCount.round_id == round_.id, *under(RoundCount.path, path)) for path in paths]
        population = population.where(rr.bucket.in_(buckets[0].union_all(*buckets[1:]) if len(buckets) > 1 else buckets[0]))
    if state != "all":
        population = population.where(rr.submitted == literal(state == "submitted"))
    page = await keyset_page(tx, population, rr.respondent_id, after=after, limit=limit)
    ids = [row[0] for row in page.rows]
    described = await respondent_kind(round_.respondent_kind).describe(tx, ids) if ids else {}
    bucket_ids = sorted({row[1] for row in page.rows} - {0})
    names = dict((await tx.session.execute(select(Department.id, Department.name).where(Department.id.in_(bucket_ids)))).all()) if bucket_ids else {}
    return page, described, names
