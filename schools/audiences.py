"""A bureau's people as audiences (server/audiences/), and which of its staff may send to them.

Two kinds of part, each naming units (districts, schools, grades, classes) and
covering everything under them:

* ``families``: the guardians with an account of the children on the roll
  under the units. They are outsiders (schools/outsiders.py), so the kind
  gives them as a select (``outsiders``), not as members; a guardian's
  department is their child's class. A guardian of two children, or a teacher
  who is also a parent, is reached once (the expansion keeps each person once).
* ``staff``: the members working under the units (their department in the
  subtree) and those holding a role on a unit there (a class's teachers work
  in their school's department).

"Families and staff" of a class are both parts with the same ids:
``{"families": [class_id], "staff": [class_id]}``. Either may be sent by
organisation admins and whoever may send to the whole organisation, and by
the staff whose roles give them the units (``sending_paths``, registered
with ``register_sender_reach``): bureau staff, district staff and school
admins on their units, head teachers on their classes; subject teachers do
not send.

Send pages offer the hierarchy through a picker (server/audiences/pickers.py):
a level of units at a time, from the top ones the sender reaches (the bureau
for those who reach everything, a head teacher's classes), with the kinds
"Families" and "Staff" to tick for them.
"""
from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from server.audiences.kinds import existing, paths_of, register_audience_kind, subtrees
from server.audiences.pickers import Picker, PickerUnit, register_audience_picker
from server.audiences.reach import WHOLE, register_sender_reach, within
from server.db import Transaction
from server.db.one_of import one_of
from server.i18n import _, translate
from server.orgs.models import Department, Membership
from schools.models import Guardian, SchoolUnit, Student, StudentGuardian, UnitRole
from schools.scope import ROSTER_ROLES, role_paths

SENDING_ROLES = ROSTER_ROLES  # the managing roles and head teachers
KIND_NAMES = {"bureau": _("Bureau"), "district": _("District"), "school": _("School"), "grade": _("Grade"), "class": _("Class")}
PICKER = "schools"  # the audience picker of the hierarchy's units (server/audiences/pickers.py)


class Units:
    """What both kinds share: their ids are the hierarchy's units, placed at their departments' paths."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, SchoolUnit.department_id, ids)

    async def placed(self, tx: Transaction, ids: Sequence[int]) -> dict[int, str]:
        at = select(SchoolUnit.department_id, Department.path).join(Department, Department.id == SchoolUnit.department_id)
        return await paths_of(tx, at, SchoolUnit.department_id, ids)


class Families(Units):
    """The guardians with an account of the children on the roll under the units."""

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        return []  # no one as a member: a guardian who is also staff comes with the others, once

    async def outsiders(self, tx: Transaction, ids: Sequence[int]) -> Select:
        """One join: guardian ⋈ link ⋈ child, the child's class among the units' subtrees (an array, one condition)."""
        classes = one_of(tx, Student.class_id, await subtrees(tx, ids))
        return (
            select(Guardian.user_id.label("user_id"), Guardian.name.label("name"), Guardian.phone.label("phone"),
                   Student.class_id.label("department_id"))
            .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
            .join(Student, Student.id == StudentGuardian.student_id)
            .where(Guardian.org_id == tx.org_id, Guardian.user_id.is_not(None), Student.archived_at.is_(None),
                   or_(*classes) if classes else false())
        )


class Staff(Units):
    """The members working under the units, and those holding a role on a unit under them."""

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        units = await subtrees(tx, ids)
        roles = select(UnitRole.user_id).where(UnitRole.org_id == tx.org_id, or_(*one_of(tx, UnitRole.unit_id, units)))
        return [*one_of(tx, Membership.department_id, units), Membership.user_id.in_(roles)]


async def sending_paths(tx: Transaction, org_id: int, user_id: int) -> list[str]:
    """The paths of the units where the member holds a role that sends (server/audiences/reach.py)."""
    return await role_paths(tx, org_id, user_id, SENDING_ROLES)


async def units_within(tx: Transaction, paths: list[str], parent_id: int | None, locale: str) -> list[PickerUnit] | None:
    """The picker's units: the top ones the sender reaches (the bureau, or the units of their roles), or those under
    ``parent_id`` if it lies within their reach (None otherwise); classes that graduated are not offered."""
    units = (
        select(SchoolUnit.department_id, Department.name, SchoolUnit.kind)
        .join(Department, Department.id == SchoolUnit.department_id).where(SchoolUnit.archived_at.is_(None))
    )
    if parent_id is not None:
        parent = await tx.session.scalar(
            select(Department.path).join(SchoolUnit, SchoolUnit.department_id == Department.id).where(Department.id == parent_id))
        if parent is None or not within(parent, paths):
            return None
        units = units.where(Department.parent_id == parent_id)
    elif WHOLE in paths:
        units = units.where(SchoolUnit.kind == "bureau")
    else:
        units = units.where(Department.path.in_(paths))
    rows = (await tx.session.execute(units.order_by(Department.name, Department.id))).all()
    if not rows:
        return []
    below = (
        select(Department.parent_id, func.count()).join(SchoolUnit, SchoolUnit.department_id == Department.id)
        .where(SchoolUnit.archived_at.is_(None), Department.parent_id.in_([row[0] for row in rows])).group_by(Department.parent_id)
    )
    parents = {parent for parent, _count in await tx.session.execute(below)}
    return [PickerUnit(unit_id, name, translate(locale, KIND_NAMES[kind]), unit_id in parents) for unit_id, name, kind in rows]


def setup(app: web.Application) -> None:
    register_audience_picker(app, Picker(PICKER, _("Schools"), (("families", _("Families")), ("staff", _("Staff"))), units_within))


register_audience_kind("families", Families())
register_audience_kind("staff", Staff())
register_sender_reach(sending_paths)
