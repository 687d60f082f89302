"""Kinds of audience parts: the built-in ones and the registry capabilities add theirs to.

A kind turns ids (of departments, groups, a capability's units) into
conditions on ``Membership``: the organisation's members, listed as it lists
them. A kind may also reach people who are not members, whom a capability
admits as outsiders (a school's guardians: server/orgs/access.py) with an
``outsiders`` method giving a select of them. A kind for something a
capability owns (a school and everyone under it) registers once at import:
``register_audience_kind("families", Families())``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Select, or_, select
from sqlalchemy.sql.elements import ColumnElement

from server.db import Transaction
from server.db.one_of import one_of, rows_where_one_of
from server.groups.models import Group, GroupMember
from server.orgs.models import Department, Membership


class AudienceKind(Protocol):
    """One kind of part. ``tx`` is scoped to the organisation; ids come sorted and distinct."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` name something of this kind in the organisation (the others are reported unknown)."""

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        """Conditions on ``Membership`` (any of them may hold) for the members the found ``ids`` cover."""

    # Optional: ``async def placed(self, tx, ids) -> dict[int, str]``, the department path each id lies at, for
    # senders limited to parts of the tree (server/audiences/reach.py). A kind without it reaches only admins' audiences.
    #
    # Optional: ``async def outsiders(self, tx, ids) -> Select``, the people who need not be members that the found ids
    # cover (a school's guardians), as a select of ``user_id``, ``name``, ``phone``, ``department_id`` (columns so
    # labelled), of the transaction's organisation named explicitly (the tenant filter does not reach an INSERT ...
    # SELECT). A person may come several times, and may be a member too: the expansion keeps each person once.


async def existing(tx: Transaction, column, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are values of ``column`` in the transaction's organisation (for a kind's ``found``)."""
    return {row[0] for row in await rows_where_one_of(tx, select(column), column, ids)}


async def subtrees(tx: Transaction, ids: Sequence[int]) -> list[int]:
    """The ids of these departments and of every department under them, sorted (two small queries: their paths, then
    one prefix match of the tree per path)."""
    paths = list(await tx.session.scalars(select(Department.path).where(Department.id.in_(ids))))
    if not paths:
        return []
    return sorted(await tx.session.scalars(select(Department.id).where(or_(*(Department.path.startswith(p, autoescape=True) for p in paths)))))


async def paths_of(tx: Transaction, statement: Select, key, ids: Sequence[int]) -> dict[int, str]:
    """``{id: department path}`` from ``statement`` selecting ``(key, Department.path)``, for ``ids`` (for a kind's ``placed``)."""
    return dict(await rows_where_one_of(tx, statement, key, ids))


def reaches_outsiders(kind: AudienceKind) -> bool:
    return hasattr(kind, "outsiders")


async def outsiders_of(kind: AudienceKind, tx: Transaction, ids: Sequence[int]) -> Select | None:
    """The select of the people who need not be members that ``ids`` of ``kind`` cover; None for a kind of members only."""
    return await kind.outsiders(tx, ids) if reaches_outsiders(kind) else None


class Users:
    """Members by user id; an id of someone who is not a member is unknown."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, Membership.user_id, ids)

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        return one_of(tx, Membership.user_id, ids)

    async def placed(self, tx: Transaction, ids: Sequence[int]) -> dict[int, str]:
        return await paths_of(tx, select(Membership.user_id, Department.path).join(Department, Department.id == Membership.department_id), Membership.user_id, ids)


class Departments:
    """Departments, each with all its sub-departments (one prefix match on the tree's ``path`` each)."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, Department.id, ids)

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        """The subtrees' ids first, so the members' query is an array join, not a pattern match per member."""
        return one_of(tx, Membership.department_id, await subtrees(tx, ids))

    async def placed(self, tx: Transaction, ids: Sequence[int]) -> dict[int, str]:
        return await paths_of(tx, select(Department.id, Department.path), Department.id, ids)


class Groups:
    """Groups: their members who are members of the organisation (not guests, not external contacts)."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, Group.id, ids)

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        return [Membership.user_id.in_(select(GroupMember.user_id).where(GroupMember.group_id.in_(ids)))]


_kinds: dict[str, AudienceKind] = {"users": Users(), "departments": Departments(), "groups": Groups()}


def register_audience_kind(name: str, kind: AudienceKind) -> None:
    """Add a kind of part, named in requests as ``parts: {name: [ids]}``; at import, once per process."""
    known = _kinds.get(name)
    if known is not None and type(known) is not type(kind):
        raise ValueError(f"audience kind {name!r} is already registered")
    _kinds[name] = kind


def audience_kind(name: str) -> AudienceKind | None:
    return _kinds.get(name)


def audience_kinds() -> list[str]:
    return list(_kinds)
