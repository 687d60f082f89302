"""Dashboards roll the buckets up any department, drill down to its children, and list who is missing, a page at a time."""
from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from server.audit.models import AuditEntry
from server.forms.dashboard import register_dashboard_scope, _scopes
from server.forms.privacy import _viewers, register_answer_viewer
from server.orgs.models import Department
from tests.server.forms.rounds_world import FEVER, WELL, make_school, member_in, send_round
from tests.server.orgs.conftest import join, ok


async def submit(client, school, round_id: int, person, answers=WELL) -> dict:
    body = {"client_id": uuid.uuid4().hex, "answers": answers}
    return await ok(await client.post(school.url(f"/rounds/{round_id}/submissions"), json=body, headers=person.headers), 201)


def counted(node: dict) -> tuple:
    c = node["counts"]
    return c["expected"], c["submitted"], c["missing"], c["abnormal"]


async def test_roll_ups_and_drill_down_from_the_top_to_a_class(client, db):
    school = await make_school(client, db)
    loose = await member_in(db, school.org.id, None, "No class")
    round_ = await send_round(client, school, audience={"department_ids": [school.departments["district"]], "user_ids": [loose.id]})
    rid = round_["id"]
    await submit(client, school, rid, school.people["n1"][0], FEVER)
    await submit(client, school, rid, school.people["n2"][0])
    await submit(client, school, rid, school.people["s1"][1])
    top = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard"), headers=school.owner))
    assert counted(top["node"]) == (8, 3, 5, 1) and top["node"]["department_id"] is None
    assert [(c["name"], counted(c)) for c in top["children"]] == [("District", (7, 3, 4, 1)), ("", (1, 0, 1, 0))]
    d = school.departments
    district = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard?department_id={d['district']}"), headers=school.owner))
    assert [(c["name"], counted(c)) for c in district["children"]] == [("North school", (5, 2, 3, 1)), ("South school", (2, 1, 1, 0))]
    north = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard?department_id={d['north']}"), headers=school.owner))
    assert [(c["name"], counted(c)) for c in north["children"]] == [("Class N1", (3, 1, 2, 1)), ("Class N2", (2, 1, 1, 0))]
    n1 = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard?department_id={d['n1']}"), headers=school.owner))
    assert counted(n1["node"]) == (3, 1, 2, 1) and n1["children"] == []


async def test_the_missing_list_pages_by_respondent_with_contact_phones(client, db):
    school = await make_school(client, db, {"n1": 7, "n2": 1, "s1": 1})
    rid = (await send_round(client, school))["id"]
    n1 = school.people["n1"]
    await submit(client, school, rid, n1[2], FEVER)
    url = school.url(f"/rounds/{rid}/respondents?department_id={school.departments['n1']}&limit=4")
    first = await ok(await client.get(url, headers=school.owner))
    assert first["counts"]["missing"] == 6 and len(first["items"]) == 4 and first["next_after"] is not None
    second = await ok(await client.get(f"{url}&after={first['next_after']}", headers=school.owner))
    assert second["next_after"] is None
    listed = first["items"] + second["items"]
    missing = [p for p in n1 if p is not n1[2]]
    assert [i["respondent_id"] for i in listed] == sorted(p.id for p in missing)
    assert all(i["phone"].startswith("+86138") and i["department"] == "Class N1" and not i["submitted"] for i in listed)
    done = await ok(await client.get(school.url(f"/rounds/{rid}/respondents?department_id={school.departments['north']}&state=submitted"),
                                     headers=school.owner))
    assert [(i["respondent_id"], i["abnormal"]) for i in done["items"]] == [(n1[2].id, True)]


async def test_a_member_sees_no_dashboard_and_a_scope_shows_only_its_part(client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    teacher = await member_in(db, school.org.id, school.departments["n1"], "Teacher")
    assert (await client.get(school.url(f"/rounds/{rid}/dashboard"), headers=teacher.headers)).status == 404
    async with db.transaction(org_id=school.org.id) as tx:
        n1_path = await tx.session.scalar(select(Department.path).where(Department.id == school.departments["n1"]))

    async def head_teacher(tx, org, round_):
        return [n1_path] if org.user_id == teacher.id else []

    register_dashboard_scope(head_teacher)
    try:
        mine = await ok(await client.get(school.url(f"/rounds/{rid}/dashboard"), headers=teacher.headers))
        assert [(c["name"], counted(c)) for c in mine["children"]] == [("Class N1", (3, 0, 3, 0))]
        assert mine["may_view_answers"] is False
        other = school.departments["s1"]
        assert (await client.get(school.url(f"/rounds/{rid}/dashboard?department_id={other}"), headers=teacher.headers)).status == 404
        assert (await client.get(school.url(f"/rounds/{rid}/respondents?department_id={other}"), headers=teacher.headers)).status == 404
        listed = await ok(await client.get(school.url(f"/rounds/{rid}/respondents"), headers=teacher.headers))
        assert len(listed["items"]) == 3 and all(i["abnormal"] is None for i in listed["items"])
    finally:
        _scopes.remove(head_teacher)


async def test_only_admins_see_anothers_answers_and_each_look_is_logged(client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    stored = await submit(client, school, rid, school.people["s1"][0], FEVER)
    url = school.url(f"/rounds/{rid}/submissions/{stored['id']}")
    assert (await client.get(url, headers=school.people["s1"][1].headers)).status == 404
    admin = await join(db, school.org.id, "admin")
    assert (await ok(await client.get(url, headers=admin.headers)))["answers"] == FEVER
    async with db.transaction(org_id=school.org.id) as tx:
        seen = list(await tx.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "form.answers_viewed")))
    assert seen == ["form.answers_viewed"]


async def test_a_viewer_limited_to_a_class_sees_its_answers_flags_and_export_rows_and_nothing_beyond(client, db):
    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    inside = await submit(client, school, rid, school.people["n1"][0], FEVER)
    outside = await submit(client, school, rid, school.people["s1"][0], FEVER)
    nurse = await member_in(db, school.org.id, school.departments["north"], "Nurse")
    async with db.transaction(org_id=school.org.id) as tx:
        paths = dict((await tx.session.execute(select(Department.id, Department.path))).all())

    async def north(tx, org, round_):
        return [paths[school.departments["north"]]] if org.user_id == nurse.id else []

    async def nurse_follows(tx, org, round_):
        return [paths[school.departments["district"]]] if org.user_id == nurse.id else []

    register_answer_viewer(north)
    register_dashboard_scope(nurse_follows)
    try:
        assert (await ok(await client.get(school.url(f"/rounds/{rid}/submissions/{inside['id']}"), headers=nurse.headers)))["abnormal"]
        assert (await client.get(school.url(f"/rounds/{rid}/submissions/{outside['id']}"), headers=nurse.headers)).status == 404
        listed = await ok(await client.get(school.url(f"/rounds/{rid}/respondents?state=submitted"), headers=nurse.headers))
        assert {i["respondent_id"]: i["abnormal"] for i in listed["items"]} == {school.people["n1"][0].id: True, school.people["s1"][0].id: None}
        exported = await client.get(school.url(f"/forms/{school.form_id}/export?round_id={rid}"), headers=nurse.headers)
        rows = list(csv.DictReader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
        assert [int(r["respondent_id"]) for r in rows] == [school.people["n1"][0].id]
        async with db.transaction(org_id=school.org.id) as tx:
            (details,) = await tx.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "form.answers_exported"))
        assert details["within"] == [paths[school.departments["north"]]]
    finally:
        _viewers.remove(north)
        _scopes.remove(nurse_follows)
