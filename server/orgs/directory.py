"""The directory: who is in the organisation, searched by name (also by its pinyin and initials), phone or email, filtered by department.

Names sort by their pinyin (server/orgs/name_keys.py): 李娜, 王芳, then 张伟
beside Zhang Wei. Pages are keyset-paginated on (name_sort_key, id), the
index ``ix_memberships_org_name_sort``: the cursor is the last row seen, so a
page costs the same at the end of a 100,000-person directory as at the start,
and people added meanwhile never shift a page.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from sqlalchemy import or_, select

from server.db import Transaction
from server.db.keyset import keyset_page
from server.errors import InvalidInput
from server.orgs.departments import get_department
from server.orgs.models import Department, Membership
from server.orgs.name_keys import search_form
from server.orgs.phones import phone_search_digits
from server.orgs.schemas import MembersQuery


@dataclass(frozen=True)
class DirectoryEntry:
    member: Membership
    department_name: str | None


def encode_cursor(sort_key: str, member_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_key, member_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        name, member_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(name, str) and isinstance(member_id, int):
            return name, member_id
    except (ValueError, TypeError):
        pass
    raise InvalidInput("cursor is not one this server gave out; start again without it", field="cursor")


def _matches(q: str, phone_region: str):
    """Name or email containing ``q`` (any case), a name whose pinyin or initials contain it, or a phone number containing its digits."""
    conditions = [Membership.display_name.icontains(q, autoescape=True), Membership.email.icontains(q, autoescape=True)]
    pinyin = search_form(q)
    if pinyin is not None:
        conditions.append(Membership.name_search_key.contains(pinyin, autoescape=True))
    digits = phone_search_digits(q, phone_region)
    if digits is not None:
        conditions.append(Membership.phone.contains(digits, autoescape=True))
    return or_(*conditions)


async def search_directory(tx: Transaction, query: MembersQuery, *, phone_region: str) -> tuple[list[DirectoryEntry], str | None]:
    """One page of the directory and the cursor of the next page (None at the end)."""
    statement = select(Membership, Department.name).outerjoin(Department, Department.id == Membership.department_id)
    if query.q:
        statement = statement.where(_matches(query.q, phone_region))
    if query.department_id is not None:
        department = await get_department(tx, query.department_id, field="department_id")
        if query.include_subdepartments:
            subtree = select(Department.id).where(Department.path.startswith(department.path))
            statement = statement.where(Membership.department_id.in_(subtree))
        else:
            statement = statement.where(Membership.department_id == department.id)
    after = decode_cursor(query.cursor) if query.cursor else None
    page = await keyset_page(tx, statement, (Membership.name_sort_key, Membership.id), after=after, limit=query.limit)
    entries = [DirectoryEntry(member, department_name) for member, department_name in page.rows]
    return entries, encode_cursor(*page.next_after) if page.next_after else None
