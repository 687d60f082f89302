"""The department tree: create, rename, move, delete, and the subtree of a department.

Each department stores its materialised ``path`` of ids (``/1/5/9/``), so "this
department and everything under it" is one prefix query, and moving a branch is
one UPDATE that rewrites the prefix of every path in it.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, func, literal, select, update

from server.db import Transaction
from server.errors import Conflict, InvalidInput, NotFound
from server.orgs.models import Department, Membership

# Ids have at most 19 digits, so 20 levels of "/<id>" fit the 1,000 characters of ``path``.
MAX_DEPTH = 20
NAME_MAX = 200


def check_department_name(name: str) -> str:
    """A sibling-unique label; no '/' because the import names departments by "Parent/Child" paths."""
    name = name.strip()
    if not name:
        raise InvalidInput("a department needs a name", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput("department name is longer than {name_max} characters", field="name", name_max=NAME_MAX)
    if "/" in name:
        raise InvalidInput("a department name cannot contain '/'", field="name")
    return name


def depth(path: str) -> int:
    return path.count("/") - 1


def _require_org(tx: Transaction) -> None:
    if tx.org_id is None:
        raise ValueError("department functions need a transaction scoped to one organisation")


async def get_department(tx: Transaction, department_id: int, *, field: str | None = None) -> Department:
    """One department of this transaction's organisation; NotFound otherwise (``field`` names the input it came from)."""
    _require_org(tx)
    department = await tx.session.scalar(select(Department).where(Department.id == department_id))
    if department is None:
        if field is not None:
            raise InvalidInput("no department {department_id} in this organisation", field=field, department_id=department_id)
        raise NotFound("no such department")
    return department


async def department_subtree_ids(tx: Transaction, department_id: int) -> list[int]:
    """The ids of a department and of every department under it, at any depth.

    One indexed prefix query on ``path``. For capabilities that address "a department
    and its sub-departments" (urgent broadcasts, ...); ``tx`` must be scoped to the
    organisation, and a department of another organisation is NotFound.
    """
    department = await get_department(tx, department_id)
    return list(await tx.session.scalars(select(Department.id).where(Department.path.startswith(department.path))))


async def list_departments(tx: Transaction) -> list[tuple[Department, int]]:
    """Every department with its number of direct members, parents before children."""
    _require_org(tx)
    counts = dict(
        (await tx.session.execute(select(Membership.department_id, func.count()).group_by(Membership.department_id))).all()
    )
    departments = await tx.session.scalars(select(Department).order_by(Department.path))
    return [(d, counts.get(d.id, 0)) for d in departments]


def _parent_is(parent_id: int | None):
    return Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id


async def direct_member_count(tx: Transaction, department_id: int) -> int:
    return await tx.session.scalar(select(func.count(Membership.id)).where(Membership.department_id == department_id))


async def _check_name_free(tx: Transaction, parent_id: int | None, name: str, *, other_than: int | None = None) -> None:
    # The unique constraint cannot see duplicates at the top level (NULL parents), so check here for both.
    query = select(Department.id).where(_parent_is(parent_id), Department.name == name)
    if other_than is not None:
        query = query.where(Department.id != other_than)
    if await tx.session.scalar(query) is not None:
        raise Conflict("there is already a department '{name}' there", field="name", name=name)


async def do_create_department(tx: Transaction, *, name: str, parent_id: int | None) -> Department:
    name = check_department_name(name)
    parent = await get_department(tx, parent_id, field="parent_id") if parent_id is not None else None
    if parent is not None and depth(parent.path) >= MAX_DEPTH:
        raise InvalidInput("departments nest at most {max_depth} levels deep", field="parent_id", max_depth=MAX_DEPTH)
    await _check_name_free(tx, parent_id, name)
    department = Department(org_id=tx.org_id, parent_id=parent_id, name=name, path="")
    tx.session.add(department)
    await tx.session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    await tx.session.flush()
    return department


async def do_update_department(tx: Transaction, department_id: int, *, name: str | None = None, move: bool = False, parent_id: int | None = None) -> Department:
    """Rename and/or move (``move=True``: under ``parent_id``, None for the top level) a department with its whole branch."""
    department = await get_department(tx, department_id)
    new_name = check_department_name(name) if name is not None else department.name
    new_parent_id = parent_id if move else department.parent_id
    if new_name != department.name or new_parent_id != department.parent_id:
        await _check_name_free(tx, new_parent_id, new_name, other_than=department.id)
    if new_parent_id != department.parent_id:
        await _move(tx, department, new_parent_id)
    department.name = new_name
    await tx.session.flush()
    return department


async def _move(tx: Transaction, department: Department, parent_id: int | None) -> None:
    parent = await get_department(tx, parent_id, field="parent_id") if parent_id is not None else None
    if parent is not None and parent.path.startswith(department.path):
        raise InvalidInput("a department cannot move under itself or one of its sub-departments", field="parent_id")
    old_prefix = department.path
    new_prefix = f"{parent.path if parent else '/'}{department.id}/"
    branch_paths: Sequence[str] = (await tx.session.scalars(select(Department.path).where(Department.path.startswith(old_prefix)))).all()
    deepest = max(depth(p) for p in branch_paths) - depth(old_prefix) + depth(new_prefix)
    if deepest > MAX_DEPTH:
        raise InvalidInput("departments nest at most {max_depth} levels deep; this move would make {deepest}", field="parent_id", max_depth=MAX_DEPTH, deepest=deepest)
    await tx.session.execute(
        update(Department)
        .where(Department.path.startswith(old_prefix))
        .values(path=literal(new_prefix, String) + func.substr(Department.path, len(old_prefix) + 1, type_=String))
        .execution_options(synchronize_session=False)
    )
    department.parent_id = parent_id
    department.path = new_prefix


async def do_delete_department(tx: Transaction, department_id: int) -> None:
    """Only an empty leaf goes: people and sub-departments must be moved first, never lost silently."""
    department = await get_department(tx, department_id)
    children = await tx.session.scalar(select(func.count(Department.id)).where(Department.parent_id == department.id))
    if children:
        raise Conflict("'{name}' has {children} sub-department(s); move or delete them first", name=department.name, children=children)
    members = await direct_member_count(tx, department.id)
    if members:
        raise Conflict("'{name}' has {members} member(s); move them to another department first", name=department.name, members=members)
    await tx.session.delete(department)
    await tx.session.flush()


async def do_ensure_department_path(tx: Transaction, names: Sequence[str]) -> int:
    """The id of the department at ``names`` ("Surgery", "Ward 3"), creating missing levels; for the import."""
    parent: Department | None = None
    for name in names:
        parent_id = parent.id if parent else None
        found = await tx.session.scalar(
            select(Department).where(_parent_is(parent_id), Department.name == name)
        )
        parent = found if found is not None else await do_create_department(tx, name=name, parent_id=parent_id)
    assert parent is not None, "an empty department path"
    return parent.id
