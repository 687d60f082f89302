"""Guardians are outsiders of the bureau's organisation: admitted like its external contacts, never members.

A guardian with an account and a child on the roll gets into the organisation
with the role ``external`` on the routes declared ``external=True``: their
class groups (external groups, server/groups/) and ``GET .../schools/me``.
They never see the directory, the organisation's own groups or anyone's
children but their own. Archiving their last child on the roll, or unlinking
them from it, ends it (the check runs on every request), and
``do_revoke_unadmitted`` takes what they had away at once, in that transaction:
their groups, and the pending steps of the notices that went to them
(server/revocation.py).
Why: schools/DESIGN.md.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from server.db import Transaction
from server.db.one_of import rows_where_one_of
from server.orgs.access import admitted_outsiders, register_outsider
from server.orgs.models import Membership
from server.revocation import do_revoke_access
from schools.models import Guardian, Student, StudentGuardian


def guardian_of_active_students(user_id):
    """A query of the guardian rows of ``user_id`` that have a child on the roll (not archived)."""
    return (
        select(Guardian.id)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Guardian.user_id == user_id, Student.archived_at.is_(None))
    )


async def is_guardian(tx: Transaction, org_id: int, user_id: int) -> bool:
    found = guardian_of_active_students(user_id).where(Guardian.org_id == org_id).limit(1)
    return await tx.session.scalar(found) is not None


def guardians_of(org_id: int):
    """The accounts of the organisation's guardians with a child on the roll (a guardian of two children twice)."""
    return (
        select(Guardian.user_id.label("user_id"))
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Guardian.org_id == org_id, Guardian.user_id.is_not(None), Student.archived_at.is_(None))
    )


def orgs_of_guardian(user_id: int):
    """The bureaus where ``user_id`` is the guardian of a child on the roll."""
    return guardian_of_active_students(user_id).with_only_columns(Guardian.org_id.label("org_id")).distinct()


register_outsider(is_guardian, guardians_of, orgs_of_guardian)


async def do_revoke_childless_guardians(tx: Transaction, student_ids: Sequence[int]) -> list[int]:
    """After these children left the roll (archived in this transaction): revoke the organisation for those of their
    guardians it no longer admits (``do_revoke_unadmitted``). Returns their user ids. Cost: a statement per kind of
    outsider and two more, per 5,000 children on SQLite (one on PostgreSQL), whatever the number of guardians."""
    linked = select(Guardian.user_id).join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id).where(Guardian.user_id.is_not(None))
    candidates = {user_id for (user_id,) in await rows_where_one_of(tx, linked, StudentGuardian.student_id, student_ids)}
    return await do_revoke_unadmitted(tx, candidates)


async def do_revoke_unadmitted(tx: Transaction, candidates: Iterable[int]) -> list[int]:
    """Revoke the organisation for those of ``candidates`` (accounts that were guardians here until this transaction:
    their last child archived, or their last link to a child on the roll undone) it no longer admits (no child on the
    roll, no membership, no other kind of outsider), so nothing they had goes on (a notice's SMS escalation, their class
    groups). Returns their user ids."""
    candidates = sorted(set(candidates))
    if not candidates:
        return []
    still = {user_id for (user_id,) in await rows_where_one_of(tx, select(Membership.user_id), Membership.user_id, candidates)}
    for people in admitted_outsiders(tx.org_id):
        admitted = people.subquery()
        still.update(user_id for (user_id,) in await rows_where_one_of(tx, select(admitted.c.user_id), admitted.c.user_id, candidates))
    gone = [user_id for user_id in candidates if user_id not in still]
    await do_revoke_access(tx, tx.org_id, gone)
    return gone
