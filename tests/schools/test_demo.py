"""The demo's school side (schools/demo.py): the demo teacher's class, its children and guardians, its group."""
from __future__ import annotations

from sqlalchemy import func, select

from schools.models import Guardian, Student
from server.forms.models import FormRound, RoundSchedule
from server.demo import do_seed_demo
from tests.factories import sign_in
from tests.schools.conftest import headers_of
from tests.server.orgs.conftest import ok


async def test_the_demo_teacher_has_a_class_with_children_guardians_and_a_group(client, db):
    demo = await do_seed_demo(db)
    await do_seed_demo(db)  # again: nothing new
    async with db.transaction(org_id=demo.org_id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Student)) == 6
        mother = await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == "+8613700000001"))
    teacher = await sign_in(client, "teacher@riverside.example", "riverside-teacher")
    me = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/schools/me", headers=teacher))
    head = next(r["unit"]["id"] for r in me["roles"] if r["role"] == "head_teacher")
    unit = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/schools/units/{head}", headers=teacher))
    assert unit["name"] == "Class 1A" and unit["counts"]["students"] == 4 and unit["group_id"] is not None
    chen = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/schools/me", headers=await headers_of(db, mother)))
    assert [c["name"] for c in chen["children"]] == ["Chen Xiaoyu", "Chen Xiaolei"]
    assert [c["group_id"] for c in chen["children"]] == [unit["group_id"], None]
    places = await ok(await client.get(f"/api/v1/navigation?org_id={demo.org_id}", headers=teacher))
    assert "family-links" in [p["key"] for p in places]  # his class's cards to print, for families like Li Ming's (no phone)
    sheet = await ok(await client.post(f"/api/v1/orgs/{demo.org_id}/schools/units/{head}/family-links", json={}, headers=teacher), 201)
    assert [link["name"] for link in sheet["links"]] == ["Chen Xiaoyu", "Emma Wilson", "Li Haoran", "Zhang Yutong"]
    assert sheet["phone_sign_in_url"] is not None  # the others' guardians sign in with their phone


async def test_the_demo_schools_families_have_todays_health_report_and_the_teacher_follows_his_classes(client, db):
    demo = await do_seed_demo(db)
    await do_seed_demo(db)  # again: the same round, not a second
    async with db.transaction(org_id=demo.org_id) as tx:
        (round_,) = list(await tx.session.scalars(select(FormRound)))
        schedules = await tx.session.scalar(select(func.count()).select_from(RoundSchedule))
        mother = await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == "+8613700000001"))
    assert round_.respondent_kind == "student" and round_.expected == 6 and schedules == 1
    teacher = await sign_in(client, "teacher@riverside.example", "riverside-teacher")
    dashboard = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/rounds/{round_.id}/dashboard", headers=teacher))
    assert sorted((c["name"], c["counts"]["expected"]) for c in dashboard["children"]) == [("Class 1A", 4), ("Class 1B", 2)]
    home = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/home", headers=await headers_of(db, mother)))
    assert [i["title"] for i in home[0]["items"]] == ["Daily health report"]
    mine = await ok(await client.get(f"/api/v1/orgs/{demo.org_id}/rounds/{round_.id}", headers=await headers_of(db, mother)))
    assert [m["name"] for m in mine["mine"]] == ["Chen Xiaoyu", "Chen Xiaolei"]
