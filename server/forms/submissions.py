"""Submissions: one per respondent per round, idempotent by the device's id, edited with a revision until the round closes.

The rules, as ODK Central has them for instance ids:

* A device makes ``client_id`` when the answers are first saved (online or
  in its offline queue). Sending it again with the same answers returns the
  stored submission (200, ``created`` false): a replay after a lost answer
  or a reconnect changes nothing. The same id with other answers is 409.
* A respondent has one submission per round; a second one with another id
  is 409 (``already_submitted``): the page edits it instead.
* An edit names the ``revision`` it replaces; if that is not the latest, it
  is 409 (``stale_revision``) and the device shows what is stored now.
* Nothing is accepted before the round opens or after it closes (409).
* A respondent who is not in the round, or whom the caller does not answer
  for, is 404, as if it did not exist.

Counters move in the submission's transaction: the respondent's row is marked
submitted (conditional on it not being so yet) and its bucket's
``round_counts`` row moves, so the dashboards are never ahead of or behind
the answers. A bucket is a class or a department: no single hot row takes
every submission of a bureau.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, or_, select, update

from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import Conflict, NotFound
from server.forms.answers import CheckedAnswers, check_answers
from server.forms.answers import definition_of as parsed_definition
from server.forms.definition import FormDefinition
from server.forms.models import (
    FormRound,
    FormSubmission,
    FormVersion,
    RoundCount,
    RoundRespondent,
)
from server.forms.photos import do_attach_photos
from server.forms.privacy import check_may_view_answers
from server.forms.respondents import respondent_kind
from server.orgs.access import OrgContext


# The hot path's statements on the Core tables: the ORM's bulk-statement machinery costs more CPU than the database
# does here, and each names its round (read in the organisation's transaction), so there is nothing to scope.
_rr, _counts = RoundRespondent.__table__, RoundCount.__table__


async def definition_of(tx: Transaction, version_id: int) -> FormDefinition:
    """The definition a round's answers are checked against, parsed and compiled once per version (server/forms/answers.py)."""
    version = await tx.session.get(FormVersion, version_id)
    if version is None:
        raise NotFound("no such form")
    return parsed_definition(version)


def check_opened(round_: FormRound) -> None:
    """Before it opens a round has no respondents yet: whoever asks is told when it opens."""
    if utcnow() < round_.opens_at:
        raise Conflict("the round opens at {opens_at}; submit then", code="round_not_open", opens_at=round_.opens_at.isoformat())


def check_open(round_: FormRound) -> None:
    check_opened(round_)
    if utcnow() >= round_.closes_at:
        raise Conflict("the round closed at {closes_at}: answers are no longer accepted", code="round_closed",
                       closes_at=round_.closes_at.isoformat())


async def check_answerable(tx: Transaction, org: OrgContext, round_: FormRound, respondent_id: int) -> int:
    """The respondent's bucket in the round, if the caller answers for them; 404 otherwise."""
    bucket = await tx.session.scalar(select(_rr.c.bucket).where(_rr.c.round_id == round_.id, _rr.c.respondent_id == respondent_id))
    if bucket is None or respondent_id not in await respondent_kind(round_.respondent_kind).answerable(tx, org, [respondent_id]):
        raise NotFound("no such respondent in this round", field="respondent_id")
    return bucket


async def _count(tx: Transaction, round_id: int, bucket: int, *, submitted: int, abnormal: int) -> None:
    if submitted or abnormal:
        await tx.session.execute(
            update(_counts).where(_counts.c.round_id == round_id, _counts.c.bucket == bucket)
            .values(submitted=_counts.c.submitted + submitted, abnormal=_counts.c.abnormal + abnormal)
        )


async def do_submit(
    tx: Transaction, org: OrgContext, round_: FormRound, *, respondent_id: int, client_id: str, answers: dict[str, Any]
) -> tuple[FormSubmission | Row, bool]:
    """Store a first submission; returns it (its columns) and whether it was stored now (False: the same one came again)."""
    check_opened(round_)
    bucket = await check_answerable(tx, org, round_, respondent_id)
    check_open(round_)
    definition = await definition_of(tx, round_.version_id)
    checked: CheckedAnswers = check_answers(definition, answers)
    now = utcnow()
    inserted = (await tx.session.execute(
        insert_for(tx.dialect, FormSubmission.__table__).values(
            org_id=tx.org_id, round_id=round_.id, respondent_id=respondent_id, client_id=client_id, version_id=round_.version_id,
            answers=checked.values, abnormal=checked.abnormal, revision=1, submitted_by=org.user_id, created_at=now, updated_at=now,
        ).on_conflict_do_nothing().returning(*FormSubmission.__table__.c)
    )).first()
    if inserted is None:
        return await _already_there(tx, round_.id, respondent_id, client_id, checked), False
    await do_attach_photos(tx, org, definition, checked.values, inserted.id)
    abnormal = bool(checked.abnormal)
    await tx.session.execute(
        update(_rr).where(_rr.c.round_id == round_.id, _rr.c.respondent_id == respondent_id).values(submitted=True, abnormal=abnormal)
    )
    await _count(tx, round_.id, bucket, submitted=1, abnormal=int(abnormal))
    return inserted, True


async def _already_there(tx: Transaction, round_id: int, respondent_id: int, client_id: str, checked: CheckedAnswers) -> FormSubmission:
    """What a submission that could not be inserted met: the same one again (returned), or a conflict."""
    existing = list(await tx.session.scalars(
        select(FormSubmission).where(FormSubmission.round_id == round_id,
                                     or_(FormSubmission.client_id == client_id, FormSubmission.respondent_id == respondent_id))
    ))
    same_id = next((s for s in existing if s.client_id == client_id), None)
    if same_id is not None:
        if same_id.respondent_id == respondent_id and same_id.answers == checked.values:
            return same_id
        raise Conflict("a submission with this client id was already stored with other answers", code="client_id_reused", field="client_id")
    (theirs,) = existing
    raise Conflict("this respondent has already submitted: edit submission {submission_id} instead", code="already_submitted",
                   field="respondent_id", submission_id=theirs.id)


async def may_read_photos_of(tx: Transaction, org: OrgContext, submission_id: int) -> bool:
    """For photos answering a submission (server/forms/photos.py): those who answer for its respondent, and who may see answers
    where it lies."""
    submission = await tx.session.get(FormSubmission, submission_id)
    if submission is None or submission.org_id != org.org_id:
        return False
    round_ = await tx.session.get(FormRound, submission.round_id)
    if submission.respondent_id in await respondent_kind(round_.respondent_kind).answerable(tx, org, [submission.respondent_id]):
        return True
    try:
        await check_may_view_answers(tx, org, round_, submission.respondent_id)
    except NotFound:
        return False
    return True


async def get_submission(tx: Transaction, round_: FormRound, submission_id: int) -> FormSubmission:
    found = await tx.session.scalar(
        select(FormSubmission).where(FormSubmission.id == submission_id, FormSubmission.round_id == round_.id)
    )
    if found is None:
        raise NotFound("no such submission")
    return found


async def get_own_submission(tx: Transaction, org: OrgContext, round_: FormRound, submission_id: int) -> FormSubmission:
    """A submission the caller answers for (whoever of them submitted it); 404 for any other."""
    submission = await get_submission(tx, round_, submission_id)
    if submission.respondent_id not in await respondent_kind(round_.respondent_kind).answerable(tx, org, [submission.respondent_id]):
        raise NotFound("no such submission")
    return submission


async def do_edit(
    tx: Transaction, org: OrgContext, round_: FormRound, submission_id: int, *, revision: int, answers: dict[str, Any]
) -> FormSubmission:
    """Replace the answers of a submission whose latest revision is ``revision``; the same edit sent again returns it."""
    submission = await get_own_submission(tx, org, round_, submission_id)
    check_open(round_)
    definition = await definition_of(tx, round_.version_id)
    checked = check_answers(definition, answers)
    if submission.revision != revision:
        if submission.revision == revision + 1 and submission.answers == checked.values:
            return submission  # this very edit, sent again
        raise Conflict("the submission was changed since revision {revision} (it is at revision {latest}): reload it and edit again",
                       code="stale_revision", field="revision", revision=revision, latest=submission.revision)
    edited = await tx.session.scalar(
        update(FormSubmission).where(FormSubmission.id == submission.id, FormSubmission.revision == revision)
        .values(answers=checked.values, abnormal=checked.abnormal, revision=revision + 1, submitted_by=org.user_id, updated_at=utcnow())
        .returning(FormSubmission.id).execution_options(synchronize_session=False)
    )
    if edited is None:  # another edit committed between the read and this update
        raise Conflict("the submission was changed since revision {revision}: reload it and edit again", code="stale_revision",
                       field="revision", revision=revision)
    await do_attach_photos(tx, org, definition, checked.values, submission.id)
    now_abnormal = bool(checked.abnormal)
    was = (await tx.session.execute(
        update(RoundRespondent).where(RoundRespondent.round_id == round_.id, RoundRespondent.respondent_id == submission.respondent_id,
                                      RoundRespondent.abnormal != now_abnormal)
        .values(abnormal=now_abnormal).returning(RoundRespondent.bucket).execution_options(synchronize_session=False)
    )).first()
    if was is not None:
        await _count(tx, round_.id, was.bucket, submitted=0, abnormal=1 if now_abnormal else -1)
    await tx.session.refresh(submission)
    return submission
