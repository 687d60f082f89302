"""A sender limited to parts of the tree: what lies under them passes, the rest reads as unknown."""
from __future__ import annotations

import pytest

from server.audiences.expand import Audience
from server.audiences.reach import check_audience_within
from server.errors import InvalidInput
from server.orgs.models import Department
from tests.server.audiences.world import build_world


@pytest.fixture
async def world(db):
    return await build_world(db)


async def check(db, world, parts: dict, paths: list[str], *, everyone: bool = False) -> None:
    async with db.transaction(org_id=world.org_id) as tx:
        await check_audience_within(tx, Audience(parts, everyone), paths)


async def path_of(db, world, name: str) -> str:
    async with db.transaction(org_id=world.org_id) as tx:
        return (await tx.session.get(Department, world.departments[name])).path


async def test_departments_and_members_under_the_paths_pass(db, world):
    d, p = world.departments, world.people
    grade1 = await path_of(db, world, "grade1")
    await check(db, world, {"departments": [d["grade1"], d["class1a"]], "users": [p["ben"], p["cat"]]}, [grade1])
    await check(db, world, {"users": [p["fay"]], "groups": [world.groups["team"]]}, ["/"], everyone=True)


@pytest.mark.parametrize("parts, field", [
    (lambda d, p, g: {"departments": [d["school"]]}, "audience.departments"),  # above the sender
    (lambda d, p, g: {"departments": [d["office"]]}, "audience.departments"),  # beside
    (lambda d, p, g: {"departments": [d["other"]]}, "audience.departments"),  # another organisation's
    (lambda d, p, g: {"users": [p["amy"]]}, "audience.users"),  # a member above
    (lambda d, p, g: {"users": [p["fay"]]}, "audience.users"),  # a member of no department
    (lambda d, p, g: {"groups": [g["team"]]}, "audience.groups"),  # a group lies nowhere
])
async def test_what_lies_outside_reads_as_unknown(db, world, parts, field):
    grade1 = await path_of(db, world, "grade1")
    with pytest.raises(InvalidInput) as refused:
        await check(db, world, parts(world.departments, world.people, world.groups), [grade1])
    assert refused.value.field == field and refused.value.msgid == "no such {kind} in this organisation: {ids}"


async def test_everyone_only_for_the_whole_organisation(db, world):
    grade1 = await path_of(db, world, "grade1")
    with pytest.raises(InvalidInput) as refused:
        await check(db, world, {}, [grade1], everyone=True)
    assert refused.value.field == "audience.everyone"
