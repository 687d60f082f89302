"""The school year's rollover: classes move up a grade, the final grade graduates, transfers keep guardians; it runs as a
job the page polls, at most once per school and school year, one job at a time per organisation."""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, update

from schools.models import SchoolJob, SchoolRollover, SchoolUnit, Student, UnitRole
from schools.rollover import do_rollover
from server.db import utcnow
from server.orgs.models import Department
from tests.schools.conftest import Bureau, poll
from tests.server.orgs.conftest import ok

REPORT = {"schools", "already", "promoted", "graduated_classes", "graduated_students", "transferred", "grades_made", "unlevelled", "blocked"}


async def roll_over(client, bureau: Bureau, unit: str, body: dict, headers: dict | None = None) -> dict:
    """Start the rollover of ``unit`` (202, a job) and follow its job to its end."""
    headers = headers or bureau.owner
    started = await ok(await client.post(bureau.url(f"/units/{bureau.units[unit]}/rollover"), json=body, headers=headers), 202)
    assert started["unit_id"] == bureau.units[unit] and started["label"] == body["label"].strip()
    job = await poll(client, bureau.url(f"/rollovers/{started['id']}"), headers)
    assert job["status"] == "done", job
    return job


def counts(job: dict) -> dict:
    return {key: job[key] for key in REPORT}


async def test_classes_move_up_the_final_grade_graduates_and_transfers_keep_guardians(client, bureau: Bureau):
    group = await ok(await client.post(bureau.url(f"/units/{bureau.units['S0101-G6C1']}/group"), headers=bureau.owner), 201)
    body = {"label": "2024-2025", "final_level": 6,
            "transfers": [{"student_id": bureau.students["P0003"], "class_id": bureau.units["S0201-G1C1"]}]}
    job = await roll_over(client, bureau, "BUREAU", body)
    assert counts(job) == {"schools": 2, "already": [], "promoted": 3, "graduated_classes": 1, "graduated_students": 1, "transferred": 1,
                           "grades_made": 2, "unlevelled": [], "blocked": []}
    assert (job["schools_total"], job["failure"]) == (2, None) and job["finished_at"] is not None
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
    report = await roll_over(client, bureau, "S0101", {"label": "2025"}, li)
    # grade 6 graduates; Grade 1's Class 2 moves up; its Class 1 cannot, the class without a level stays in its way
    assert report["schools"] == 1 and report["graduated_classes"] == 1 and report["promoted"] == 1
    assert report["unlevelled"] == [odd["id"]] and report["blocked"] == [bureau.units["S0101-G1C1"]]
    chen = await bureau.staff("T0004")  # a teacher does not roll the year over
    assert (await client.post(bureau.url(f"/units/{bureau.units['S0101-G1C1']}/rollover"), json={"label": "2025"}, headers=chen)).status == 403
    resp = await client.post(bureau.url(f"/units/{bureau.units['S0101']}/rollover"), json={"label": "20/25"}, headers=li)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "label"


async def test_a_school_rolls_over_once_per_school_year_and_says_which_it_left_alone(client, bureau: Bureau):
    first = await roll_over(client, bureau, "S0101", {"label": "2024-2025", "final_level": 6})
    assert (first["schools"], first["promoted"], first["graduated_classes"]) == (1, 2, 1)
    again = await roll_over(client, bureau, "BUREAU", {"label": " 2024-2025 ", "final_level": 6})  # the bureau's: S0101 did that year, S0201 did not
    assert (again["schools"], again["already"], again["schools_total"]) == (1, [bureau.units["S0101"]], 2)
    assert again["promoted"] == 1 and again["graduated_classes"] == 0  # South's class only
    twice = await roll_over(client, bureau, "BUREAU", {"label": "2024-2025", "final_level": 6})
    assert counts(twice) == {"schools": 0, "already": [bureau.units["S0101"], bureau.units["S0201"]], "promoted": 0, "graduated_classes": 0,
                             "graduated_students": 0, "transferred": 0, "grades_made": 0, "unlevelled": [], "blocked": []}
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        levels = dict((await tx.session.execute(select(SchoolUnit.external_id, SchoolUnit.level).where(SchoolUnit.kind == "class"))).all())
        done = {(r.school_id, r.label): r.counts for r in await tx.session.scalars(select(SchoolRollover))}
    assert levels["S0101-G1C1"] == 2 and levels["S0201-G1C1"] == 2  # moved up once
    assert done[bureau.units["S0101"], "2024-2025"]["promoted"] == 2 and set(done) == {
        (bureau.units["S0101"], "2024-2025"), (bureau.units["S0201"], "2024-2025")}
    next_year = await roll_over(client, bureau, "S0201", {"label": "2025-2026", "final_level": 6})
    assert next_year["schools"] == 1  # another year rolls over again


async def test_two_rollovers_at_once_roll_each_school_over_once(bureau: Bureau):
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        path = await tx.session.scalar(select(Department.path).where(Department.id == bureau.units["BUREAU"]))
    reports = await asyncio.gather(*(do_rollover(bureau.db, bureau.org.id, path, label="2025", final_level=6, transfers=[]) for _ in range(2)))
    assert sum(r.schools for r in reports) == 2 and sum(len(r.already) for r in reports) == 2
    assert sum(r.promoted for r in reports) == 3 and sum(r.graduated_classes for r in reports) == 1
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(SchoolRollover)) == 2


async def test_one_job_at_a_time_per_organisation_and_a_stalled_one_gives_way(client, bureau: Bureau):
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:
        running = SchoolJob(org_id=bureau.org.id, kind="import", status="running", files=["units.csv"], report={})
        tx.session.add(running)
    busy = await client.post(bureau.url(f"/units/{bureau.units['S0101']}/rollover"), json={"label": "2025"}, headers=bureau.owner)
    assert busy.status == 409 and "running" in (await busy.json())["error"]["message"]
    async with bureau.db.transaction(org_id=bureau.org.id) as tx:  # its node stopped two minutes ago
        await tx.session.execute(update(SchoolJob).values(updated_at=utcnow() - dt.timedelta(minutes=3)))
    job = await roll_over(client, bureau, "S0101", {"label": "2025"})
    assert job["schools"] == 1
    imports = await ok(await client.get(bureau.url("/imports"), headers=bureau.owner))
    assert [j["id"] for j in imports] == [running.id]  # the rollover is no import
    assert (await client.get(bureau.url(f"/imports/{job['id']}"), headers=bureau.owner)).status == 404


async def test_a_rollovers_job_is_seen_by_who_may_roll_its_unit_over(client, bureau: Bureau):
    li = await bureau.staff("T0003")  # the admin of S0101
    job = await roll_over(client, bureau, "S0101", {"label": "2025"}, li)
    url = bureau.url(f"/rollovers/{job['id']}")
    assert (await client.get(url, headers=await bureau.staff("T0002"))).status == 200  # North District's staff
    for outside in ("T0004", "T0006"):  # its head teacher; another school's teacher
        assert (await client.get(url, headers=await bureau.staff(outside))).status == 404
    chinese = await ok(await client.get(url, headers=li | {"Accept-Language": "zh-CN"}))
    assert chinese["status"] == "done"


async def test_the_rollovers_list_holds_those_of_units_the_caller_manages_newest_first(client, bureau: Bureau):
    north = await roll_over(client, bureau, "S0101", {"label": "2025"}, await bureau.staff("T0003"))  # by North No. 1's admin
    south = await roll_over(client, bureau, "S0201", {"label": "2025"})
    listed = {}
    for who in ("T0001", "T0002", "T0003", "T0004", "T0006"):  # bureau, North District, North No. 1, a head teacher, South No. 3's teacher
        listed[who] = [j["id"] for j in await ok(await client.get(bureau.url("/rollovers"), headers=await bureau.staff(who)))]
    assert listed == {"T0001": [south["id"], north["id"]], "T0002": [north["id"]], "T0003": [north["id"]], "T0004": [], "T0006": []}
    assert [j["id"] for j in await ok(await client.get(bureau.url("/rollovers"), headers=bureau.owner))] == [south["id"], north["id"]]
    assert (await client.get(bureau.url("/rollovers"), headers=await bureau.guardian("+8613900000003"))).status == 404
