"""Writing checked rows in batches: a handful of set-based statements per batch, never a query per row.

For a batch of up to 1,000 rows:

1. which external_ids are already members (those rows update; they keep their account);
2. which new rows' emails already have an account, and whether that account
   is already a member here: with no external_id it is adopted (the admin who
   created the organisation, say), with another one the row fails; an account
   that is not a member is invited (one INSERT of invitations, one event to
   them all) and joins only once its owner accepts (server/orgs/invitations.py);
3. one INSERT of the accounts still missing (no password: people sign in after
   a reset or an invite);
4. one INSERT ... ON CONFLICT (org_id, external_id) DO UPDATE of the memberships.
   An existing owner stays owner whatever the file says.

Departments the rows name are found or created first, in their own transaction,
and remembered for the run. If a batch's transaction fails anyway, the batch is
written again row by row (server/db/batches.py), so only the rows at fault fail.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, case, or_, select, update

from server.accounts.models import User
from server.accounts.users import do_create_accounts
from server.db import Database, Transaction, utcnow
from server.db.batches import write_or_split
from server.db.one_of import batch_one_of
from server.db.upsert import insert_rows
from server.i18n import _
from server.orgs.departments import do_ensure_department_path
from server.orgs.imports.rows import ImportRow, RowError
from server.orgs.invitations import tell_invited
from server.orgs.models import MemberInvitation, Membership
from server.orgs.name_keys import name_keys

# File columns that, when present, overwrite the member's field on re-import (``name`` always does).
UPDATED_FROM_COLUMN = {"email": "email", "phone": "phone", "title": "title", "department": "department_id"}


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    invited: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: "BatchOutcome") -> None:
        self.created += other.created
        self.updated += other.updated
        self.invited += other.invited
        self.errors += other.errors


class DepartmentIds:
    """Department paths ("Surgery", "Ward 3") → ids for one import run, creating missing ones on first sight."""

    def __init__(self, db: Database, org_id: int):
        self._db = db
        self._org_id = org_id
        self._ids: dict[tuple[str, ...], int] = {}

    async def resolve(self, paths: Iterable[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
        missing = sorted(set(paths) - self._ids.keys())
        if missing:
            async with self._db.transaction(org_id=self._org_id) as tx:
                found = {path: await do_ensure_department_path(tx, path) for path in missing}
            self._ids.update(found)  # only once committed, so an id never outlives a rolled-back department
        return self._ids


async def write_batch(
    db: Database, org_id: int, rows: Sequence[ImportRow], *, columns: frozenset[str], department_ids: dict[tuple[str, ...], int]
) -> BatchOutcome:
    """Write ``rows`` in one transaction; if that fails, row by row in savepoints (server/db/batches.py)."""
    results, refused = await write_or_split(db, org_id, rows, lambda tx, part: write_rows(tx, part, columns, department_ids))
    outcome = BatchOutcome()
    for result in results:
        outcome.add(result)
    outcome.errors += [RowError(row.number, None, reason) for row, reason in refused]
    return outcome


async def write_rows(
    tx: Transaction, rows: Sequence[ImportRow], columns: frozenset[str], department_ids: dict[tuple[str, ...], int]
) -> BatchOutcome:
    """The rows' memberships (and accounts, invitations) in ``tx``; ``department_ids`` maps each row's ``department`` key to its id."""
    outcome = BatchOutcome()
    existing = await _existing_members(tx, [r.external_id for r in rows])
    new_rows = [r for r in rows if r.external_id not in existing]
    accounts = await _accounts_by_email(tx, {r.email for r in new_rows if r.email})
    memberships = await _memberships_of(tx, set(accounts.values()))

    user_ids = dict(existing)  # external_id → account of the membership it writes
    adopted: list[dict] = []
    needs_account: list[ImportRow] = []
    invited: dict[int, ImportRow] = {}  # account → the row that invites it
    for row in new_rows:
        user_id = accounts.get(row.email) if row.email else None
        if user_id is None:
            needs_account.append(row)
        elif user_id not in memberships:
            invited[user_id] = row
        elif memberships[user_id][1] is None:
            adopted.append({"membership_id": memberships[user_id][0], "new_external_id": row.external_id})
            user_ids[row.external_id] = user_id
        else:
            outcome.errors.append(
                RowError(row.number, "email", _("{email} is already the member with external_id '{external_id}'"),
                         {"email": row.email, "external_id": memberships[user_id][1]})
            )
    user_ids.update(await _create_accounts(tx, needs_account))

    if adopted:
        table = Membership.__table__
        await tx.session.execute(
            update(table)
            .where(table.c.org_id == tx.org_id, table.c.id == bindparam("membership_id"))
            .values(external_id=bindparam("new_external_id")),
            adopted,
        )
    writable = [r for r in rows if r.external_id in user_ids]
    if writable:
        await _upsert_memberships(tx, writable, user_ids, columns, department_ids)
    if invited:
        await _invite(tx, invited, department_ids)
    outcome.invited = len(invited)
    outcome.updated = len(existing) + len(adopted)
    outcome.created = len(writable) - outcome.updated
    return outcome


def _listing(rows: list[ImportRow], department_ids: dict[tuple[str, ...], int]) -> dict[str, list]:
    """How the organisation lists each row's person, column by column: a membership's fields, or an invitation's."""
    return {
        "external_id": [r.external_id for r in rows],
        "display_name": [r.name for r in rows],
        "email": [r.email for r in rows],
        "phone": [r.phone for r in rows],
        "title": [r.title for r in rows],
        "department_id": [department_ids[r.department] if r.department else None for r in rows],
        "role": [r.role for r in rows],
    }


async def _invite(tx: Transaction, invited: dict[int, ImportRow], department_ids: dict[tuple[str, ...], int]) -> None:
    """One INSERT of the invitations not already waiting, and one event to the accounts newly invited."""
    table = MemberInvitation.__table__
    values = {"user_id": list(invited)} | _listing(list(invited.values()), department_ids)
    statement, parameters = insert_rows(tx, table, values, {"org_id": tx.org_id, "created_at": utcnow()})
    statement = statement.on_conflict_do_nothing(index_elements=[table.c.org_id, table.c.user_id]).returning(table.c.user_id)
    newly = list(await tx.session.scalars(statement, parameters))
    await tell_invited(tx, newly, invited_by=None)


async def _existing_members(tx: Transaction, external_ids: list[str]) -> dict[str, int]:
    """external_id → account, for the rows that are already members."""
    query = select(Membership.external_id, Membership.user_id).where(batch_one_of(tx, Membership.external_id, external_ids))
    return dict((await tx.session.execute(query)).all())


async def _accounts_by_email(tx: Transaction, emails: set[str]) -> dict[str, int]:
    if not emails:
        return {}
    # Accounts store emails lower-cased (server/accounts/users.py), as the rows do.
    return dict((await tx.session.execute(select(User.email, User.id).where(batch_one_of(tx, User.email, emails)))).all())


async def _memberships_of(tx: Transaction, user_ids: set[int]) -> dict[int, tuple[int, str | None]]:
    """Account → (membership id, external_id) in this organisation, for accounts that are already members."""
    if not user_ids:
        return {}
    rows = await tx.session.execute(
        select(Membership.user_id, Membership.id, Membership.external_id).where(batch_one_of(tx, Membership.user_id, user_ids))
    )
    return {user_id: (membership_id, external_id) for user_id, membership_id, external_id in rows}


async def _create_accounts(tx: Transaction, rows: Sequence[ImportRow]) -> dict[str, int]:
    """One INSERT for every missing account; returns external_id → new account id."""
    ids = await do_create_accounts(tx, [r.name for r in rows], [r.email for r in rows])
    return {row.external_id: user_id for row, user_id in zip(rows, ids, strict=True)}


async def _upsert_memberships(
    tx: Transaction,
    rows: Sequence[ImportRow],
    user_ids: dict[str, int],
    columns: frozenset[str],
    department_ids: dict[tuple[str, ...], int],
) -> None:
    table = Membership.__table__
    keys = [name_keys(r.name) for r in rows]  # written with the name, as the ORM does (server/orgs/models.py)
    values = {"user_id": [user_ids[r.external_id] for r in rows]} | _listing(rows, department_ids) | {
        "name_sort_key": [k.sort for k in keys], "name_search_key": [k.search for k in keys],
    }
    statement, parameters = insert_rows(tx, table, values, {"org_id": tx.org_id, "created_at": utcnow()})
    changes = {
        "display_name": statement.excluded.display_name,
        "name_sort_key": statement.excluded.name_sort_key,
        "name_search_key": statement.excluded.name_search_key,
    }
    for column, attribute in UPDATED_FROM_COLUMN.items():
        if column in columns:
            changes[attribute] = statement.excluded[attribute]
    if "role" in columns:
        changes["role"] = case((table.c.role == "owner", table.c.role), else_=statement.excluded.role)
    # A member the file does not change is not rewritten: no new row version, no index entries, no bloat.
    changed = or_(*(table.c[attribute].is_distinct_from(value) for attribute, value in changes.items()))
    statement = statement.on_conflict_do_update(index_elements=[table.c.org_id, table.c.external_id], set_=changes, where=changed)
    await tx.session.execute(statement, parameters)
