"""Who a broadcast goes to: members, departments (with every sub-department), groups, or everyone.

Expanded once, at send time, into plain rows (``Recipient``) that the
broadcast keeps. Ids that name nothing in this organisation are collected
and reported back rather than failing the send: in an emergency the people
who *can* be reached must be, and the sender must learn who could not.

Cost: one query for the members named (which also tells who is unknown),
one per department subtree, one for the departments and one for the groups
named; each query is indexed. On PostgreSQL a list of ids is ``= ANY`` of
one array (``one_of``): a long list is written into the statement as one
array constant, a short one is a parameter. Each alternative costs more
under some plan PostgreSQL can pick from what it guesses:

* ``IN`` of 5,000 literal parameters: tens of milliseconds for SQLAlchemy to
  render and PostgreSQL to plan, per chunk;
* ``= ANY(:ids)``, a long array as a parameter: under the generic plan a
  pooled connection may keep after five runs, a filter of it is a linear
  search of the array for every row (10,000 named members: 0.3-5 s);
* ``IN (SELECT unnest(:ids))``: PostgreSQL makes the ids distinct first and
  guesses 200 of them; when it also guesses the organisation has one or two
  members (a table never analysed, or an organisation that came after the
  last ANALYZE), it loops over the members and searches every id for each,
  50 million comparisons for 10,000 (3.5-7 s, bench/urgent.py on a fresh
  database once memberships had its pinyin columns, which halved the guess).

An array constant has none of these: whatever the plan, ``= ANY`` of a
constant is an index condition or a hashed filter, linear in the ids. Its
statement text is new for each list, so it is kept for lists long enough
that a prepare more per statement costs nothing beside the query; a short
parameter array, searched linearly, is cheap at any plan.
SQLite takes ``IN`` lists of 5,000.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

from server.db import Transaction
from server.errors import InvalidInput
from server.groups.models import Group, GroupMember
from server.orgs.departments import department_subtree_ids
from server.orgs.models import Department, Membership
from server.orgs.phones import normalise_phone

CHUNK = 5000
CONSTANT_FROM = 64  # ids from which a list is written into the statement (notify/recipients.py docstring)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    phone: str | None  # E.164, or None if the member has no usable number


@dataclass
class Unknown:
    user_ids: list[int] = field(default_factory=list)
    department_ids: list[int] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)


class _IdsConstant(UserDefinedType):
    """A list of ids written into the statement as one array constant, ``'{1,2,3}'::BIGINT[]`` (parsed at once by
    PostgreSQL; ``ARRAY[1, 2, 3]``, SQLAlchemy's own rendering, costs it ~0.3 s at 10,000). Only ints go in."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "BIGINT[]"

    def literal_processor(self, dialect):
        return lambda ids: "'{" + ",".join(str(int(i)) for i in ids) + "}'::BIGINT[]"


def one_of(tx: Transaction, column, ids: Sequence[int]) -> list:
    """Conditions that together say ``column`` is one of ``ids``: one ``= ANY(array)`` on PostgreSQL, an ``IN`` per chunk on SQLite."""
    if not ids:
        return []
    if tx.dialect == "postgresql":
        if len(ids) < CONSTANT_FROM:
            return [column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(BigInteger)))]
        # Rendered at execution (literal_execute): SQLAlchemy still compiles the statement once.
        return [column == any_(bindparam(None, list(ids), type_=_IdsConstant(), literal_execute=True))]
    return [column.in_(ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK)]


async def _existing(tx: Transaction, column, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for condition in one_of(tx, column, sorted(set(ids))):
        found.update(await tx.session.scalars(select(column).where(condition)))
    return found


async def expand_recipients(
    tx: Transaction, *, user_ids: Sequence[int], department_ids: Sequence[int], group_ids: Sequence[int], everyone: bool, phone_region: str
) -> tuple[list[Recipient], Unknown]:
    """The distinct members addressed, and the ids that named nothing. ``tx`` is scoped to the organisation."""
    unknown = Unknown()
    conditions = []
    if everyone:
        conditions.append(None)
    else:
        conditions += one_of(tx, Membership.user_id, sorted(set(user_ids)))  # ids of non-members match nothing

        departments = await _existing(tx, Department.id, department_ids)
        unknown.department_ids = sorted(set(department_ids) - departments)
        subtree: set[int] = set()
        for department_id in departments:
            subtree.update(await department_subtree_ids(tx, department_id))
        conditions += one_of(tx, Membership.department_id, sorted(subtree))

        groups = await _existing(tx, Group.id, group_ids)
        unknown.group_ids = sorted(set(group_ids) - groups)
        if groups:
            in_groups = select(GroupMember.user_id).where(GroupMember.group_id.in_(sorted(groups)))
            conditions.append(Membership.user_id.in_(in_groups))

    people: dict[int, Recipient] = {}
    for condition in conditions:
        query = select(Membership.user_id, Membership.display_name, Membership.phone)
        if condition is not None:
            query = query.where(condition)
        for user_id, name, phone in await tx.session.execute(query):
            if user_id not in people:
                people[user_id] = Recipient(user_id, name, _usable_phone(phone, phone_region))
    if not everyone:
        unknown.user_ids = [i for i in sorted(set(user_ids)) if i not in people]
    return sorted(people.values(), key=lambda r: r.user_id), unknown


def _usable_phone(phone: str | None, region: str) -> str | None:
    """Numbers are stored in E.164 already (checked cheaply); anything else is re-read with phonenumbers,
    so a legacy value is normalised or, if unusable, kept from the provider. Parsing every number costs
    ~0.4 ms, which at 10,000 recipients would be seconds on the send path."""
    if not phone:
        return None
    if E164.fullmatch(phone):
        return phone
    try:
        return normalise_phone(phone, region)
    except InvalidInput:
        return None
