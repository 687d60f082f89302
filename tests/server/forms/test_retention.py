"""Answers are deleted once the organisation's retention period after their round closed has passed; the counts stay."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, func, select, update

from server.appkeys import SETTINGS
from server.db import utcnow
from server.forms.models import FormRound, FormSubmission, RoundRespondent
from server.forms.privacy import do_sweep
from server.retention.job import do_prune
from server.retention.registry import PRUNINGS
from tests.server.forms.rounds_world import FEVER, WELL, make_school, send_round
from tests.server.orgs.conftest import join, ok


async def test_the_sweeper_deletes_answers_past_retention_and_keeps_the_counts(client, db):
    school = await make_school(client, db)
    old, recent = (await send_round(client, school))["id"], (await send_round(client, school))["id"]
    for rid in (old, recent):
        for person, answers in ((school.people["n1"][0], FEVER), (school.people["s1"][0], WELL)):
            body = {"client_id": uuid.uuid4().hex, "answers": answers}
            await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
    member = await join(db, school.org.id)
    assert (await client.put(school.url("/form-policy"), json={"retention_days": 30}, headers=member.headers)).status == 403
    policy = await ok(await client.put(school.url("/form-policy"), json={"retention_days": 30, "reminder_sms": True}, headers=school.owner))
    assert policy == {"retention_days": 30, "reminder_sms": True}
    async with db.transaction(org_id=school.org.id) as tx:
        await tx.session.execute(update(FormRound).where(FormRound.id == old).values(closes_at=utcnow() - dt.timedelta(days=31)))
    deleted = await do_prune(db, client.app[PRUNINGS], node="test")  # the platform's retention job runs the sweep
    assert deleted["form answers past their organisation's retention"] == 2
    async with db.transaction(org_id=school.org.id) as tx:
        left = dict((await tx.session.execute(select(FormSubmission.round_id, func.count()).group_by(FormSubmission.round_id))).all())
        people = dict((await tx.session.execute(select(RoundRespondent.round_id, func.count()).group_by(RoundRespondent.round_id))).all())
    assert left == {recent: 2} and people == {recent: 7}
    top = await ok(await client.get(school.url(f"/rounds/{old}/dashboard"), headers=school.owner))
    assert top["round"]["purged"] is True and top["node"]["counts"] == {"expected": 7, "submitted": 2, "missing": 5, "abnormal": 1}
    assert await do_sweep(db, client.app[SETTINGS]) == 0


async def test_a_members_answers_are_in_their_export_and_go_with_their_erasure(client, db):
    from server.orgs.models import Membership

    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    pupil = school.people["n1"][0]
    body = {"client_id": uuid.uuid4().hex, "answers": FEVER}
    await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=pupil.headers), 201)
    async with db.transaction(org_id=school.org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == pupil.id))
    exported = await ok(await client.get(school.url(f"/members/{member_id}/personal-data"), headers=school.owner))
    (mine,) = exported["parts"]["form_rounds"]["submissions"]
    assert mine["round_id"] == rid and mine["answers"] == FEVER
    await ok(await client.post(school.url(f"/members/{member_id}/erasure"), json={"confirm": True}, headers=school.owner))
    async with db.transaction(org_id=school.org.id) as tx:
        assert await tx.session.scalar(select(func.count()).select_from(FormSubmission)) == 0
        assert await tx.session.scalar(select(func.count()).select_from(RoundRespondent).where(RoundRespondent.respondent_id == pupil.id)) == 0


async def test_photos_answering_swept_submissions_go_with_them(client, db):
    from tests.server.forms.rounds_world import make_form
    from tests.server.forms.test_photos import upload_photo

    school = await make_school(client, db)
    school.form_id = await make_form(db, school.org.id, school.org.owner.id, {"fields": [{"name": "rash", "type": "photo", "label": "Rash"}]})
    rid = (await send_round(client, school))["id"]
    pupil = school.people["s1"][0]
    file_id = await upload_photo(client, school.org, pupil)
    body = {"client_id": uuid.uuid4().hex, "answers": {"rash": file_id}}
    await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=pupil.headers), 201)
    assert (await client.get(school.url(f"/files/{file_id}"), headers=school.owner)).status == 200
    await ok(await client.put(school.url("/form-policy"), json={"retention_days": 1}, headers=school.owner))
    async with db.transaction(org_id=school.org.id) as tx:
        await tx.session.execute(update(FormRound).where(FormRound.id == rid).values(closes_at=utcnow() - dt.timedelta(days=2)))
    assert await do_sweep(db, client.app[SETTINGS]) == 1
    assert (await client.get(school.url(f"/files/{file_id}"), headers=school.owner)).status == 404


async def test_a_deleted_account_leaves_its_answers_to_the_organisation_without_a_submitter(client, db):
    """Submissions keep no foreign key to users (checked on every submission): a trigger clears ``submitted_by`` with the
    account, as the key's ``SET NULL`` did; the answers of someone removed, not erased, stay the organisation's."""
    from server.orgs.models import Membership
    from server.personal_data.actions import do_delete_account_if_unattached

    school = await make_school(client, db)
    rid = (await send_round(client, school))["id"]
    for person in (school.people["n1"][0], school.people["s1"][0]):
        body = {"client_id": uuid.uuid4().hex, "answers": WELL}
        await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=person.headers), 201)
    pupil = school.people["n1"][0]
    async with db.transaction(org_id=school.org.id) as tx:
        member_id = await tx.session.scalar(select(Membership.id).where(Membership.user_id == pupil.id))
    resp = await client.delete(school.url(f"/members/{member_id}"), headers=school.owner)
    assert resp.status == 204, await resp.text()
    assert await do_delete_account_if_unattached(db, pupil.id)
    async with db.transaction(org_id=school.org.id) as tx:
        rows = dict((await tx.session.execute(select(FormSubmission.respondent_id, FormSubmission.submitted_by))).all())
    assert rows == {pupil.id: None, school.people["s1"][0].id: school.people["s1"][0].id}


async def test_a_deleted_round_takes_its_submissions_with_it(client, db):
    """What the submissions' foreign key to rounds did (a form's rounds cascade with it), a trigger does."""
    school = await make_school(client, db)
    kept, gone = (await send_round(client, school))["id"], (await send_round(client, school))["id"]
    for rid in (kept, gone):
        body = {"client_id": uuid.uuid4().hex, "answers": WELL}
        await ok(await client.post(school.url(f"/rounds/{rid}/submissions"), json=body, headers=school.people["n1"][0].headers), 201)
    async with db.transaction(org_id=school.org.id) as tx:
        await tx.session.execute(delete(FormRound).where(FormRound.id == gone))
        left = list(await tx.session.scalars(select(FormSubmission.round_id)))
    assert left == [kept]
