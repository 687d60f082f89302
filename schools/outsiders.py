"""Guardians are outsiders of the bureau's organisation: admitted like its external contacts, never members.

A guardian with an account and a child on the roll gets into the organisation
with the role ``external`` on the routes declared ``external=True``: their
class groups (external groups, server/groups/) and ``GET .../schools/me``.
They never see the directory, the organisation's own groups or anyone's
children but their own. Archiving a child's last record ends it (the check runs
on every request). Why: schools/DESIGN.md.
"""
from __future__ import annotations

from sqlalchemy import select

from server.db import Transaction
from server.orgs.access import register_outsider
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
