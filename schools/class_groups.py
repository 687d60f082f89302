"""Class groups: one call makes a class's group, which then follows the class's roster.

A class group is an external group (server/contacts/): it holds the class's
teachers, who are members, and its students' guardians, who are outsiders
(schools/outsiders.py), so only an external group may hold them. Its member
cap is the organisation's external group cap.

"Follows the roster": every change to who is in a class (a child added,
transferred, archived; a guardian linked or unlinked; a teacher's role on the
class given or taken; an import; the rollover) calls ``do_follow_rosters`` for
the classes it touched, in the same transaction. The roster is the class's
teachers and the accounts of its active students' guardians; whoever else is
a plain member of the group leaves it, whoever is missing joins. The group's
owner and admins stay whatever the roster says (they run the group).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from server.config import Settings
from server.contacts.policy import load_policy
from server.db import Transaction
from server.groups.membership import do_add_checked_people, do_create_group, do_delete_members
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext
from server.orgs.models import Department
from schools.models import ClassGroup, Guardian, Student, StudentGuardian, UnitRole

log = logging.getLogger("muster.schools")


async def roster(tx: Transaction, class_id: int) -> set[int]:
    """The accounts a class's group should hold: its teachers and its active students' guardians."""
    teachers = select(UnitRole.user_id).where(UnitRole.unit_id == class_id)
    guardians = (
        select(Guardian.user_id)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Student.class_id == class_id, Student.archived_at.is_(None), Guardian.user_id.is_not(None))
    )
    return set(await tx.session.scalars(teachers.union(guardians)))


async def do_make_class_group(tx: Transaction, org: OrgContext, settings: Settings, class_id: int, name: str) -> tuple[int, bool]:
    """The class's group, made now (the caller owns it) or as it was; ``(group id, made now)``."""
    existing = await tx.session.scalar(select(ClassGroup.group_id).where(ClassGroup.class_id == class_id))
    if existing is not None:
        return existing, False
    policy = await load_policy(tx, settings)
    group = await do_create_group(
        tx, org, settings, name=name, department_id=None, member_ids=[], allow_guests=False, external=True,
        member_limit=policy.group_member_limit,
    )
    tx.session.add(ClassGroup(org_id=tx.org_id, class_id=class_id, group_id=group.id))
    await tx.session.flush()
    await do_follow_rosters(tx, [class_id])
    return group.id, True


async def do_follow_rosters(tx: Transaction, class_ids: Iterable[int], *, strict: bool = True) -> list[int]:
    """Bring the groups of these classes (those that have one) in line with their rosters.

    ``strict``: a roster past the group's cap refuses the change (400); otherwise (an import, the rollover)
    that class's group is left as it was and its id returned, so the rest goes on.
    """
    wanted = sorted(set(class_ids))
    if not wanted:
        return []
    groups = (await tx.session.execute(
        select(ClassGroup.class_id, Group).join(Group, Group.id == ClassGroup.group_id).where(ClassGroup.class_id.in_(wanted))
    )).all()
    over_cap = []
    for class_id, group in groups:
        should = await roster(tx, class_id)
        current = dict((await tx.session.execute(select(GroupMember.user_id, GroupMember.role).where(GroupMember.group_id == group.id))).all())
        leaving = sorted(user_id for user_id, role in current.items() if role == "member" and user_id not in should)
        joining = sorted(should - current.keys())
        if not strict and len(current) - len(leaving) + len(joining) > group.member_limit:
            log.warning("class %s: its roster is past its group's cap of %s; the group is left as it was", class_id, group.member_limit)
            over_cap.append(class_id)
            continue
        await do_delete_members(tx, group, leaving)
        await do_add_checked_people(tx, group, joining)  # past the cap: 400 too_many_members, and the change is refused
    return over_cap


async def class_group_name(tx: Transaction, department: Department) -> str:
    """"Grade 3 Class 2": the class's name after its grade's, as the school says them."""
    parent = await tx.session.get(Department, department.parent_id) if department.parent_id else None
    return f"{parent.name} {department.name}" if parent is not None else department.name
