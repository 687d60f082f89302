"""Expanding an audience into the people it covers: counted, selected, or streamed in chunks.

``resolve_audience`` checks the ids (one query per kind) and keeps what they
cover: members as one condition on ``Membership``, and, for kinds that reach
people who are not members (a school's guardians, admitted as outsiders:
server/orgs/access.py), a select of those people per kind. Nothing is
expanded yet. From there:

* ``chunks(tx)`` streams the people, each once, by user id, as
  ``Member(user_id, name, phone, department_id)`` tuples, ``size`` at a time
  (one query read through a cursor: 480,000 recipients are never one Python
  list, nor ORM objects);
* ``people()`` is that query, to read or to insert from (``INSERT ... SELECT``);
* ``count(tx)`` and ``count_parts(tx)`` say how many, for a preview;
* ``where`` is the members alone as one condition, to join with (a form's "who
  has not answered" among its audience: ``server/db/keyset.py``'s ``who_has``).

Each person once: someone both a member and reached by a kind's outsiders (a
teacher who is also a parent) is listed as the member; someone several kinds
reach as outsiders, by the first of them. Without outsiders the query is the
plain select of the members it always was; with them it is the members and
each kind's people ``UNION ALL``, numbered per user id in that order
(``row_number()``, which both databases have) and the first of each kept:
one sort of the audience in the database, not in Python.

Ids that name nothing in the organisation are collected in ``unknown`` rather
than failing: in an emergency the people who *can* be reached must be, and the
sender must learn who could not. Phones are as the directory stores them
(E.164); what a channel needs of them is the capability's business.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Integer, Select, and_, false, func, literal, or_, select, true, union, union_all
from sqlalchemy.sql.elements import ColumnElement

from server.audiences.kinds import audience_kind, outsiders_of, reaches_outsiders
from server.db import Transaction
from server.errors import InvalidInput
from server.orgs.models import Membership

CHUNK = 5000


class Member(NamedTuple):
    user_id: int
    name: str
    phone: str | None
    department_id: int | None


@dataclass(frozen=True)
class Audience:
    """Who to reach: ids per kind of part (``{"users": [...], "departments": [...], "groups": [...], ...}``), or everyone."""

    parts: Mapping[str, Sequence[int]] = field(default_factory=dict)
    everyone: bool = False


@dataclass(frozen=True)
class ResolvedAudience:
    """An audience whose ids were checked: per kind, the conditions on ``Membership`` of the members they cover, the
    selects of the other people they cover (``Member``'s columns), and the unknown ids."""

    org_id: int
    everyone: bool
    covered: dict[str, list[ColumnElement[bool]]]
    unknown: dict[str, list[int]]
    outsiders: dict[str, Select] = field(default_factory=dict)

    @property
    def where(self) -> ColumnElement[bool]:
        """The members covered, as one condition on ``Membership`` (false when none are); outsiders are not in it."""
        if self.everyone:
            return true()
        conditions = [c for cs in self.covered.values() for c in cs]
        return or_(*conditions) if conditions else false()

    def _among_members(self, where: ColumnElement[bool]) -> ColumnElement[bool]:
        """``where`` among the organisation's members, named explicitly: the tenant filter does not reach every
        statement (a compound select, an ``INSERT ... SELECT``)."""
        return and_(Membership.org_id == self.org_id, where)

    def people(self) -> Select:
        """Everyone covered, each once, as ``Member``'s columns (``user_id``, ``name``, ``phone``, ``department_id``)."""
        members = select(Membership.user_id, Membership.display_name.label("name"), Membership.phone, Membership.department_id)
        members = members.where(self._among_members(self.where))
        if not self.outsiders:
            return members
        ranked = union_all(
            members.add_columns(literal(0, Integer).label("rank")),
            *(people.add_columns(literal(i, Integer).label("rank")) for i, people in enumerate(self.outsiders.values(), 1)),
        ).subquery("reached")
        numbered = select(
            ranked.c.user_id, ranked.c.name, ranked.c.phone, ranked.c.department_id,
            func.row_number().over(partition_by=ranked.c.user_id, order_by=ranked.c.rank).label("nth"),
        ).subquery("numbered")
        return select(numbered.c.user_id, numbered.c.name, numbered.c.phone, numbered.c.department_id).where(numbered.c.nth == 1)

    async def chunks(self, tx: Transaction, *, size: int = CHUNK) -> AsyncIterator[list[Member]]:
        """The people covered, each once, by user id, ``size`` at a time, from one streamed query (a server-side
        cursor on PostgreSQL): not keyset pages, whose ``user_id > after`` the planner cannot push into an array join
        whose size it does not know, so each page would read the whole audience again. Other statements may run in
        ``tx`` between chunks."""
        people = self.people().subquery("people")
        result = await tx.session.stream(select(people).order_by(people.c.user_id).execution_options(yield_per=size))
        try:
            async for rows in result.partitions():
                yield [Member(*row) for row in rows]
        finally:
            await result.close()

    async def count(self, tx: Transaction) -> int:
        """How many distinct people are covered."""
        return await self._count(tx, self.where, list(self.outsiders.values()))

    async def count_parts(self, tx: Transaction) -> dict[str, int]:
        """Per kind named, how many people its parts cover (a person may be in several kinds)."""
        counts = {}
        for name, conditions in self.covered.items():
            people = self.outsiders.get(name)
            counts[name] = await self._count(tx, or_(*conditions) if conditions else false(), [people] if people is not None else [])
        return counts

    async def _count(self, tx: Transaction, where: ColumnElement[bool], outsiders: list[Select]) -> int:
        """Distinct people: the members for whom ``where`` holds and those of ``outsiders``, each once."""
        if not outsiders:
            return await tx.session.scalar(select(func.count()).select_from(Membership).where(self._among_members(where)))
        ids = union(select(Membership.user_id).where(self._among_members(where)), *(select(p.subquery().c.user_id) for p in outsiders))
        return await tx.session.scalar(select(func.count()).select_from(ids.subquery()))


async def resolve_audience(tx: Transaction, audience: Audience) -> ResolvedAudience:
    """Check every id of ``audience`` in the transaction's organisation; an unregistered kind is bad input."""
    assert tx.org_id is not None, "an audience belongs to an organisation: open the transaction with org_id"
    covered: dict[str, list[ColumnElement[bool]]] = {}
    unknown: dict[str, list[int]] = {}
    outsiders: dict[str, Select] = {}
    for name, ids in audience.parts.items():
        kind = audience_kind(name)
        if kind is None:
            raise InvalidInput("no such kind of audience: {kind}", field=f"parts.{name}", code="unknown_audience_kind", kind=name)
        if not ids or audience.everyone and not reaches_outsiders(kind):  # everyone: every member, but not the outsiders
            continue
        named = sorted(set(ids))
        found = await kind.found(tx, named)
        unknown[name] = [i for i in named if i not in found]
        if not found:
            covered[name] = []
            continue
        covered[name] = await kind.covers(tx, sorted(found))
        people = await outsiders_of(kind, tx, sorted(found))
        if people is not None:
            outsiders[name] = people
    return ResolvedAudience(tx.org_id, audience.everyone, covered, unknown, outsiders)
