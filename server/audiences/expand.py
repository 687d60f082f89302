"""Expanding an audience into the members it covers: counted, selected, or streamed in chunks.

``resolve_audience`` checks the ids (one query per kind) and keeps what they
cover as one condition on ``Membership``; nothing is expanded yet. From there:

* ``chunks(tx)`` streams the people, each once, by user id, as
  ``Member(user_id, name, phone, department_id)`` tuples, ``size`` at a time
  (one query read through a cursor: 480,000 recipients are never one Python
  list, nor ORM objects);
* ``count(tx)`` and ``count_parts(tx)`` say how many, for a preview;
* ``where`` is the condition itself, to join with (a form's "who has not
  answered" among its audience: ``server/db/keyset.py``'s ``who_has``).

Ids that name nothing in the organisation are collected in ``unknown`` rather
than failing: in an emergency the people who *can* be reached must be, and the
sender must learn who could not. Phones are as the directory stores them
(E.164); what a channel needs of them is the capability's business.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Select, false, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from server.audiences.kinds import audience_kind
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
    """An audience whose ids were checked: per kind, the conditions on ``Membership`` of what they cover, and the unknown ids."""

    everyone: bool
    covered: dict[str, list[ColumnElement[bool]]]
    unknown: dict[str, list[int]]

    @property
    def where(self) -> ColumnElement[bool]:
        """The members covered, as one condition on ``Membership`` (false when nothing is)."""
        if self.everyone:
            return true()
        conditions = [c for cs in self.covered.values() for c in cs]
        return or_(*conditions) if conditions else false()

    def select(self, *columns) -> Select:
        """A select of ``columns`` (default: ``Member``'s) of the members covered."""
        chosen = columns or (Membership.user_id, Membership.display_name, Membership.phone, Membership.department_id)
        return select(*chosen).where(self.where)

    async def chunks(self, tx: Transaction, *, size: int = CHUNK) -> AsyncIterator[list[Member]]:
        """The members covered, each once, by user id, ``size`` at a time, from one streamed query (a server-side
        cursor on PostgreSQL): not keyset pages, whose ``user_id > after`` the planner cannot push into an array join
        whose size it does not know, so each page would read the whole audience again. Other statements may run in
        ``tx`` between chunks."""
        result = await tx.session.stream(self.select().order_by(Membership.user_id).execution_options(yield_per=size))
        try:
            async for rows in result.partitions():
                yield [Member(*row) for row in rows]
        finally:
            await result.close()

    async def count(self, tx: Transaction) -> int:
        """How many distinct members are covered."""
        return await tx.session.scalar(select(func.count()).select_from(Membership).where(self.where))

    async def count_parts(self, tx: Transaction) -> dict[str, int]:
        """Per kind named, how many members its parts cover (a person may be in several)."""
        counts = {}
        for name, conditions in self.covered.items():
            counting = select(func.count()).select_from(Membership).where(or_(*conditions) if conditions else false())
            counts[name] = await tx.session.scalar(counting)
        return counts


async def resolve_audience(tx: Transaction, audience: Audience) -> ResolvedAudience:
    """Check every id of ``audience`` in the transaction's organisation; an unregistered kind is bad input."""
    assert tx.org_id is not None, "an audience belongs to an organisation: open the transaction with org_id"
    covered: dict[str, list[ColumnElement[bool]]] = {}
    unknown: dict[str, list[int]] = {}
    for name, ids in audience.parts.items():
        kind = audience_kind(name)
        if kind is None:
            raise InvalidInput("no such kind of audience: {kind}", field=f"parts.{name}", code="unknown_audience_kind", kind=name)
        if audience.everyone or not ids:
            continue
        named = sorted(set(ids))
        found = await kind.found(tx, named)
        unknown[name] = [i for i in named if i not in found]
        covered[name] = await kind.covers(tx, sorted(found)) if found else []
    return ResolvedAudience(audience.everyone, covered, unknown)
