"""Guardians: found again by phone, given an account to sign in with, linked to their children.

A guardian with a phone is one person across the whole bureau: the same number
on two children (siblings in two schools) is the same guardian, so they see
both. Without a phone, a guardian is known only with their child (the match
key is the child's external id and their name), has no account, and a
teacher answers for them.

Each guardian with a phone gets an account (``users``, no password) when first
seen; they are outsiders of the organisation, never members
(schools/outsiders.py). If a member of the organisation has the same phone
(a teacher who is also a parent), the guardian is that member's account.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from server.accounts.users import do_create_accounts
from server.db import Transaction, utcnow
from server.db.one_of import batch_one_of
from server.db.upsert import insert_rows, rows_matching, update_rows
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.orgs.member_fields import clean_display_name
from server.orgs.models import Department, Membership
from server.orgs.phones import normalise_phone
from schools.models import RELATION_MAX, Guardian, Student, StudentGuardian
from schools.scope import REFUSALS, Scope


@dataclass(frozen=True, slots=True)
class GuardianEntry:
    """A guardian as given for one child."""

    name: str
    phone: str | None  # E.164
    relation: str

    def match_key(self, student_external_id: str) -> str:
        return self.phone or f"~{student_external_id}/{self.name}"


def clean_relation(value: str | None, field: str = "relation") -> str:
    value = (value or "").strip()
    if len(value) > RELATION_MAX:
        raise InvalidInput("a relation is at most {relation_max} characters ('mother', 'grandfather')", field=field, relation_max=RELATION_MAX)
    return value


def clean_guardian(name: str | None, phone: str | None, relation: str | None, *, region: str, prefix: str = "") -> GuardianEntry:
    """The guardian in stored form; InvalidInput names the field (``prefix`` + name, phone or relation)."""
    phone = (phone or "").strip()
    try:
        stored_phone = normalise_phone(phone, region) if phone else None
    except InvalidInput as e:
        raise InvalidInput(e.msgid, field=prefix + "phone", **e.params) from None
    return GuardianEntry(clean_display_name(name or "", field=prefix + "name"), stored_phone, clean_relation(relation, prefix + "relation"))


async def do_ensure_guardians(tx: Transaction, wanted: dict[str, tuple[str, str | None]]) -> tuple[dict[str, int], int]:
    """match key → guardian id for every ``match key → (name, phone)``, and how many were new: existing ones renamed
    if their name changed, missing ones made with their accounts. A handful of statements whatever the number."""
    if not wanted:
        return {}, 0
    keys = list(wanted)
    table = Guardian.__table__
    c = table.c  # table columns, read as plain rows (no ORM): scoped to the organisation by hand
    existing = {
        key: (guardian_id, name, user_id)
        for key, guardian_id, name, user_id in await tx.session.execute(
            select(c.match_key, c.id, c.name, c.user_id).where(c.org_id == tx.org_id, batch_one_of(tx, c.match_key, keys))
        )
    }
    renamed = [(guardian_id, wanted[key][0]) for key, (guardian_id, name, _) in existing.items() if name != wanted[key][0]]
    if renamed:
        await tx.session.execute(*update_rows(tx, table, "id", {"id": [g for g, _ in renamed], "name": [n for _, n in renamed]}))
    without_account = [key for key, (_, _, user_id) in existing.items() if user_id is None and wanted[key][1]]
    new = [key for key in keys if key not in existing]
    accounts = await _accounts_for(tx, [key for key in new + without_account if wanted[key][1]], wanted)
    if without_account:
        await tx.session.execute(*update_rows(tx, table, "id", {
            "id": [existing[key][0] for key in without_account], "user_id": [accounts[key] for key in without_account],
        }))
    ids = {key: guardian_id for key, (guardian_id, _, _) in existing.items()}
    if new:
        columns = {
            "match_key": new, "name": [wanted[k][0] for k in new], "phone": [wanted[k][1] for k in new], "user_id": [accounts.get(k) for k in new],
        }
        statement, parameters = insert_rows(tx, table, columns, {"org_id": tx.org_id, "created_at": utcnow()})
        rows = await tx.session.execute(statement.returning(table.c.match_key, table.c.id), parameters)
        ids.update(dict(rows.all()))
    return ids, len(new)


async def _accounts_for(tx: Transaction, keys: Sequence[str], wanted: dict[str, tuple[str, str | None]]) -> dict[str, int]:
    """match key → account for guardians with a phone: a member's with the same phone, else a new one."""
    if not keys:
        return {}
    phones = {wanted[key][1]: key for key in keys}
    members: dict[str, int] = {}
    with_phones = rows_matching(tx, Membership.phone, list(phones)).with_only_columns(Membership.phone, Membership.user_id)
    for phone, user_id in await tx.session.execute(with_phones.where(Membership.org_id == tx.org_id)):
        members.setdefault(phone, user_id)
    accounts = {key: members[wanted[key][1]] for key in keys if wanted[key][1] in members}
    missing = [key for key in keys if key not in accounts]
    accounts.update(zip(missing, await do_create_accounts(tx, [wanted[key][0] for key in missing]), strict=True))
    return accounts


async def do_link(tx: Transaction, links: Iterable[tuple[int, int, str]]) -> int:
    """Link ``(student id, guardian id, relation)``s, updating a relation that changed; returns how many were new."""
    links = list({(s, g): r for s, g, r in links}.items())
    if not links:
        return 0
    table = StudentGuardian.__table__
    c = table.c
    known = set(
        (await tx.session.execute(
            select(c.student_id, c.guardian_id).where(c.org_id == tx.org_id, batch_one_of(tx, c.student_id, list({s for (s, _), _ in links})))
        )).all()
    )
    columns = {"student_id": [s for (s, _), _ in links], "guardian_id": [g for (_, g), _ in links], "relation": [r for _, r in links]}
    statement, parameters = insert_rows(tx, table, columns, {"org_id": tx.org_id, "created_at": utcnow()})
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.student_id, table.c.guardian_id],
        set_={"relation": statement.excluded.relation},
        where=table.c.relation.is_distinct_from(statement.excluded.relation),
    )
    await tx.session.execute(statement, parameters)
    return sum(1 for pair, _ in links if pair not in known)


async def guardian_in_scope(tx: Transaction, scope: Scope, guardian_id: int, need: str = "read") -> tuple[Guardian, list[tuple[int, str | None]]]:
    """The guardian and their children's ``(student id, class path)``, if the caller reaches one of those children
    (organisation admins: any guardian); 404 otherwise (403 if they reach one only to read and ``need`` is more)."""
    guardian = await tx.session.scalar(select(Guardian).where(Guardian.id == guardian_id))
    children = [] if guardian is None else (await tx.session.execute(
        select(Student.id, Department.path)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .outerjoin(Department, Department.id == Student.class_id)
        .where(StudentGuardian.guardian_id == guardian_id)
    )).all()
    if guardian is None or not (scope.everything or any(scope.reaches(path) for _, path in children)):
        raise NotFound("no such guardian")
    if need != "read" and not (scope.everything or any(scope.reaches(path, need) for _, path in children)):
        raise Forbidden(REFUSALS[need])
    return guardian, [tuple(row) for row in children]


async def do_update_guardian(tx: Transaction, guardian: Guardian, *, name: str | None, phone: str | None, fields: set[str], region: str) -> Guardian:
    """Rename, or change the phone (``fields`` says which were sent; a null phone removes it). The account stays theirs;
    a guardian who gets a phone for the first time gets an account."""
    if "name" in fields and name is not None:
        guardian.name = clean_display_name(name, field="name")
    if "phone" in fields:
        new_phone = normalise_phone(phone.strip(), region) if phone and phone.strip() else None
        if new_phone != guardian.phone:
            if new_phone is not None:
                taken = await tx.session.scalar(select(Guardian.id).where(Guardian.match_key == new_phone, Guardian.id != guardian.id))
                if taken is not None:
                    raise Conflict("another guardian has the phone {phone}; link that guardian to the child instead", field="phone", phone=new_phone)
                guardian.match_key = new_phone
            else:
                guardian.match_key = f"~{guardian.id}/{guardian.name}"
            guardian.phone = new_phone
            if guardian.user_id is None and new_phone is not None:
                guardian.user_id = (await _accounts_for(tx, [new_phone], {new_phone: (guardian.name, new_phone)}))[new_phone]
    await tx.session.flush()
    return guardian
