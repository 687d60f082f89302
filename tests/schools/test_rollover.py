"""The school year's rollover: classes move up a grade, the final grade graduates, transfers keep guardians."""
from __future__ import annotations

from sqlalchemy import select

from schools.models import SchoolUnit, Student, UnitRole
from server.orgs.models import Department
from tests.schools.conftest import Bureau
from tests.server.orgs.conftest import ok


async def test_classes_move_up_the_final_grade_graduates_and_transfers_keep_guardians(client, bureau: Bureau):
    group = await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/group"), headers=bureau.owner), 201)
    body = {"label": "2024-2025", "final_level": 6,
            "transfers": [{"student_id": bureau.students["P0003"], "class_id": bureau.units["S0201-G1C1"]}]}
    report = await ok(await client.post(bureau.url(f"/units/{bureau.units['BUREAU']}/rollover"), json=body, headers=bureau.owner))
    assert report == {"schools": 2, "promoted": 3, "graduated_classes": 1, "graduated_students": 1, "transferred": 1,
                      "grades_made": 2, "unlevelled": [], "blocked": []}
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        units = {u.external_id: (u, d) for u, d in (await tx.session.execute(
            select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id))).all()}
        c1, c1_department = units["S0101-G1C1"]
        grade = await tx.session.get(Department, c1_department.parent_id)
        assert (c1.level, grade.name) == (2, "Grade 2")  # made, named like "Grade 1" with the number changed
        graduated, graduated_department = units["S0101-G6C1"]
        assert graduated.archived_at is not None and graduated_department.name == "Class 1 (2024-2025)"
        assert await tx.session.scalar(select(UnitRole.id).where(UnitRole.unit_id == graduated.department_id)) is None
        huang = await tx.session.scalar(select(Student).where(Student.external_id == "P0005"))
        assert huang.archived_reason == "graduated"
        liu = await tx.session.scalar(select(Student).where(Student.external_id == "P0003"))
        assert liu.class_id == bureau.units["S0201-G1C1"] and units["S0201-G1C1"][0].level == 2
    child = await ok(await client.get(bureau.url(f"/students/{bureau.students['P0003']}"), headers=bureau.owner))
    assert [g["name"] for g in child["guardians"]] == ["Liu Qiang"] and child["trail"][2]["name"] == "South No. 3 Primary School"
    # the graduates' guardians left the class group and, with no other child on the roll, the organisation
    huang_mei = await bureau.guardian("+8613900000005")
    assert (await client.get(bureau.url("/me"), headers=huang_mei)).status == 404
    detail = await ok(await client.get(bureau.org.url(f"/groups/{group['group_id']}"), headers=bureau.owner))
    assert detail["member_count"] == 1  # its owner


async def test_by_default_a_school_graduates_its_highest_grade_and_a_class_with_its_name_blocks_a_move(client, bureau: Bureau):
    li = await bureau.staff("T0003")  # the school admin of S0101
    grade2 = await ok(await client.post(bureau.url("/units"), json={"kind": "grade", "name": "Grade 2", "parent_id": bureau.units["S0101"], "level": 2},
                                        headers=li), 201)
    odd = await ok(await client.post(bureau.url("/units"), json={"kind": "class", "name": "Class 1", "parent_id": grade2["id"]}, headers=li), 201)
    assert odd["level"] == 2  # its grade's
    await ok(await client.patch(bureau.url(f"/units/{odd['id']}"), json={"level": None}, headers=li))
    report = await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101']}/rollover"), json={"label": "2025"}, headers=li))
    # grade 6 graduates; Grade 1's Class 2 moves up; its Class 1 cannot, the class without a level stays in its way
    assert report["schools"] == 1 and report["graduated_classes"] == 1 and report["promoted"] == 1
    assert report["unlevelled"] == [odd["id"]] and report["blocked"] == [bureau.units["S0101-G1C1"]]
    chen = await bureau.staff("T0004")  # a teacher does not roll the year over
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/rollover"), json={"label": "2025"}, headers=chen)).status == 403
    resp = await client.post(bureau.url(f"/units/{bureau.units['S0101']}/rollover"), json={"label": "20/25"}, headers=li)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "label"
