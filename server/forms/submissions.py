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
submitted and its bucket's ``round_counts`` row moves, so the dashboards are
never ahead of or behind the answers. A bucket is a class or a department: no
single hot row takes every submission of a bureau.

What a first submission costs (the hot path: a city's families in the morning):
one transaction (server/api.py's ``one_transaction``: the token, the caller's
place in the organisation and this) of six statements on PostgreSQL: the
session, the membership or admission, the round with its version's time (the
parsed definition is cached by it), the respondent's bucket, whom the caller
answers for among them (the respondent kind), and the insert with both counter
updates as one statement (data-modifying ``WITH``; on SQLite three). All are
Core statements built once with parameters, so SQLAlchemy compiles each once.
The outsider's "answers for someone in this round" is the same question as
"answers for this respondent", asked once; only a refusal asks the wider one,
to answer 404 for the round rather than the respondent.
"""
from __future__ import annotations

from typing import Any

import functools

from sqlalchemy import Row, bindparam, exists, or_, select, update

from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import Conflict, NotFound
from server.forms.answers import CheckedAnswers, check_answers, parsed_if_cached
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
from server.forms.respondents import check_answers_in, respondent_kind
from server.orgs.access import OrgContext


# The hot path's statements on the Core tables: the ORM's bulk-statement machinery costs more CPU than the database
# does here, and each names its round (read in the organisation's transaction), so there is nothing to scope.
_rr, _counts = RoundRespondent.__table__, RoundCount.__table__
_rounds, _versions, _submissions = FormRound.__table__, FormVersion.__table__, FormSubmission.__table__

_ROUND_TO_ANSWER = (
    select(_rounds.c.id, _rounds.c.org_id, _rounds.c.version_id, _rounds.c.respondent_kind, _rounds.c.opens_at, _rounds.c.closes_at,
           _rounds.c.opened_at, _versions.c.created_at.label("version_created_at"))
    .join(_versions, _versions.c.id == _rounds.c.version_id)
    .where(_rounds.c.id == bindparam("round_id"), _rounds.c.org_id == bindparam("org_id"))
)
# Parameters named for what they pick (a parameter named like a column an INSERT or UPDATE sets is SQLAlchemy's own).
_BUCKET = select(_rr.c.bucket).where(_rr.c.round_id == bindparam("which_round"), _rr.c.respondent_id == bindparam("which_respondent"))
_SUBMISSION_COLUMNS = ("org_id", "round_id", "respondent_id", "client_id", "version_id", "answers", "abnormal", "revision", "submitted_by",
                       "created_at", "updated_at")
_MARK = (update(_rr).where(_rr.c.round_id == bindparam("which_round"), _rr.c.respondent_id == bindparam("which_respondent"))
         .values(submitted=True, abnormal=bindparam("is_abnormal")))
_COUNT = (update(_counts).where(_counts.c.round_id == bindparam("which_round"), _counts.c.bucket == bindparam("which_bucket"))
          .values(submitted=_counts.c.submitted + 1, abnormal=_counts.c.abnormal + bindparam("abnormal_added")))


@functools.cache
def _store(dialect: str) -> tuple:
    """The statements storing a first submission: on PostgreSQL one, the insert and, only if it inserted, the respondent's
    mark and the bucket's counters (data-modifying ``WITH``); on SQLite the three in turn."""
    insert = insert_for(dialect, _submissions)
    inserted = insert.values({c: bindparam(f"new_{c}", type_=_submissions.c[c].type) for c in _SUBMISSION_COLUMNS}).on_conflict_do_nothing() \
        .returning(*_submissions.c)
    if dialect != "postgresql":
        return inserted, _MARK, _COUNT
    stored = inserted.cte("stored")
    marked = _MARK.where(exists(select(stored.c.id))).returning(_rr.c.bucket).cte("marked")
    counted = _COUNT.where(exists(select(marked.c.bucket))).cte("counted")
    return (select(stored).add_cte(marked, counted),)


async def round_to_answer(tx: Transaction, round_id: int) -> Row:
    """What a submission needs of its round (of the transaction's organisation), with its version's creation time: the key
    of the parsed definition's cache, so that a warm node reads no version row."""
    found = (await tx.run(_ROUND_TO_ANSWER, {"round_id": round_id, "org_id": tx.org_id})).first()
    if found is None:
        raise NotFound("no such round")
    return found


async def definition_of(tx: Transaction, version_id: int, created_at=None) -> FormDefinition:
    """The definition a round's answers are checked against, parsed and compiled once per version (server/forms/answers.py)."""
    if created_at is not None and (cached := parsed_if_cached(version_id, created_at)) is not None:
        return cached
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


async def check_answerable(tx: Transaction, org: OrgContext, round_: FormRound | Row, respondent_id: int) -> int:
    """The respondent's bucket in the round, if the caller answers for them; 404 otherwise."""
    bucket = (await tx.run(_BUCKET, {"which_round": round_.id, "which_respondent": respondent_id})).scalar()
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
    tx: Transaction, org: OrgContext, round_: FormRound | Row, *, respondent_id: int, client_id: str, answers: dict[str, Any]
) -> tuple[FormSubmission | Row, bool]:
    """Store a first submission; returns it (its columns) and whether it was stored now (False: the same one came again).

    ``round_`` is the round's row (``round_to_answer``, or the model). An outsider of the organisation learns nothing of a
    round they answer for nobody in (404 for the round, whatever its state); a member is told when it opens."""
    if org.membership_id is not None:
        check_opened(round_)
    try:
        bucket = await check_answerable(tx, org, round_, respondent_id)
    except NotFound:
        await check_answers_in(tx, org, round_)  # nobody of theirs in the round at all: 404 for the round
        raise
    check_open(round_)
    definition = await definition_of(tx, round_.version_id, getattr(round_, "version_created_at", None))
    checked: CheckedAnswers = check_answers(definition, answers)
    now = utcnow()
    abnormal = bool(checked.abnormal)
    new = {"org_id": tx.org_id, "round_id": round_.id, "respondent_id": respondent_id, "client_id": client_id, "version_id": round_.version_id,
           "answers": checked.values, "abnormal": checked.abnormal, "revision": 1, "submitted_by": org.user_id, "created_at": now, "updated_at": now}
    params = {f"new_{k}": v for k, v in new.items()} | {"which_round": round_.id, "which_respondent": respondent_id, "which_bucket": bucket,
                                                        "is_abnormal": abnormal, "abnormal_added": int(abnormal)}
    store, *then = _store(tx.dialect)
    inserted = (await tx.run(store, params)).first()
    if inserted is None:
        return await _already_there(tx, round_.id, respondent_id, client_id, checked), False
    for statement in then:  # SQLite: the respondent's mark and the counters after the insert
        await tx.run(statement, params)
    await do_attach_photos(tx, org, definition, checked.values, inserted.id)
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
