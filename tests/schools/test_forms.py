"""A bureau's daily health report: sent to the children on the roll, answered by their families (or, for a family without a
phone, by the class's teachers), followed by the staff of each unit, its answers seen only by health officers and head
teachers, each within their units. The people and the round: tests/schools/forms_world.py."""
from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import event, select, update

from server.audit.models import AuditEntry
from server.forms.models import RoundRespondent
from server.forms.rounds import do_open_round
from server.gateway.models import UserEvent
from schools.models import Student
from tests.schools.forms_world import FEVER, WELL, closes_in, health_report, send_to_children, submit
from server.forms.reminders import claim_due
from tests.server.forms.test_reminders import Connected, node, remind_step
from tests.server.forms.rounds_world import make_form
from tests.server.orgs.conftest import join, new_org, ok
from tests.statements import statements_sent


@pytest.fixture
def settings(settings):
    """No worker of the app's own: reminders are sent by the tests (tests/server/forms/test_reminders.py)."""
    return settings.model_copy(update={"forms_engine": False})


@pytest.fixture
async def report(client, db):
    return await health_report(client, db)


async def expected(db, report, round_id: int) -> dict[int, int]:
    """respondent → bucket of the round."""
    async with db.transaction(org_id=report.bureau.org.id) as tx:
        rows = await tx.session.execute(select(RoundRespondent.respondent_id, RoundRespondent.bucket).where(RoundRespondent.round_id == round_id))
        return dict(rows.all())


async def test_a_round_to_a_school_expects_its_children_on_the_roll_each_counted_under_their_class(client, db, report):
    owner = report.bureau.owner
    await ok(await client.patch(report.bureau.url(f"/students/{report.child('P0004')}"), json={"archived": True}, headers=owner))
    sent = await ok(await send_to_children(client, report, owner, {"department_ids": [report.unit("S0101")]}), 201)
    assert await expected(db, report, sent["id"]) == {
        report.child("P0001"): report.unit("S0101-G1C1"), report.child("P0003"): report.unit("S0101-G1C1"),
        report.child("P0900"): report.unit("S0101-G1C1"), report.child("P0005"): report.unit("S0101-G6C1"),
    }
    dashboard = await ok(await client.get(report.url(f"/rounds/{sent['id']}/dashboard?department_id={report.unit('S0101')}"), headers=owner))
    assert [(c["name"], c["counts"]["expected"]) for c in dashboard["children"]] == [("Grade 1", 3), ("Grade 6", 1)]
    everyone = await expected(db, report, report.round_id)
    assert len(everyone) == 6 and everyone[report.child("P0002")] == report.unit("S0201-G1C1")


async def test_opening_a_round_for_children_is_one_insert_select_whatever_their_number(client, db, report):
    async def statements_opening(round_id: int) -> list[str]:
        async with db.transaction(org_id=report.bureau.org.id) as tx:
            async with statements_sent(db, tx) as statements:
                assert await do_open_round(tx, round_id)
        return statements

    owner, later = report.bureau.owner, closes_in(60 * 24)
    tomorrow = {"opens_at": closes_in(60 * 12), "closes_at": later}
    one_class = await ok(await send_to_children(client, report, owner, {"department_ids": [report.unit("S0201-G1C1")]}, **tomorrow), 201)
    async with db.transaction(org_id=report.bureau.org.id) as tx:
        tx.session.add_all(Student(org_id=report.bureau.org.id, external_id=f"BULK-{i}", name=f"Child {i}", class_id=report.unit("S0101-G1C2"))
                           for i in range(500))
    bureau = await ok(await send_to_children(client, report, owner, {"department_ids": [report.unit("BUREAU")]}, **tomorrow), 201)
    small, large = await statements_opening(one_class["id"]), await statements_opening(bureau["id"])
    assert len(small) == len(large)
    assert sum(s.startswith("INSERT INTO round_respondents") for s in large) == 1
    assert len(await expected(db, report, bureau["id"])) == 506 and len(await expected(db, report, one_class["id"])) == 1


async def test_parts_of_an_audience_that_name_no_children_are_refused_naming_the_part(client, db, report):
    owner, other = report.bureau.owner, await new_org(db, "Otto Other")
    cases = [
        ({"user_ids": [report.bureau.org.owner.id]}, "audience.users"),
        ({"department_ids": [report.unit("S0101")], "group_ids": [1]}, "audience.groups"),
        ({"department_ids": [999_999]}, "audience.departments"),
        ({}, "audience"),
    ]
    for audience, field in cases:
        resp = await send_to_children(client, report, owner, audience)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field, (audience, await resp.text())
    async with db.transaction(org_id=other.id) as tx:
        from server.orgs.departments import do_ensure_department_path
        theirs = await do_ensure_department_path(tx, ["Elsewhere"])
    resp = await send_to_children(client, report, owner, {"department_ids": [theirs]})
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "audience.departments"


async def test_a_guardian_answers_for_each_child_in_two_schools_and_for_nobody_else(client, db, report):
    wang = report.people["Wang Fang"]
    detail = await ok(await client.get(report.round_url(), headers=wang))
    assert [(m["respondent_id"], m["name"]) for m in detail["mine"]] == [(report.child("P0001"), "Wang Xiaoming"), (report.child("P0002"), "Wang Xiaohong")]
    assert detail["may_follow"] is False
    home = await ok(await client.get(report.url("/home"), headers=wang))
    assert [s["key"] for s in home] == ["forms", "notices"] and home[0]["items"][0]["href"] == f"/f/{report.round_id}?org={report.bureau.org.id}"
    body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0001"), "answers": WELL}
    first = await ok(await client.post(report.round_url("/submissions"), json=body, headers=wang), 201)
    assert (await client.post(report.round_url("/submissions"), json=body, headers=wang)).status == 200  # the same one again
    for child in ("P0003", "P0005", "P0900"):  # other families' children, and a family without a phone
        resp = await client.post(report.round_url("/submissions"), json={**body, "client_id": uuid.uuid4().hex, "respondent_id": report.child(child)},
                                 headers=wang)
        assert resp.status == 404 and (await resp.json())["error"]["field"] == "respondent_id"
    edited = await ok(await client.put(report.round_url(f"/submissions/{first['id']}"), json={"revision": 1, "answers": FEVER},
                                       headers=report.people["Wang Wei"]))  # the other guardian of the same child edits it
    assert edited["revision"] == 2 and edited["abnormal"] == ["temperature", "symptoms"]
    assert (await client.get(report.round_url(f"/submissions/{first['id']}"), headers=report.people["Liu Qiang"])).status == 404
    assert (await ok(await client.get(report.round_url(f"/submissions/{first['id']}"), headers=wang)))["revision"] == 2
    await submit(client, report, "Wang Fang", "P0002")
    home = await ok(await client.get(report.url("/home"), headers=wang))
    assert home[0]["items"] == []


async def test_a_guardians_submission_is_one_transaction_of_six_statements(client, db, report):
    """The hot path's cost as a contract: the session, the admission, the round, the child's bucket, whom the guardian answers
    for, and the insert with both counters (on SQLite the last is three statements); one transaction, one connection."""
    wang = report.people["Wang Fang"]
    await submit(client, report, "Wang Fang", "P0002")  # the connection's first use, and the definition's parsing, come first
    sent: list[tuple[object, str]] = []
    began: list[object] = []
    engine = db.engine.sync_engine

    def record(conn, _cursor, statement, *_args) -> None:
        sent.append((conn, statement))

    def begin(conn) -> None:
        began.append(conn)

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "begin", begin)
    try:
        body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0001"), "answers": FEVER}
        await ok(await client.post(report.round_url("/submissions"), json=body, headers=wang), 201)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "begin", begin)
    assert len(began) == 1 and len({conn for conn, _ in sent}) == 1
    assert len(sent) == (6 if db.dialect == "postgresql" else 8), [s for _, s in sent]
    dashboard = await ok(await client.get(report.round_url("/dashboard"), headers=report.bureau.owner))
    assert (dashboard["node"]["counts"]["submitted"], dashboard["node"]["counts"]["abnormal"]) == (2, 1)


async def test_a_family_without_a_phone_is_answered_by_the_class_teachers_and_the_school_admin(client, db, report):
    mine = await ok(await client.get(report.round_url(), headers=report.people["head teacher"]))
    assert [m["name"] for m in mine["mine"]] == ["Gu Xiaobao"] and mine["may_follow"] is True  # not the children whose parents answer
    for who in ("district staff", "subject teacher", "Liu Qiang"):
        body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0900"), "answers": WELL}
        assert (await client.post(report.round_url("/submissions"), json=body, headers=report.people[who])).status == 404, who
    stored = await submit(client, report, "head teacher", "P0900")
    again = await ok(await client.get(report.round_url(), headers=report.people["school admin"]))
    assert [(m["name"], m["submission"]["id"]) for m in again["mine"]] == [("Gu Xiaobao", stored["id"])]
    body = {"client_id": uuid.uuid4().hex, "respondent_id": report.child("P0001"), "answers": WELL}
    assert (await client.post(report.round_url("/submissions"), json=body, headers=report.people["head teacher"])).status == 404


async def test_the_missing_list_names_each_child_with_a_guardians_phone_and_reminds_the_guardians_of_one_class(app, client, db, report):
    teacher = report.people["head teacher"]
    await submit(client, report, "Liu Qiang", "P0003")
    missing = await ok(await client.get(report.round_url(f"/respondents?department_id={report.unit('S0101-G1C1')}"), headers=teacher))
    assert [(p["name"], p["phone"], p["department"]) for p in missing["items"]] == [
        ("Wang Xiaoming", "+8613900000001", "Class 1"), ("Gu Xiaobao", None, "Class 1")]
    top = await client.post(report.round_url("/reminders"), json={}, headers=teacher)  # head of one class, subject teacher of another
    assert top.status == 400 and (await top.json())["error"]["field"] == "department_id"
    await ok(await client.post(report.round_url("/reminders"), json={"department_id": report.unit("S0101-G1C1")}, headers=teacher), 202)
    await node(app, db, "node-a")
    async with db.transaction() as tx:
        told = set(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "form.reminder")))
    assert told == {await _user(db, report, "+8613900000001"), await _user(db, report, "+8613900000002")}  # Wang Fang and Wang Wei


async def test_guardians_away_are_reminded_by_sms_at_the_number_on_the_roll_when_the_bureau_chose_it(app, client, db, report):
    await ok(await client.put(f"/api/v1/orgs/{report.bureau.org.id}/form-policy", json={"reminder_sms": True}, headers=report.bureau.owner))
    await submit(client, report, "Liu Qiang", "P0003")  # +8613900000003 answered: not reminded
    await ok(await client.post(report.round_url("/reminders"), json={"department_id": report.unit("S0101-G1C1")},
                               headers=report.people["head teacher"]), 202)
    ((reminder_id, org_id),) = await claim_due(db, node="node-a")
    await remind_step(app, db, reminder_id, org_id, "node-a", Connected())  # nobody connected
    batch = await remind_step(app, db, reminder_id, org_id, "node-a", Connected(), size=10)
    assert sorted(m.to for m in batch.outreach.sms) == ["+8613900000001", "+8613900000002"]  # not members: no directory phone


async def test_a_guardian_of_two_children_in_two_batches_is_reminded_once_in_the_app_or_by_sms(app, client, db, report):
    """Wang Fang answers for Wang Xiaoming (North No. 1) and Wang Xiaohong (South No. 3): one reminder a batch of one
    child at a time reaches her once, whether her device connects after the first step or she is away."""
    await ok(await client.put(f"/api/v1/orgs/{report.bureau.org.id}/form-policy", json={"reminder_sms": True}, headers=report.bureau.owner))
    wang_fang = await _user(db, report, "+8613900000001")
    for presence in (Connected({wang_fang}, at_first=()), Connected()):
        await ok(await client.post(report.round_url("/reminders"), json={}, headers=report.bureau.owner), 202)
        ((reminder_id, org_id),) = await claim_due(db, node="node-a")
        texted = []
        while (batch := await remind_step(app, db, reminder_id, org_id, "node-a", presence, size=1)) is not None:
            texted += [m.to for m in batch.outreach.sms]
            if not batch.more:
                break
        async with db.transaction() as tx:
            told = list(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "form.reminder",
                                                                                  UserEvent.user_id == wang_fang)))
        assert told == [wang_fang] and texted.count("+8613900000001") == (1 if not presence.user_ids else 0)
        assert len(texted) == len(set(texted))


async def _user(db, report, phone: str) -> int:
    from schools.models import Guardian

    async with db.transaction(org_id=report.bureau.org.id) as tx:
        return await tx.session.scalar(select(Guardian.user_id).where(Guardian.phone == phone))


async def test_health_officers_and_head_teachers_see_answers_only_within_their_units_and_each_look_is_logged(client, db, report):
    north_c1 = await submit(client, report, "Wang Fang", "P0001", FEVER)
    south = await submit(client, report, "Wang Fang", "P0002", FEVER)
    north_c2 = await submit(client, report, "Zhang Li", "P0004", FEVER)
    can = {"health officer": (north_c1, north_c2), "head teacher": (north_c1,)}
    for who, cannot in {"health officer": (south,), "head teacher": (south, north_c2),
                        "school admin": (north_c1, south), "bureau staff": (north_c1,), "district staff": (north_c1,), "subject teacher": (north_c1,)}.items():
        for submission in can.get(who, ()):
            assert (await ok(await client.get(report.round_url(f"/submissions/{submission['id']}"), headers=report.people[who])))["abnormal"]
        for submission in cannot:
            assert (await client.get(report.round_url(f"/submissions/{submission['id']}"), headers=report.people[who])).status == 404, who
    flagged = await ok(await client.get(report.round_url("/respondents?state=submitted"), headers=report.people["head teacher"]))
    assert {p["name"]: p["abnormal"] for p in flagged["items"]} == {"Wang Xiaoming": True, "Zhang Lin": None}  # class 2: he teaches it, no more
    admin = await ok(await client.get(report.round_url("/respondents?state=submitted"), headers=report.people["school admin"]))
    assert {p["name"]: p["abnormal"] for p in admin["items"]} == {"Wang Xiaoming": None, "Zhang Lin": None}
    dashboard = await ok(await client.get(report.round_url("/dashboard"), headers=report.people["school admin"]))
    assert dashboard["may_view_answers"] is False and dashboard["node"]["counts"]["abnormal"] == 2
    url = report.url(f"/forms/{report.form_id}/export?round_id={report.round_id}&format=csv")
    exported = await client.get(url, headers=report.people["health officer"])
    lines = list(csv.DictReader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert sorted(line["respondent"] for line in lines) == ["Wang Xiaoming", "Zhang Lin"]
    assert (await client.get(url, headers=report.people["school admin"])).status == 404
    everything = await client.get(url, headers=report.bureau.owner)
    assert len(list(csv.DictReader(io.StringIO((await everything.read()).decode("utf-8-sig"))))) == 3
    async with db.transaction(org_id=report.bureau.org.id) as tx:
        entries = list(await tx.session.execute(select(AuditEntry.action, AuditEntry.details).where(AuditEntry.action.like("form.answers_%"))))
    assert sorted(action for action, _ in entries) == ["form.answers_exported"] * 2 + ["form.answers_viewed"] * 3
    assert [details.get("within") for action, details in entries if action == "form.answers_exported"].count(None) == 1  # the owner's: whole


async def test_school_admins_build_forms_and_send_them_only_within_their_school(client, db, report):
    admin = report.people["school admin"]
    made = await ok(await client.post(report.url("/forms"), json={"title": "North No. 1 trip", "definition": {"fields": [
        {"name": "coming", "type": "yes_no", "label": "Coming?", "required": True}]}}, headers=admin), 201)
    report.form_id = made["id"]
    await ok(await send_to_children(client, report, admin, {"department_ids": [report.unit("S0101-G1")]}), 201)
    for audience, field in (({"department_ids": [report.unit("S0201")]}, "audience.departments"), ({"everyone": True}, "audience.everyone"),
                            ({"department_ids": [report.unit("D01")]}, "audience.departments")):
        resp = await send_to_children(client, report, admin, audience)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field
    schedule = {"audience": {"department_ids": [report.unit("S0201")]}, "respondent_kind": "student", "days": "working_days",
                "open_time": "07:30", "open_minutes": 240, "starts_on": "2030-01-01"}
    resp = await client.post(report.url(f"/forms/{made['id']}/schedules"), json=schedule, headers=admin)
    assert resp.status == 400 and (await resp.json())["error"]["field"] == "audience.departments"
    bureau_made = await ok(await client.post(report.url("/forms"), json={"title": "City check", "definition": {"fields": [
        {"name": "ok", "type": "yes_no", "label": "OK?"}]}}, headers=report.people["bureau staff"]), 201)
    report.form_id = bureau_made["id"]
    await ok(await send_to_children(client, report, report.people["bureau staff"], {"department_ids": [report.unit("BUREAU")]}), 201)
    tried = {"title": "No", "definition": {"fields": [{"name": "ok", "type": "yes_no", "label": "OK?"}]}}
    for who, status in (("head teacher", 403), ("health officer", 403), ("Liu Qiang", 404)):
        assert (await client.post(report.url("/forms"), json=tried, headers=report.people[who])).status == status


async def test_a_guardian_uploads_a_photo_only_while_answering_an_open_round(client, db, report):
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": "filename cGhvdG8ucG5n,filetype aW1hZ2UvcG5n"}
    url = report.url("/form-photos")
    assert (await client.post(url, headers=headers | report.people["Liu Qiang"])).status == 201
    other = await new_org(db, "Otto Other")
    assert (await client.post(url, headers=headers | other.owner.headers)).status == 404
    await ok(await client.post(report.round_url("/close"), headers=report.bureau.owner))
    assert (await client.post(url, headers=headers | report.people["Liu Qiang"])).status == 404
    assert (await client.get(report.round_url(), headers=report.people["Liu Qiang"])).status == 200  # their answers stay theirs to read


async def test_a_guardian_whose_child_left_reaches_the_round_no_more(client, db, report):
    await submit(client, report, "Liu Qiang", "P0003")
    async with db.transaction(org_id=report.bureau.org.id) as tx:
        await tx.session.execute(update(Student).where(Student.external_id == "P0003").values(archived_at=Student.created_at))
    assert (await client.get(report.round_url(), headers=report.people["Liu Qiang"])).status == 404


async def test_a_head_teacher_of_one_class_reminds_the_rest_of_it_with_one_click(app, client, db, report):
    zhao = await report.bureau.staff("T0006")  # head teacher of South No. 3's Class 1 only
    reminder = await ok(await client.post(report.round_url("/reminders"), json={}, headers=zhao), 202)
    assert reminder["department_id"] == report.unit("S0201-G1C1")
    await node(app, db, "node-a")
    async with db.transaction() as tx:
        told = set(await tx.session.scalars(select(UserEvent.user_id).where(UserEvent.type == "form.reminder")))
    assert told == {await _user(db, report, "+8613900000001")}  # Wang Fang, for Wang Xiaohong


async def test_a_builders_audience_preview_counts_only_within_their_reach(client, db, report):
    admin = report.people["school admin"]  # builds North No. 1's forms (and has written one)
    await ok(await client.post(report.url("/forms"), json={"title": "Trip", "definition": {"fields": [
        {"name": "ok", "type": "yes_no", "label": "OK?"}]}}, headers=admin), 201)
    preview = report.url("/audiences/preview")
    inside = await ok(await client.post(preview, json={"department_ids": [report.unit("S0101")]}, headers=admin))
    assert inside["total"] == 3  # Li Hua, Chen Jing and Sun Lei work in the school's department
    for audience, field in (({"department_ids": [report.unit("S0201")]}, "audience.departments"), ({"everyone": True}, "audience.everyone"),
                            ({"department_ids": [report.unit("BUREAU")]}, "audience.departments")):
        resp = await client.post(preview, json=audience, headers=admin)
        assert resp.status == 400 and (await resp.json())["error"]["field"] == field, audience
    # someone who wrote a form but builds none (no rule admits them) previews nothing
    author = await join(db, report.bureau.org.id, "member", "Former Builder")
    await make_form(db, report.bureau.org.id, author.id, {"fields": [{"name": "ok", "type": "yes_no", "label": "OK?"}]})
    assert (await client.post(preview, json={"department_ids": [report.unit("S0101")]}, headers=author.headers)).status == 403
    # bureau staff reach the whole bureau
    bureau = await ok(await client.post(preview, json={"department_ids": [report.unit("BUREAU")]}, headers=report.people["bureau staff"]))
    assert bureau["total"] > inside["total"]


async def test_the_platform_lists_the_kinds_of_respondent_with_their_pickers(client, db, bureau):
    li_hua = await bureau.staff("T0003")
    kinds = await ok(await client.get(bureau.org.url("/respondent-kinds"), headers=li_hua | {"Accept-Language": "zh-CN"}))
    assert kinds == [{"kind": "user", "label": "成员", "picker": None}, {"kind": "student", "label": "学生", "picker": "schools"}]
    assert (await client.get(bureau.org.url("/respondent-kinds"), headers=await bureau.staff("T0004"))).status == 403  # builds no forms
    assert (await client.get(bureau.org.url("/respondent-kinds"), headers=await bureau.guardian("+8613900000003"))).status == 404


async def test_an_export_names_guardians_as_the_roll_has_them_and_staff_as_the_directory_does(client, db, report):
    await submit(client, report, "Wang Fang", "P0001")
    await submit(client, report, "Wang Fang", "P0002")  # her child in South No. 3
    await submit(client, report, "head teacher", "P0900")  # Gu Xiaobao's family has no phone: Chen Jing answers for him
    exported = await client.get(report.url(f"/forms/{report.form_id}/export?round_id={report.round_id}&format=csv"), headers=report.bureau.owner)
    lines = list(csv.DictReader(io.StringIO((await exported.read()).decode("utf-8-sig"))))
    assert sorted((line["respondent"], line["submitted_by"]) for line in lines) == [
        ("Gu Xiaobao", "Chen Jing"), ("Wang Xiaohong", "Wang Fang"), ("Wang Xiaoming", "Wang Fang")]
