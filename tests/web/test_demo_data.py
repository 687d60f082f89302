"""``muster demo``'s organisation (server/demo.py): what the pages show on a fresh machine.

Unlike the page tests, these run on both storage backends: the demo is seeded
into whatever database ``muster demo`` is pointed at.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.demo import DEMO_DEPARTMENTS, DEMO_LOGINS, DEMO_ORG_SLUG, DEMO_PEOPLE, do_seed_demo
from server.orgs.models import Department, Membership, Organisation
from tests.factories import sign_in

both_backends = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


def platform_departments():
    """The demo's own departments: not the units of the school hierarchy schools/demo.py adds beside them."""
    from schools.models import SchoolUnit

    return select(Department).where(Department.id.not_in(select(SchoolUnit.department_id)))


async def counts(db) -> tuple[int, int, int]:
    async with db.transaction() as tx:
        orgs = await tx.session.scalar(select(func.count()).select_from(Organisation))
        departments = await tx.session.scalar(select(func.count()).select_from(platform_departments().subquery()))
        members = await tx.session.scalar(select(func.count()).select_from(Membership))
    return orgs, departments, members


@both_backends
async def test_seeding_twice_changes_nothing_the_second_time(db):
    first = await do_seed_demo(db)
    before = await counts(db)
    second = await do_seed_demo(db)
    assert second == first
    assert await counts(db) == before == (1, len(DEMO_DEPARTMENTS), len(DEMO_LOGINS) + len(DEMO_PEOPLE))


@both_backends
async def test_departments_form_the_tree_their_paths_describe(db):
    demo = await do_seed_demo(db)
    async with db.transaction(org_id=demo.org_id) as tx:
        departments = {d.id: d for d in (await tx.session.execute(platform_departments())).scalars()}
    by_name_path = {}
    for d in departments.values():
        chain, node = [], d
        while node is not None:
            chain.insert(0, node)
            node = departments.get(node.parent_id)
        by_name_path["/".join(n.name for n in chain)] = d
        assert d.path == "/" + "".join(f"{n.id}/" for n in chain)
    assert set(by_name_path) == set(DEMO_DEPARTMENTS)


@both_backends
async def test_every_demo_login_signs_in_and_the_first_owns_the_organisation(client, db):
    demo = await do_seed_demo(db)
    for login in DEMO_LOGINS:
        headers = await sign_in(client, login.email, login.password)
        orgs = await (await client.get("/api/v1/orgs", headers=headers)).json()
        assert [(o["slug"], o["role"]) for o in orgs] == [(DEMO_ORG_SLUG, login.role)]
        assert orgs[0]["id"] == demo.org_id
    assert DEMO_LOGINS[0].role == "owner"


@both_backends
async def test_every_member_has_a_department_title_and_distinct_phone(db):
    demo = await do_seed_demo(db)
    async with db.transaction(org_id=demo.org_id) as tx:
        members = (await tx.session.execute(select(Membership))).scalars().all()
    assert all(m.department_id is not None and m.title for m in members)
    phones = [m.phone for m in members]
    assert len(set(phones)) == len(phones) == demo.member_count


@both_backends
async def test_the_nurse_finds_every_capability_filled_in_on_her_home_page(client, db):
    """Groups with history and a mention, a notice waiting for her, tomorrow's meeting: all within a minute of signing in."""
    demo = await do_seed_demo(db)
    await do_seed_demo(db)  # idempotent for the groups, the notice and the meeting too
    nurse = next(login for login in DEMO_LOGINS if login.email.startswith("nurse"))
    headers = await sign_in(client, nurse.email, nurse.password)
    groups = await (await client.get(f"/api/v1/orgs/{demo.org_id}/groups", headers=headers)).json()
    assert len(groups) == 2
    emergency = next(g for g in groups if g["name"] == "Emergency department")
    assert emergency["unread"] >= 6  # the history and the announcement, none read by her yet
    history = await (await client.get(f"/api/v1/orgs/{demo.org_id}/groups/{emergency['id']}/messages", headers=headers)).json()
    me = await (await client.get("/api/v1/me", headers=headers)).json()
    assert any(me["id"] in m.get("mentions", []) for m in history["messages"])
    received = await (await client.get(f"/api/v1/orgs/{demo.org_id}/broadcasts/received", headers=headers)).json()
    assert [b["title"] for b in received] == ["Fire drill today at 15:00"]
    assert received[0]["state"] not in ("confirmed",)
    meetings = await (await client.get(f"/api/v1/orgs/{demo.org_id}/meetings", headers=headers)).json()
    assert [m["title"] for m in meetings] == ["Ward handover"]
    home = await (await client.get(f"/api/v1/orgs/{demo.org_id}/home", headers=headers)).json()
    sections = {s["key"]: [i["title"] for i in s["items"]] for s in home}
    assert set(sections["groups"]) == {g["name"] for g in groups}
    assert "Fire drill today at 15:00" in sections["notices"]
    assert sections["meetings"] == ["Ward handover"]
