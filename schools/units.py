"""Units of the hierarchy: made, renamed and listed as departments with a ``school_units`` row.

A unit's parent must be of the kind above it (a class under a grade or a school, a
school under a district or the bureau); the bureau is the one unit at the top. A
grade has a level (1 for the first year); a class takes its grade's unless given.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from server.db import Transaction
from server.errors import Conflict, Forbidden, InvalidInput
from server.orgs.departments import do_create_department, do_update_department
from server.orgs.models import Department
from schools.models import EXTERNAL_ID_MAX, PARENT_KINDS, UNIT_KINDS, SchoolUnit
from schools.paging import cut_page
from schools.phone_sign_in import do_offer_phone_sign_in
from schools.scope import Scope

LEVEL_MAX = 20


def check_kind(kind: str, field: str = "kind") -> str:
    kind = kind.strip().lower()
    if kind not in UNIT_KINDS:
        raise InvalidInput("a unit's kind is one of {kinds}, not '{kind}'", field=field, kinds=", ".join(UNIT_KINDS), kind=kind[:40])
    return kind


def check_parent(kind: str, parent_kind: str | None, field: str = "parent_id") -> None:
    allowed = PARENT_KINDS[kind]
    if parent_kind is None and allowed:
        raise InvalidInput("a {kind} belongs under a {parents}", field=field, kind=kind, parents=" or ".join(allowed))
    if parent_kind is not None and parent_kind not in allowed:
        if not allowed:
            raise InvalidInput("the bureau is the top of the hierarchy and has no parent", field=field)
        raise InvalidInput("a {kind} belongs under a {parents}, not a {parent_kind}", field=field, kind=kind, parents=" or ".join(allowed), parent_kind=parent_kind)


def check_level(level: int | None, field: str = "level") -> int | None:
    if level is not None and not 1 <= level <= LEVEL_MAX:
        raise InvalidInput("a level is a school year from 1 to {level_max}", field=field, level_max=LEVEL_MAX)
    return level


def check_external_id(value: str | None, field: str = "external_id") -> str | None:
    value = (value or "").strip()
    if len(value) > EXTERNAL_ID_MAX:
        raise InvalidInput("an external id is at most {external_id_max} characters", field=field, external_id_max=EXTERNAL_ID_MAX)
    return value or None


async def external_id_taken(tx: Transaction, key, external_id: str | None, *, other_than: int | None = None) -> bool:
    """Whether another row than ``other_than`` (by ``key``, its id column) has ``external_id`` in ``key``'s table."""
    if external_id is None:
        return False
    query = select(key).where(key.table.c.external_id == external_id)
    if other_than is not None:
        query = query.where(key != other_than)
    return await tx.session.scalar(query.limit(1)) is not None


async def check_external_id_free(tx: Transaction, external_id: str | None, *, other_than: int | None = None) -> None:
    if await external_id_taken(tx, SchoolUnit.department_id, external_id, other_than=other_than):
        raise Conflict("another unit has the external id '{external_id}'", field="external_id", external_id=external_id)


async def bureau(tx: Transaction) -> tuple[SchoolUnit, Department] | None:
    row = (await tx.session.execute(
        select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id).where(SchoolUnit.kind == "bureau")
    )).first()
    return (row[0], row[1]) if row else None


async def do_create_unit(
    tx: Transaction, scope: Scope, *, kind: str, name: str, parent: tuple[SchoolUnit, Department] | None,
    external_id: str | None = None, level: int | None = None,
) -> tuple[SchoolUnit, Department]:
    """A new unit under ``parent`` (which the caller manages; the bureau: organisation admins only)."""
    kind = check_kind(kind)
    check_parent(kind, parent[0].kind if parent else None)
    if kind == "bureau":
        if not scope.everything:
            raise Forbidden("only an organisation admin can set up the bureau")
        if await bureau(tx) is not None:
            raise Conflict("the organisation has its bureau already")
    external_id = check_external_id(external_id)
    await check_external_id_free(tx, external_id)
    level = check_level(level)
    if kind == "grade" and level is None:
        raise InvalidInput("a grade needs its level (1 for the first school year)", field="level")
    if kind == "class" and level is None and parent is not None:
        level = parent[0].level
    department = await do_create_department(tx, name=name, parent_id=parent[1].id if parent else None)
    unit = SchoolUnit(org_id=tx.org_id, department_id=department.id, kind=kind, external_id=external_id,
                      level=level if kind in ("grade", "class") else None)
    tx.session.add(unit)
    await tx.session.flush()
    if kind == "bureau":
        await do_offer_phone_sign_in(tx, scope.org.principal)
    return unit, department


async def do_update_unit(
    tx: Transaction, unit: SchoolUnit, department: Department, *, name: str | None, external_id: str | None, level: int | None, fields: set[str],
) -> None:
    """Rename, re-number or re-level a unit; ``fields`` says which were sent (so null can clear the external id)."""
    if "name" in fields and name is not None:
        await do_update_department(tx, department.id, name=name)
    if "external_id" in fields:
        external_id = check_external_id(external_id)
        await check_external_id_free(tx, external_id, other_than=unit.department_id)
        unit.external_id = external_id
    if "level" in fields:
        if unit.kind not in ("grade", "class"):
            raise InvalidInput("only grades and classes have a level", field="level")
        if level is None and unit.kind == "grade":
            raise InvalidInput("a grade needs its level (1 for the first school year)", field="level")
        unit.level = check_level(level)
    await tx.session.flush()


async def list_units(
    tx: Transaction, scope: Scope, *, parent: Department | None, after_id: int, limit: int,
) -> tuple[list[tuple[SchoolUnit, Department]], int | None]:
    """The units under ``parent``; without one, the tops of what the caller reaches (the bureau, for its admins)."""
    query = select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id)
    if parent is not None:
        query = query.where(Department.parent_id == parent.id)
    elif scope.everything:
        query = query.where(SchoolUnit.kind == "bureau")
    else:
        query = query.where(Department.path.in_(scope.paths() or []))
    rows = (await tx.session.execute(
        query.where(SchoolUnit.department_id > after_id).order_by(SchoolUnit.department_id).limit(limit + 1)
    )).all()
    page, next_after = cut_page(rows, limit, lambda row: row[0].department_id)
    return [(unit, department) for unit, department in page], next_after


async def unit_names(tx: Transaction, paths: Sequence[str]) -> dict[int, tuple[str, str]]:
    """Department id → (name, kind) of every unit on the given paths: to show a class as "School · Grade 3 · Class 2"."""
    ids = {int(part) for path in paths for part in path.strip("/").split("/") if part}
    if not ids:
        return {}
    rows = await tx.session.execute(
        select(Department.id, Department.name, SchoolUnit.kind)
        .join(SchoolUnit, SchoolUnit.department_id == Department.id)
        .where(Department.id.in_(ids))
    )
    return {id_: (name, kind) for id_, name, kind in rows}


def trail(path: str | None, names: dict[int, tuple[str, str]]) -> list[dict]:
    """The units from the top down to the one at ``path``, as ``{"id", "name", "kind"}``."""
    if not path:
        return []
    return [
        {"id": id_, "name": names[id_][0], "kind": names[id_][1]}
        for id_ in (int(part) for part in path.strip("/").split("/") if part) if id_ in names
    ]
