"""Who may see and change what in the hierarchy: a member's scoped roles, checked on every schools route.

A role held on a unit (``school_unit_roles``) reaches that unit and everything
under it (the departments' path prefix). What it allows:

* read: any role (a subject teacher reads their classes, a health officer their school);
* roster (students, their guardians): the managing roles and a head teacher on their class;
* manage (units, roles, imports, the rollover): bureau staff, district staff, school admins;
* answers (children's answers to forms, one by one: schools/form_roles.py): health officers, a head teacher on their class.

Organisation admins and owners reach the whole hierarchy. A unit, student or
guardian outside the caller's reach does not exist for them (404, like another
organisation's ids); one they can read but not change is 403.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.i18n import _
from server.orgs.access import OrgContext
from server.orgs.models import Department
from schools.models import SchoolUnit, UnitRole

MANAGING_ROLES = frozenset({"bureau_staff", "district_staff", "school_admin"})
ROSTER_ROLES = MANAGING_ROLES | {"head_teacher"}
ANSWER_ROLES = frozenset({"health_officer", "head_teacher"})
NEEDS = {"read": None, "roster": ROSTER_ROLES, "manage": MANAGING_ROLES, "answers": ANSWER_ROLES}
REFUSALS = {
    "roster": _("only the class's head teacher or a school administrator can change its roster"),
    "manage": _("only a school, district or bureau administrator of this unit can do this"),
}


@dataclass(frozen=True)
class Grant:
    unit_id: int
    path: str  # the unit's department path: the grant reaches every path that starts with it
    role: str


@dataclass(frozen=True)
class Scope:
    org: OrgContext
    grants: tuple[Grant, ...]
    everything: bool  # organisation admins and owners

    def reaches(self, path: str | None, need: str = "read") -> bool:
        if self.everything:
            return True
        if path is None:
            return False
        roles = NEEDS[need]
        return any(path.startswith(g.path) and (roles is None or g.role in roles) for g in self.grants)

    def paths(self, need: str = "read") -> list[str] | None:
        """The path prefixes the caller reaches for ``need`` (None: all of them), outermost only."""
        if self.everything:
            return None
        roles = NEEDS[need]
        paths = sorted({g.path for g in self.grants if roles is None or g.role in roles})
        return [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]

    def require(self, path: str | None, need: str, missing: str) -> None:
        """404 (``missing``) outside the caller's reach; 403 where they may read but not do ``need``."""
        if not self.reaches(path):
            raise NotFound(missing)
        if need != "read" and not self.reaches(path, need):
            raise Forbidden(REFUSALS[need])


async def load_scope(tx: Transaction, org: OrgContext) -> Scope:
    if org.is_admin:
        return Scope(org, (), True)
    if org.membership_id is None:  # guests and outsiders hold no roles
        return Scope(org, (), False)
    rows = await tx.session.execute(
        select(UnitRole.unit_id, Department.path, UnitRole.role)
        .join(Department, Department.id == UnitRole.unit_id)
        .where(UnitRole.user_id == org.user_id)
    )
    return Scope(org, tuple(Grant(*row) for row in rows), False)


async def role_paths(tx: Transaction, org_id: int, user_id: int, roles) -> list[str]:
    """The paths of the units where the member holds one of ``roles`` (``tx`` need not be the organisation's: filtered here)."""
    return list(await tx.session.scalars(
        select(Department.path).join(UnitRole, UnitRole.unit_id == Department.id)
        .where(UnitRole.org_id == org_id, UnitRole.user_id == user_id, UnitRole.role.in_(roles))
    ))


async def unit_in_scope(tx: Transaction, scope: Scope, unit_id: int, need: str = "read") -> tuple[SchoolUnit, Department]:
    row = (
        await tx.session.execute(
            select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id).where(SchoolUnit.department_id == unit_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such unit")
    scope.require(row[1].path, need, _("no such unit"))
    return row[0], row[1]
