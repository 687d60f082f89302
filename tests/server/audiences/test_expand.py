"""Expanding audiences: the built-in kinds, unknown ids, a kind a capability registers, chunks."""
from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Select, func, null, select, update
from sqlalchemy.sql.elements import ColumnElement

from server.audiences import kinds
from server.audiences.expand import Audience, Member, resolve_audience
from server.audiences.kinds import existing, register_audience_kind
from server.accounts.models import User
from server.db import Transaction
from server.errors import InvalidInput
from server.groups.models import Group, GroupMember
from server.orgs.models import Department, Membership
from tests.server.audiences.world import build_world


@pytest.fixture
async def world(db):
    return await build_world(db)


async def expand(db, world, parts: dict, *, everyone: bool = False, size: int = 5000) -> tuple[list[list[Member]], dict]:
    async with db.transaction(org_id=world.org_id) as tx:
        resolved = await resolve_audience(tx, Audience(parts, everyone))
        chunks = [chunk async for chunk in resolved.chunks(tx, size=size)]
    return chunks, resolved.unknown


def names(world, chunks) -> list[str]:
    by_id = {v: k for k, v in world.people.items()}
    return [by_id[m.user_id] for chunk in chunks for m in chunk]


async def test_departments_cover_their_subtree_and_groups_only_members(db, world):
    d, g = world.departments, world.groups
    chunks, unknown = await expand(db, world, {"departments": [d["grade1"]], "groups": [g["team"]]})
    assert sorted(names(world, chunks)) == ["ben", "cat", "dan", "eve"]  # gus is in the group but not a member
    assert unknown == {"departments": [], "groups": []}
    member = next(m for chunk in chunks for m in chunk if m.user_id == world.people["cat"])
    assert member == (world.people["cat"], "Cat", member.phone, d["class1a"]) and member.phone.startswith("+44")


async def test_each_person_once_and_unknown_ids_reported(db, world):
    p, d, g = world.people, world.departments, world.groups
    parts = {"users": [p["dan"], p["dan"], p["fay"], p["gus"], p["zed"], 2**62],
             "departments": [d["class1a"], d["other"], 2**62], "groups": [g["team"], g["other"]]}
    chunks, unknown = await expand(db, world, parts)
    assert names(world, chunks) == ["cat", "dan", "eve", "fay"]  # by user id, dan once
    assert unknown == {"users": sorted([p["gus"], p["zed"], 2**62]), "departments": sorted([d["other"], 2**62]), "groups": [g["other"]]}


async def test_everyone_and_nobody(db, world):
    chunks, unknown = await expand(db, world, {"users": [world.people["zed"]]}, everyone=True)
    assert names(world, chunks) == ["amy", "ben", "cat", "dan", "eve", "fay"] and unknown == {}
    chunks, unknown = await expand(db, world, {"users": [world.people["zed"]], "groups": []})
    assert chunks == [] and unknown == {"users": [world.people["zed"]]}


async def test_chunks_are_bounded_and_in_order(db, world):
    chunks, _ = await expand(db, world, {}, everyone=True, size=4)
    assert [len(c) for c in chunks] == [4, 2]
    chunks, _ = await expand(db, world, {}, everyone=True, size=2)
    assert [len(c) for c in chunks] == [2, 2, 2]
    ids = [m.user_id for c in chunks for m in c]
    assert ids == sorted(ids)


async def test_other_statements_run_between_chunks(db, world):
    """A caller stores each chunk as it comes, in the same transaction, while the expansion's cursor stays open."""
    seen = []
    async with db.transaction(org_id=world.org_id) as tx:
        resolved = await resolve_audience(tx, Audience(everyone=True))
        async for chunk in resolved.chunks(tx, size=2):
            for member in chunk:
                await tx.session.execute(update(Membership).where(Membership.user_id == member.user_id).values(title="reached"))
            seen.append(await tx.session.scalar(select(func.count()).select_from(Membership).where(Membership.title == "reached")))
    assert seen == [2, 4, 6]


class DirectMembers:
    """A kind a capability would add: the members of a department itself, not of the ones under it."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, Department.id, ids)

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        return [Membership.department_id.in_(ids)]


@pytest.fixture
def direct_members():
    register_audience_kind("test_direct", DirectMembers())
    yield
    del kinds._kinds["test_direct"]


async def test_a_registered_kind_combines_with_the_others(db, world, direct_members):
    d, p = world.departments, world.people
    chunks, unknown = await expand(db, world, {"test_direct": [d["school"], d["other"]], "users": [p["fay"]]})
    assert names(world, chunks) == ["amy", "fay"]
    assert unknown == {"test_direct": [d["other"]], "users": []}
    async with db.transaction(org_id=world.org_id) as tx:
        resolved = await resolve_audience(tx, Audience({"test_direct": [d["school"], d["office"]], "departments": [d["school"]]}))
        assert await resolved.count_parts(tx) == {"test_direct": 2, "departments": 4}
        assert await resolved.count(tx) == 5


async def test_a_kind_registered_twice_differently_and_an_unknown_kind_are_refused(db, world, direct_members):
    with pytest.raises(ValueError):
        register_audience_kind("test_direct", kinds.Groups())
    register_audience_kind("test_direct", DirectMembers())  # the same again (a module imported twice) is fine
    async with db.transaction(org_id=world.org_id) as tx:
        with pytest.raises(InvalidInput) as refused:
            await resolve_audience(tx, Audience({"school_units": [1]}))
    assert refused.value.field == "parts.school_units"


class GroupPeople:
    """A kind that reaches people who need not be members: everyone in a group, by their account's name (as a
    capability's outsiders, a school's guardians, would be)."""

    async def found(self, tx: Transaction, ids: Sequence[int]) -> set[int]:
        return await existing(tx, Group.id, ids)

    async def covers(self, tx: Transaction, ids: Sequence[int]) -> list[ColumnElement[bool]]:
        return []

    async def outsiders(self, tx: Transaction, ids: Sequence[int]) -> Select:
        return (
            select(GroupMember.user_id.label("user_id"), User.name.label("name"), null().label("phone"), null().label("department_id"))
            .join(User, User.id == GroupMember.user_id)
            .where(GroupMember.org_id == tx.org_id, GroupMember.group_id.in_(ids))
        )


@pytest.fixture
def group_people():
    register_audience_kind("test_group_people", GroupPeople())
    yield
    del kinds._kinds["test_group_people"]


async def test_a_kind_reaches_people_who_are_not_members_each_once_a_member_as_the_member(db, world, group_people):
    p, d, g = world.people, world.departments, world.groups
    chunks, unknown = await expand(db, world, {"test_group_people": [g["team"], g["other"]]})
    assert names(world, chunks) == ["dan", "eve", "gus"] and unknown == {"test_group_people": [g["other"]]}
    assert chunks[0][-1] == (p["gus"], "Gus", None, None)
    chunks, _ = await expand(db, world, {"test_group_people": [g["team"]], "departments": [d["class1a"]], "users": [p["dan"]]})
    assert names(world, chunks) == ["cat", "dan", "eve", "gus"]  # dan once, though three parts name him
    dan = next(m for chunk in chunks for m in chunk if m.user_id == p["dan"])
    assert dan.department_id == d["class1a"] and dan.phone  # as the member he also is, not by his account's name
    chunks, _ = await expand(db, world, {"test_group_people": [g["team"]]}, everyone=True)
    assert names(world, chunks) == ["amy", "ben", "cat", "dan", "eve", "fay", "gus"]  # everyone is every member; the kind adds gus


async def test_people_who_are_not_members_are_counted_and_streamed_in_bounded_chunks(db, world, group_people):
    d, g = world.departments, world.groups
    async with db.transaction(org_id=world.org_id) as tx:
        resolved = await resolve_audience(tx, Audience({"test_group_people": [g["team"]], "departments": [d["grade1"]]}))
        assert await resolved.count(tx) == 5  # ben, cat, dan; eve and gus
        assert await resolved.count_parts(tx) == {"test_group_people": 3, "departments": 3}
        assert [len(c) for c in [chunk async for chunk in resolved.chunks(tx, size=2)]] == [2, 2, 1]
        assert await tx.session.scalar(select(func.count()).select_from(resolved.people().subquery())) == 5
