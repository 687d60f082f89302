"""Importing the hierarchy: CSV and XLSX, idempotent by external ids, row errors by number, departed children archived."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from schools.models import Guardian, SchoolUnit, Student, StudentGuardian, UnitRole
from server.orgs.models import Department, Membership
from tests.schools.conftest import import_files, new_bureau, poll


async def test_the_samples_import_the_whole_hierarchy(db):
    bureau = await new_bureau(db)
    async with db.transaction(org_id=bureau.org.id) as tx:
        kinds = dict((await tx.session.execute(select(SchoolUnit.kind, func.count()).group_by(SchoolUnit.kind))).all())
        assert kinds == {"bureau": 1, "district": 2, "school": 2, "grade": 3, "class": 4}
        paths = dict((await tx.session.execute(select(Department.name, Department.path).where(Department.id == bureau.units["S0101-G1C1"]))).all())
        assert paths["Class 1"].count("/") == 6  # bureau / district / school / grade / class
        assert await tx.session.scalar(select(func.count()).select_from(Student)) == 5
        # Wang Fang is one guardian of two children in two schools; Huang Gang has no phone and no account.
        wang = await tx.session.scalar(select(Guardian).where(Guardian.phone == "+8613900000001"))
        assert await tx.session.scalar(select(func.count()).where(StudentGuardian.guardian_id == wang.id)) == 2
        assert wang.user_id is not None
        huang = await tx.session.scalar(select(Guardian).where(Guardian.name == "Huang Gang"))
        assert huang.phone is None and huang.user_id is None
        roles = (await tx.session.execute(select(UnitRole.role, func.count()).group_by(UnitRole.role))).all()
        assert dict(roles) == {"bureau_staff": 1, "district_staff": 1, "school_admin": 1, "head_teacher": 4, "subject_teacher": 1}
        teacher = await tx.session.scalar(select(Membership).where(Membership.external_id == "T0004"))
        assert teacher.department_id == bureau.units["S0101"] and teacher.role == "member"


async def test_importing_again_changes_nothing(db):
    bureau = await new_bureau(db)
    report = await import_files(db, bureau.org.id)
    assert report.failed == 0
    assert {k: v for k, v in report.counts.items() if v} == {"staff_updated": 6}  # the member import counts matched rows as updated


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


async def test_bad_rows_are_reported_by_number_and_the_others_go_in(db, tmp_path):
    bureau = await new_bureau(db)
    students = write(tmp_path / "students.csv", (
        "external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation\n"
        "P0101,Good Child,S0101-G1C1,Good Parent,13900000101,mother\n"
        "P0102,,S0101-G1C1,,,\n"                                  # row 3: no name
        "P0103,Wrong Class,NO-SUCH-CLASS,,,\n"                    # row 4: unknown class
        "P0104,Bad Phone,S0101-G1C1,Parent,12345,father\n"        # row 5: a phone that is none
        "P0105,Half Guardian,S0101-G1C1,,13900000105,\n"          # row 6: a guardian without a name
    ))
    report = await import_files(db, bureau.org.id, [("students.csv", students)])
    problems = {(e.row, e.field) for e in report.errors}
    assert problems == {(3, "name"), (4, "class"), (5, "guardian1_phone"), (6, "guardian1_name")}
    assert all(e.source == "students.csv" for e in report.errors)
    assert report.failed == 4 and report.counts["students_created"] == 1
    async with db.transaction(org_id=bureau.org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(Student).where(Student.external_id.like("P01%"))) == 1
        # a row is all or nothing: the child with the bad guardian phone is not there either
        assert await tx.session.scalar(select(Student.id).where(Student.external_id == "P0104")) is None


async def test_a_re_import_updates_transfers_keeps_guardians_and_archives_who_departed(db, tmp_path):
    bureau = await new_bureau(db)
    # P0003 moved to class C2, P0004 left North No. 1, P0005's guardian changed her name; South No. 3 is not in the file.
    students = write(tmp_path / "students.csv", (
        "external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation\n"
        "P0001,Wang Xiaoming,S0101-G1C1,Wang Fang,13900000001,mother\n"
        "P0003,Liu Yang,S0101-G1C2,,,\n"
        "P0005,Huang Bo,S0101-G6C1,Huang Meimei,13900000005,mother\n"
    ))
    report = await import_files(db, bureau.org.id, [("students.csv", students)])
    assert report.failed == 0
    assert report.counts["students_transferred"] == 1 and report.counts["departed"] == 1
    assert [d["external_id"] for d in report.departed] == ["P0004"]
    async with db.transaction(org_id=bureau.org.id) as tx:
        by_id = {s.external_id: s for s in await tx.session.scalars(select(Student))}
        assert by_id["P0004"].archived_reason == "departed" and by_id["P0004"].archived_at is not None  # archived, not deleted
        assert by_id["P0002"].archived_at is None  # another school: untouched
        assert by_id["P0003"].class_id == bureau.units["S0101-G1C2"]
        # the transfer kept Liu Yang's father; Wang Wei stays linked though the file has only Wang Fang
        links = await tx.session.scalar(select(func.count()).where(StudentGuardian.student_id == by_id["P0003"].id))
        assert links == 1
        assert await tx.session.scalar(select(func.count()).where(StudentGuardian.student_id == by_id["P0001"].id)) == 2
        assert await tx.session.scalar(select(Guardian.name).where(Guardian.phone == "+8613900000005")) == "Huang Meimei"
    # back in the next file: restored
    write(students, students.read_text() + "P0004,Zhang Lin,S0101-G1C2,,,\n")
    report = await import_files(db, bureau.org.id, [("students.csv", students)])
    assert report.counts["students_restored"] == 1 and report.counts["departed"] == 0


async def test_a_workbook_with_three_sheets_and_a_blank_one_imports_like_the_csv_files(db, tmp_path):
    import csv

    import openpyxl

    from tests.schools.conftest import SAMPLE_FILES
    from tests.server.orgs.conftest import new_org

    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"  # left blank: not a table
    for name, path in reversed(SAMPLE_FILES):  # students first: the import puts the tables in order
        sheet = workbook.create_sheet({"units.csv": "单位", "staff.csv": "Staff", "students.csv": "学生"}[name])
        for row in csv.reader(path.open(encoding="utf-8")):
            sheet.append([int(v) if v.isdigit() and len(v) == 11 else v for v in row])  # phones typed as numbers, as Excel keeps them
    workbook.save(tmp_path / "hierarchy.xlsx")
    org = await new_org(db)
    report = await import_files(db, org.id, [("hierarchy.xlsx", tmp_path / "hierarchy.xlsx")])
    assert report.failed == 0, report.errors
    assert report.counts["units_created"] == 12 and report.counts["staff_created"] == 6 and report.counts["students_created"] == 5
    assert report.rows_done == report.rows_total == 12 + 6 + 5


async def test_units_come_in_any_order_and_a_missing_parent_fails_its_row_and_its_children(db, tmp_path):
    from tests.server.orgs.conftest import new_org

    units = write(tmp_path / "units.csv", (
        "external_id,kind,name,parent,level\n"
        "C1,class,Class 1,G1,\n"        # row 2: its parent comes later
        "G1,grade,Grade 1,S1,1\n"
        "S1,school,First School,,\n"    # right under the bureau, made after the organisation
        "X1,class,Lost,NOWHERE,\n"       # row 5
        "S2,school,First School,,\n"     # row 6: the same name at the same place
        "G9,grade,Grade 9,S1,\n"         # row 7: a grade without a level
    ))
    org = await new_org(db)
    report = await import_files(db, org.id, [("units.csv", units)])
    assert {(e.row, e.field) for e in report.errors} == {(5, "parent"), (6, "name"), (7, "level")}
    async with db.transaction(org_id=org.id) as tx:
        levels = dict((await tx.session.execute(select(SchoolUnit.external_id, SchoolUnit.level))).all())
    assert levels == {None: None, "S1": None, "G1": 1, "C1": 1}  # the bureau (no external id) and the class took its grade's level


async def test_the_api_runs_the_import_as_a_job_the_page_polls(client, db, tmp_path):
    import aiohttp

    from tests.server.orgs.conftest import new_org
    from tests.schools.conftest import SAMPLE_FILES

    org = await new_org(db)
    form = aiohttp.FormData()
    for name, path in SAMPLE_FILES:
        form.add_field("file", path.read_bytes(), filename=name, content_type="text/csv")
    bad = write(tmp_path / "bad.csv", "external_id,name,class\nP0900,,S0101-G1C1\n")
    resp = await client.post(org.url("/schools/imports"), data=form, headers=org.owner.headers)
    assert resp.status == 202, await resp.text()
    started = await resp.json()
    assert started["files"] == ["units.csv", "staff.csv", "students.csv"]
    job = await poll(client, org.url(f"/schools/imports/{started['id']}"), org.owner.headers)
    assert job["status"] == "done" and job["rows_done"] == job["rows_total"] == 23
    assert job["counts"]["students_created"] == 5 and job["failed"] == 0 and job["finished_at"]
    # a failed row, read in Chinese
    form = aiohttp.FormData()
    form.add_field("file", bad.read_bytes(), filename="bad.csv")
    started = await (await client.post(org.url("/schools/imports"), data=form, headers=org.owner.headers)).json()
    job = await poll(client, org.url(f"/schools/imports/{started['id']}"), org.owner.headers | {"Accept-Language": "zh-CN"})
    assert job["failed"] == 1 and job["errors"][0]["row"] == 2 and job["errors"][0]["field"] == "name"
    assert not job["errors"][0]["message"].isascii()
    listed = await (await client.get(org.url("/schools/imports"), headers=org.owner.headers)).json()
    assert [j["id"] for j in listed] == [started["id"], started["id"] - 1]


async def test_a_file_that_is_no_table_fails_the_job_and_writes_nothing(client, db, tmp_path):
    import aiohttp

    from tests.server.orgs.conftest import new_org

    org = await new_org(db)
    form = aiohttp.FormData()
    form.add_field("file", b"colour,shape\nred,round\n", filename="mystery.csv")
    started = await (await client.post(org.url("/schools/imports"), data=form, headers=org.owner.headers)).json()
    job = await poll(client, org.url(f"/schools/imports/{started['id']}"), org.owner.headers)
    assert job["status"] == "failed" and "mystery.csv" in job["failure"] and job["rows_done"] == 0
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(SchoolUnit)) == 0


async def test_the_command_line_imports_with_a_progress_bar(db, settings, tmp_path, backend):
    import os
    import subprocess
    import sys

    from tests.schools.conftest import SAMPLE_FILES
    from tests.server.orgs.conftest import new_org

    org = await new_org(db)
    slug = await _slug(db, org.id)
    env = os.environ | {"MUSTER_DATABASE_URL": settings.database_url, "MUSTER_DATA_DIR": str(settings.data_dir),
                        "MUSTER_SECRET_KEY": "test-secret-key-long-enough-for-the-check-0123456789", "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-m", "server", "schools", "import", "--org", slug, *[str(p) for _, p in SAMPLE_FILES]],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr and "23/23 rows" in done.stderr
    import json

    report = json.loads(done.stdout)
    assert report["counts"]["students_created"] == 5 and report["failed"] == 0


async def _slug(db, org_id: int) -> str:
    from server.orgs.models import Organisation

    async with db.transaction() as tx:
        return await tx.session.scalar(select(Organisation.slug).where(Organisation.id == org_id))


async def test_the_api_imports_in_a_child_process_whose_bus_messages_the_node_publishes(client, bureau, tmp_path):
    import aiohttp

    from server.appkeys import BUS
    from server.groups.events import GROUP_MEMBERS_CHANNEL
    from tests.server.orgs.conftest import ok

    groups = {(await ok(await client.post(bureau.url(f"/units/{bureau.units[unit]}/group"), headers=bureau.owner), 201))["group_id"]
              for unit in ("S0101-G1C1", "S0101-G1C2")}
    heard: list[bytes] = []
    client.server.app[BUS].subscribe(GROUP_MEMBERS_CHANNEL, heard.append)
    moved = write(tmp_path / "students.csv", "external_id,name,class,guardian1_name,guardian1_phone,guardian1_relation\n"
                                             "P0001,Wang Xiaoming,S0101-G1C2,Wang Fang,13900000001,mother\n")
    form = aiohttp.FormData()
    form.add_field("file", moved.read_bytes(), filename="students.csv", content_type="text/csv")
    started = await (await client.post(bureau.org.url("/schools/imports"), data=form, headers=bureau.owner)).json()
    job = await poll(client, bureau.org.url(f"/schools/imports/{started['id']}"), bureau.owner)
    assert job["status"] == "done" and job["counts"]["students_transferred"] == 1
    assert {int(m) for m in heard} == groups  # both classes' groups changed members: told on this node's bus by the child


async def test_a_child_import_stopped_with_its_node_reads_as_stopped(db, tmp_path):
    from server.bus import LocalBus
    from server.orgs.imports.limits import ImportLimits
    from schools.imports.apart import run_import_job_apart
    from schools.jobs import do_start_job
    from schools.models import SchoolJob
    from tests.server.orgs.conftest import new_org
    from tests.schools.conftest import SAMPLE_FILES

    org = await new_org(db)
    job_id = await do_start_job(db, org.id, kind="import", started_by=None, files=["units.csv"])
    folder = tmp_path / "upload"
    folder.mkdir()
    task = asyncio.create_task(run_import_job_apart(db, LocalBus(), org.id, job_id, SAMPLE_FILES, region="CN", limits=ImportLimits(), folder=folder))
    await asyncio.sleep(0.2)  # the child is starting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction(org_id=org.id) as tx:
        job = await tx.session.get(SchoolJob, job_id)
    assert job.status == "failed" and job.report["fatal"]["message"].startswith("the import was stopped") and not folder.exists()
