"""The forms API: builders make forms, each change of questions is a new version, and the old ones stay."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.db import utcnow
from server.forms.access import register_form_builders
from server.orgs.models import Department, Membership
from tests.server.forms.conftest import health, make_form
from tests.server.forms.rounds_world import make_school, member_in
from tests.server.orgs.conftest import join, new_org, ok


async def test_an_admin_makes_a_form_and_reads_it_back_with_its_definition(client, db, org):
    made = await make_form(client, org, org.owner)
    assert made["version"] == made["current_version"] == 1 and made["archived_at"] is None
    read = await ok(await client.get(org.url(f"/forms/{made['id']}"), headers=org.owner.headers))
    fields = read["definition"]["fields"]
    assert [f["name"] for f in fields] == [f["name"] for f in health()["fields"]]
    assert fields[0]["abnormal"] == {"field": None, "op": "ge", "value": 37.3, "all": None, "any": None, "none": None}
    assert fields[9]["integer"] is True and fields[9]["min"] == 0


async def test_plain_members_may_not_build_forms_and_admins_see_every_form(client, db, org):
    member = await join(db, org.id, "member")
    admin = await join(db, org.id, "admin")
    assert (await client.post(org.url("/forms"), json={"title": "T", "definition": health()}, headers=member.headers)).status == 403
    assert (await client.get(org.url("/forms"), headers=member.headers)).status == 403
    made = await make_form(client, org, org.owner)
    assert (await client.get(org.url(f"/forms/{made['id']}"), headers=member.headers)).status == 403
    listed = await ok(await client.get(org.url("/forms"), headers=admin.headers))
    assert [f["id"] for f in listed["forms"]] == [made["id"]]


async def test_a_change_of_questions_is_a_new_version_and_every_version_stays(client, db, org):
    made = await make_form(client, org, org.owner)
    url = org.url(f"/forms/{made['id']}")
    same = await ok(await client.patch(url, json={"definition": health(), "title": "Morning report"}, headers=org.owner.headers))
    assert same["version"] == 1 and same["title"] == "Morning report"
    changed = health()
    changed["fields"][0]["abnormal"]["value"] = 37.5
    second = await ok(await client.patch(url, json={"definition": changed, "base_version": 1}, headers=org.owner.headers))
    assert second["version"] == second["current_version"] == 2
    versions = await ok(await client.get(url + "/versions", headers=org.owner.headers))
    assert [(v["number"], v["fields"]) for v in versions] == [(2, 11), (1, 11)]
    first = await ok(await client.get(url + "/versions/1", headers=org.owner.headers))
    assert first["definition"]["fields"][0]["abnormal"]["value"] == 37.3
    stale = await client.patch(url, json={"definition": health(), "base_version": 1}, headers=org.owner.headers)
    assert stale.status == 409 and (await stale.json())["error"]["field"] == "base_version"
    assert (await client.get(url + "/versions/3", headers=org.owner.headers)).status == 404


async def test_forms_list_a_page_at_a_time_newest_first_and_archived_ones_apart(client, db, org):
    ids = [(await make_form(client, org, org.owner, title=f"Form {i}"))["id"] for i in range(5)]
    first = await ok(await client.get(org.url("/forms?limit=2"), headers=org.owner.headers))
    assert [f["id"] for f in first["forms"]] == ids[:-3:-1]
    seen = [f["id"] for f in first["forms"]]
    before = first["next_before_id"]
    while before:
        page = await ok(await client.get(org.url(f"/forms?limit=2&before_id={before}"), headers=org.owner.headers))
        seen += [f["id"] for f in page["forms"]]
        before = page["next_before_id"]
    assert seen == ids[::-1]
    archived = await ok(await client.patch(org.url(f"/forms/{ids[0]}"), json={"archived": True}, headers=org.owner.headers))
    assert archived["archived_at"] is not None
    assert ids[0] not in [f["id"] for f in (await ok(await client.get(org.url("/forms"), headers=org.owner.headers)))["forms"]]
    shelf = await ok(await client.get(org.url("/forms?archived=true"), headers=org.owner.headers))
    assert [f["id"] for f in shelf["forms"]] == [ids[0]]
    restored = await ok(await client.patch(org.url(f"/forms/{ids[0]}"), json={"archived": False}, headers=org.owner.headers))
    assert restored["archived_at"] is None


async def test_a_bad_definition_is_a_400_naming_the_part_at_fault_and_nothing_is_stored(client, db, org):
    bad = health()
    bad["fields"][2]["relevant"] = {"field": "since", "op": "eq", "value": "2026-01-01"}  # a later field
    resp = await client.post(org.url("/forms"), json={"title": "T", "definition": bad}, headers=org.owner.headers)
    assert resp.status == 400
    assert (await resp.json())["error"]["field"] == "definition.fields.2.relevant.field"
    wrong_type = health()
    wrong_type["fields"][1]["type"] = "checkbox"
    resp = await client.post(org.url("/forms"), json={"title": "T", "definition": wrong_type}, headers=org.owner.headers)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "definition.fields.1.type"
    chinese = await client.post(org.url("/forms"), json={"title": "T", "definition": bad},
                                headers=org.owner.headers | {"Accept-Language": "zh-CN"})
    assert "不是" in (await chinese.json())["error"]["message"]
    assert (await ok(await client.get(org.url("/forms"), headers=org.owner.headers)))["forms"] == []


async def test_a_registered_rule_lets_members_build_their_own_forms_only(app, client, db, org):
    teacher = await join(db, org.id, "member", "Teacher Tan")
    parent = await join(db, org.id, "member", "Parent Pan")

    async def teachers(tx, user_id: int, org_id: int) -> list[str] | None:
        """Teachers build forms and send them anywhere (a rule answers where; None: not a builder)."""
        from sqlalchemy import select

        name = await tx.session.scalar(select(Membership.display_name).where(Membership.org_id == org_id, Membership.user_id == user_id))
        return ["/"] if (name or "").startswith("Teacher") else None

    register_form_builders(app, teachers)
    admins = await make_form(client, org, org.owner, title="Staff check-in")
    own = await make_form(client, org, teacher, title="Class 3 trip")
    listed = await ok(await client.get(org.url("/forms"), headers=teacher.headers))
    assert [f["id"] for f in listed["forms"]] == [own["id"]]
    assert (await client.get(org.url(f"/forms/{admins['id']}"), headers=teacher.headers)).status == 404
    assert (await client.get(org.url(f"/forms/{own['id']}"), headers=org.owner.headers)).status == 200
    assert (await client.post(org.url("/forms"), json={"title": "T", "definition": health()}, headers=parent.headers)).status == 403
    places = [[x["key"] for x in await ok(await client.get(f"/api/v1/navigation?org_id={org.id}", headers=p.headers))]
              for p in (org.owner, teacher, parent)]
    assert ["forms" in keys for keys in places] == [True, True, False]


async def test_another_organisations_form_reads_as_missing(client, db, org):
    made = await make_form(client, org, org.owner)
    other = await new_org(db, "Otto Other")
    for path in (f"/forms/{made['id']}", f"/forms/{made['id']}/versions", f"/forms/{made['id']}/versions/1/xlsform"):
        assert (await client.get(other.url(path), headers=other.owner.headers)).status == 404
    assert (await client.patch(other.url(f"/forms/{made['id']}"), json={"title": "Mine"}, headers=other.owner.headers)).status == 404


async def test_a_builder_a_rule_limits_to_a_department_sends_only_under_it(app, client, db):
    school = await make_school(client, db)
    head = await member_in(db, school.org.id, school.departments["north"], "Head of North")
    async with db.transaction(org_id=school.org.id) as tx:
        north = await tx.session.scalar(select(Department.path).where(Department.id == school.departments["north"]))

    async def heads(tx, user_id: int, org_id: int) -> list[str] | None:
        return [north] if user_id == head.id else None

    register_form_builders(app, heads)
    made = await make_form(client, school.org, head, title="North trip")
    url = school.url(f"/forms/{made['id']}/rounds")
    closes = (utcnow() + dt.timedelta(hours=1)).isoformat()
    for audience, field in (({"department_ids": [school.departments["south"]]}, "audience.departments"), ({"everyone": True}, "audience.everyone"),
                            ({"user_ids": [school.people["s1"][0].id]}, "audience.users"), ({"group_ids": [1]}, "audience.groups")):
        resp = await client.post(url, json={"audience": audience, "closes_at": closes}, headers=head.headers)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field, audience
    sent = await ok(await client.post(url, json={"audience": {"department_ids": [school.departments["n1"]], "user_ids": [school.people["n2"][0].id]},
                                                 "closes_at": closes}, headers=head.headers), 201)
    assert sent["expected"] == 4
