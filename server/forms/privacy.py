"""Answers are sensitive (children's health): who may see them one by one, the log of who did, and how long they are kept.

* Roll-ups (how many submitted, how many abnormal) are for whoever may see a
  round's dashboard. Individual answers, the abnormal flag of a person, and
  exports are for organisation admins and whoever a capability says
  (``register_answer_viewer``: a school's health officer, say), who may be
  limited to parts of the round: a viewer answers department subtrees
  (paths), and a submission, a flag or an export row is shown only if its
  respondent's bucket lies under one of them. Every look at someone else's
  answers, and every export, is an entry in the audit log.
* An organisation may set a retention period (``form_policies.retention_days``):
  the sweeper deletes the submissions of rounds closed longer ago than that
  (with the photos answering them), and the per-person rows of those rounds
  (who was expected, who was abnormal); the rounds and their counts per
  department stay. The sweep is one of the platform's prunings
  (server/retention/), run by its job on one node at a time.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import delete, select, update

from server.audiences.reach import within
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.errors import NotFound
from server.files.models import StoredFile
from server.files.storage import do_delete_file
from server.forms.dashboard import ROOT
from server.forms.models import FormPolicy, FormRound, FormSubmission, RoundCount, RoundRespondent
from server.forms.photos import FORM_PHOTOS
from server.orgs.access import OrgContext
from server.retention.registry import Pruning

AnswerViewer = Callable[[Transaction, OrgContext, FormRound], Awaitable[Sequence[str]]]
_viewers: list[AnswerViewer] = []
SWEEP_BATCH = 5000


def register_answer_viewer(viewer: AnswerViewer) -> None:
    """Let ``viewer(tx, org, round)`` answer the department subtrees (paths such as ``/1/5/``; ``/`` for the whole
    round) under which the caller may see the round's individual answers, beyond the organisation's admins. At import, once."""
    if viewer not in _viewers:
        _viewers.append(viewer)


async def answer_paths(tx: Transaction, org: OrgContext, round_: FormRound) -> list[str]:
    """The subtrees of the round whose individual answers the caller may see: ``["/"]`` all of them, ``[]`` none.
    Guests and outsiders see only what they answer for themselves."""
    if org.membership_id is None:
        return []
    if org.is_admin:
        return [ROOT]
    paths: set[str] = set()
    for viewer in _viewers:
        paths.update(await viewer(tx, org, round_))
    return [ROOT] if ROOT in paths else sorted(paths)


async def may_view_answers(tx: Transaction, org: OrgContext, round_: FormRound) -> bool:
    """Whether the caller may see any of the round's individual answers (all of them, or a part)."""
    return bool(await answer_paths(tx, org, round_))


async def bucket_paths(tx: Transaction, round_id: int, buckets: Sequence[int]) -> dict[int, str]:
    """The department path each bucket of the round counted under when it opened."""
    return dict((await tx.session.execute(
        select(RoundCount.bucket, RoundCount.path).where(RoundCount.round_id == round_id, RoundCount.bucket.in_(sorted(set(buckets))))
    )).all()) if buckets else {}


async def check_may_view_answers(tx: Transaction, org: OrgContext, round_: FormRound, respondent_id: int | None = None) -> list[str]:
    """The caller's answer paths for the round, if they may see its answers (``respondent_id``'s, if given: their bucket
    must lie under them). Otherwise 404: they do not learn that a submission exists."""
    paths = await answer_paths(tx, org, round_)
    if paths and respondent_id is not None and ROOT not in paths:
        bucket = await tx.session.scalar(
            select(RoundRespondent.bucket).where(RoundRespondent.round_id == round_.id, RoundRespondent.respondent_id == respondent_id)
        )
        path = (await bucket_paths(tx, round_.id, [bucket])).get(bucket) if bucket is not None else None
        paths = paths if path is not None and within(path, paths) else []
    if not paths:
        raise NotFound("no such submission")
    return paths


async def retention_days(tx: Transaction) -> int | None:
    return await tx.session.scalar(select(FormPolicy.retention_days))


async def do_set_policy(tx: Transaction, org: OrgContext, *, retention_days: int | None, reminder_sms: bool) -> FormPolicy:
    policy = await tx.session.scalar(select(FormPolicy))
    if policy is None:
        policy = FormPolicy(org_id=tx.org_id)
        tx.session.add(policy)
    policy.retention_days, policy.reminder_sms, policy.updated_at = retention_days, reminder_sms, utcnow()
    await tx.session.flush()
    await do_audit(tx, org.principal, "form.policy_changed", details={"retention_days": retention_days, "reminder_sms": reminder_sms})
    return policy


async def do_delete_photos_of(tx: Transaction, settings: Settings, submission_ids: Sequence[int]) -> int:
    """Delete the photos answering these submissions (before the submissions go); returns how many."""
    photos = list(await tx.session.scalars(
        select(StoredFile.id).where(StoredFile.owner_kind == FORM_PHOTOS, StoredFile.owner_id.in_(submission_ids))
    )) if submission_ids else []
    for file_id in photos:
        await do_delete_file(tx, settings, file_id)
    return len(photos)


async def do_sweep(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete what the organisations' retention periods say is due; returns how many submissions went."""
    return sum([deleted async for deleted in sweep_batches(db, settings, now or utcnow())])


def answers_pruning(settings: Settings) -> Pruning:
    """The sweep as one of the platform's prunings (server/retention/): run by its job, on one node at a time."""
    return Pruning("form answers past their organisation's retention", lambda db, now: sweep_batches(db, settings, now))


async def sweep_batches(db: Database, settings: Settings, now: dt.datetime) -> AsyncIterator[int]:
    """Delete what is due, a batch per transaction (so a bureau's months of answers never make one long transaction),
    yielding how many submissions each batch deleted; a round is marked purged once nothing of it is left."""
    async with db.transaction() as tx:
        policies = (await tx.session.execute(select(FormPolicy.org_id, FormPolicy.retention_days).where(FormPolicy.retention_days.is_not(None)))).all()
    for org_id, days in policies:
        async with db.transaction(org_id=org_id) as tx:
            due = list(await tx.session.scalars(
                select(FormRound.id).where(FormRound.purged_at.is_(None), FormRound.closes_at < now - dt.timedelta(days=days))
            ))
        for round_id in due:
            async for deleted in _purge_round(db, settings, org_id, round_id):
                yield deleted


async def _purge_round(db: Database, settings: Settings, org_id: int, round_id: int) -> AsyncIterator[int]:
    while True:
        async with db.transaction(org_id=org_id) as tx:
            batch = list(await tx.session.scalars(select(FormSubmission.id).where(FormSubmission.round_id == round_id).limit(SWEEP_BATCH)))
            await do_delete_photos_of(tx, settings, batch)
            if batch:
                await tx.session.execute(delete(FormSubmission).where(FormSubmission.id.in_(batch)).execution_options(synchronize_session=False))
        yield len(batch)
        if len(batch) < SWEEP_BATCH:
            break
    while True:
        async with db.transaction(org_id=org_id) as tx:
            rows = select(RoundRespondent.respondent_id).where(RoundRespondent.round_id == round_id).limit(SWEEP_BATCH).scalar_subquery()
            gone = (await tx.session.execute(
                delete(RoundRespondent).where(RoundRespondent.round_id == round_id, RoundRespondent.respondent_id.in_(rows))
                .execution_options(synchronize_session=False)
            )).rowcount
        yield 0
        if gone < SWEEP_BATCH:
            break
    async with db.transaction(org_id=org_id) as tx:
        await tx.session.execute(update(FormRound).where(FormRound.id == round_id).values(purged_at=utcnow()).execution_options(synchronize_session=False))
