"""Rounds open with their audience counted per department; submissions are idempotent, edits need the latest revision,
counters move with each submission, and nobody answers for someone not theirs."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from sqlalchemy import select, update

from server.db import utcnow
from server.forms.models import FormRound, RoundCount, RoundRespondent
from tests.server.forms.rounds_world import FEVER, WELL, make_school, send_round
from tests.server.orgs.conftest import join, ok


def client_id() -> str:
    return uuid.uuid4().hex


async def counts(db, org_id: int, round_id: int) -> dict[int, tuple[int, int, int]]:
    async with db.transaction(org_id=org_id) as tx:
        rows = await tx.session.execute(select(RoundCount.bucket, RoundCount.expected, RoundCount.submitted, RoundCount.abnormal)
                                        .where(RoundCount.round_id == round_id))
        return {bucket: (e, s, a) for bucket, e, s, a in rows}


async def test_a_round_opens_with_its_audience_counted_per_class(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    assert round_["state"] == "open" and round_["expected"] == 7
    d = school.departments
    assert await counts(db, school.org.id, round_["id"]) == {d["n1"]: (3, 0, 0), d["n2"]: (2, 0, 0), d["s1"]: (2, 0, 0)}
    # Only the north school: the district's other school is not expected.
    north = await send_round(client, school, audience={"department_ids": [d["north"]]})
    assert north["expected"] == 5


async def test_the_same_submission_again_is_the_stored_one_and_other_answers_are_409(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["n1"][0]
    url = school.url(f"/rounds/{round_['id']}/submissions")
    body = {"client_id": client_id(), "answers": FEVER}
    first = await ok(await client.post(url, json=body, headers=pupil.headers), 201)
    assert first["abnormal"] == ["temperature"] and first["revision"] == 1 and first["respondent_id"] == pupil.id
    again = await ok(await client.post(url, json=body, headers=pupil.headers), 200)
    assert again == first
    other = await client.post(url, json={**body, "answers": WELL}, headers=pupil.headers)
    assert other.status == 409 and (await other.json())["error"]["code"] == "client_id_reused"
    second = await client.post(url, json={"client_id": client_id(), "answers": WELL}, headers=pupil.headers)
    assert second.status == 409 and (await second.json())["error"]["code"] == "already_submitted"
    assert (await counts(db, school.org.id, round_["id"]))[school.departments["n1"]] == (3, 1, 1)


async def test_a_replayed_submission_racing_itself_is_stored_and_counted_once(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["s1"][1]
    body = {"client_id": client_id(), "answers": WELL}
    url = school.url(f"/rounds/{round_['id']}/submissions")
    answers = await asyncio.gather(*(client.post(url, json=body, headers=pupil.headers) for _ in range(8)))
    statuses = sorted(r.status for r in answers)
    assert statuses == [200] * 7 + [201], statuses
    assert len({(await r.json())["id"] for r in answers}) == 1
    assert (await counts(db, school.org.id, round_["id"]))[school.departments["s1"]] == (2, 1, 0)


async def test_edits_need_the_latest_revision_and_move_the_abnormal_count(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["n2"][0]
    base = school.url(f"/rounds/{round_['id']}/submissions")
    stored = await ok(await client.post(base, json={"client_id": client_id(), "answers": WELL}, headers=pupil.headers), 201)
    url = f"{base}/{stored['id']}"
    edited = await ok(await client.put(url, json={"revision": 1, "answers": FEVER}, headers=pupil.headers))
    assert edited["revision"] == 2 and edited["abnormal"] == ["temperature"]
    assert await ok(await client.put(url, json={"revision": 1, "answers": FEVER}, headers=pupil.headers)) == edited  # the same edit again
    stale = await client.put(url, json={"revision": 1, "answers": WELL}, headers=pupil.headers)
    assert stale.status == 409 and (await stale.json())["error"]["code"] == "stale_revision"
    assert (await counts(db, school.org.id, round_["id"]))[school.departments["n2"]] == (2, 1, 1)
    back = await ok(await client.put(url, json={"revision": 2, "answers": WELL}, headers=pupil.headers))
    assert back["revision"] == 3
    assert (await counts(db, school.org.id, round_["id"]))[school.departments["n2"]] == (2, 1, 0)
    # Someone else cannot even see it.
    other = school.people["n2"][1]
    assert (await client.put(url, json={"revision": 3, "answers": FEVER}, headers=other.headers)).status == 404
    assert (await client.get(url, headers=other.headers)).status == 404


async def test_after_the_round_closes_nothing_is_accepted(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["n1"][1]
    base = school.url(f"/rounds/{round_['id']}/submissions")
    stored = await ok(await client.post(base, json={"client_id": client_id(), "answers": WELL}, headers=pupil.headers), 201)
    closed = await ok(await client.post(school.url(f"/rounds/{round_['id']}/close"), headers=school.owner))
    assert closed["state"] == "closed"
    late = await client.post(base, json={"client_id": client_id(), "answers": WELL}, headers=school.people["n1"][2].headers)
    assert late.status == 409 and (await late.json())["error"]["code"] == "round_closed"
    edit = await client.put(f"{base}/{stored['id']}", json={"revision": 1, "answers": FEVER}, headers=pupil.headers)
    assert edit.status == 409


async def test_a_round_not_open_yet_takes_nothing(client, db):
    school = await make_school(client, db)
    later = utcnow() + dt.timedelta(hours=1)
    round_ = await send_round(client, school, minutes=120, opens_at=later.isoformat())
    assert round_["state"] == "scheduled" and round_["opened_at"] is None
    early = await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json={"client_id": client_id(), "answers": WELL},
                              headers=school.people["n1"][0].headers)
    assert early.status == 409 and (await early.json())["error"]["code"] == "round_not_open"


async def test_a_round_whose_time_came_opens_for_the_first_request_if_the_worker_did_not_yet(client, db):
    school = await make_school(client, db)
    later = utcnow() + dt.timedelta(hours=1)
    round_ = await send_round(client, school, minutes=120, opens_at=later.isoformat())
    async with db.transaction(org_id=school.org.id) as tx:
        await tx.session.execute(update(FormRound).where(FormRound.id == round_["id"]).values(opens_at=utcnow() - dt.timedelta(seconds=1)))
    stored = await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json={"client_id": client_id(), "answers": WELL},
                               headers=school.people["n1"][0].headers)
    assert stored.status == 201, await stored.text()
    assert (await counts(db, school.org.id, round_["id"]))[school.departments["n1"]] == (3, 1, 0)


async def test_someone_not_in_the_round_or_answering_for_another_gets_404(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    url = school.url(f"/rounds/{round_['id']}/submissions")
    outsider = await join(db, school.org.id)  # a member of no department: not in the audience
    answer = await client.post(url, json={"client_id": client_id(), "answers": WELL}, headers=outsider.headers)
    assert answer.status == 404 and (await answer.json())["error"]["field"] == "respondent_id"
    pupil, other = school.people["n1"][:2]
    answer = await client.post(url, json={"client_id": client_id(), "respondent_id": other.id, "answers": WELL}, headers=pupil.headers)
    assert answer.status == 404
    assert (await client.get(school.url(f"/rounds/{round_['id']}"), headers=outsider.headers)).status == 404


async def test_answers_are_checked_naming_the_field(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    url = school.url(f"/rounds/{round_['id']}/submissions")
    pupil = school.people["n1"][0]
    for answers, field in (({"temperature": 36.5}, "symptoms"), ({"temperature": 50, "symptoms": False}, "temperature"),
                           ({"temperature": "hot", "symptoms": False}, "temperature"), ({**WELL, "colour": "red"}, "colour")):
        answer = await client.post(url, json={"client_id": client_id(), "answers": answers}, headers=pupil.headers)
        assert answer.status == 400 and (await answer.json())["error"]["field"] == field, await answer.text()
    async with db.transaction(org_id=school.org.id) as tx:
        assert await tx.session.scalar(select(RoundRespondent.submitted).where(RoundRespondent.respondent_id == pupil.id)) is False


async def test_the_fill_page_gets_the_form_and_what_is_stored(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["s1"][0]
    detail = await ok(await client.get(school.url(f"/rounds/{round_['id']}"), headers=pupil.headers))
    assert detail["title"] == "Daily health report" and detail["definition"]["fields"][0]["name"] == "temperature"
    assert detail["mine"] == [{"respondent_id": pupil.id, "name": "S1 pupil 0", "submission": None}] and detail["may_follow"] is False
    await ok(await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json={"client_id": client_id(), "answers": WELL},
                               headers=pupil.headers), 201)
    detail = await ok(await client.get(school.url(f"/rounds/{round_['id']}"), headers=pupil.headers))
    assert detail["mine"][0]["submission"]["answers"] == WELL


async def test_a_photo_answer_goes_to_the_submission_and_is_read_by_its_respondent_and_admins(client, db):
    from tests.server.forms.rounds_world import make_form
    from tests.server.forms.test_photos import upload_photo

    school = await make_school(client, db)
    photo_form = {"fields": [{"name": "rash", "type": "photo", "label": "A photo of the rash", "required": True}]}
    school.form_id = await make_form(db, school.org.id, school.org.owner.id, photo_form, title="Rash")
    round_ = await send_round(client, school)
    pupil, other = school.people["n1"][:2]
    file_id = await upload_photo(client, school.org, pupil)
    body = {"client_id": client_id(), "answers": {"rash": file_id}}
    await ok(await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json=body, headers=pupil.headers), 201)
    stolen = await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json={"client_id": client_id(), "answers": {"rash": file_id}},
                               headers=other.headers)
    assert stolen.status == 409 and (await stolen.json())["error"]["field"] == "rash"  # it answers the pupil's submission
    url = school.url(f"/files/{file_id}")
    assert (await client.get(url, headers=pupil.headers)).status == 200
    assert (await client.get(url, headers=school.owner)).status == 200
    assert (await client.get(url, headers=other.headers)).status == 404


async def test_the_home_page_lists_the_open_rounds_one_has_yet_to_fill_in(client, db):
    school = await make_school(client, db)
    round_ = await send_round(client, school)
    pupil = school.people["n1"][0]
    home = await ok(await client.get(school.url("/home"), headers=pupil.headers))
    (forms,) = [s for s in home if s["key"] == "forms"]
    assert [(i["title"], i["href"]) for i in forms["items"]] == [("Daily health report", f"/f/{round_['id']}?org={school.org.id}")]
    await ok(await client.post(school.url(f"/rounds/{round_['id']}/submissions"), json={"client_id": client_id(), "answers": WELL},
                               headers=pupil.headers), 201)
    home = await ok(await client.get(school.url("/home"), headers=pupil.headers))
    assert [s for s in home if s["key"] == "forms"][0]["items"] == []
