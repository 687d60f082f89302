"""What rounds hold about a member of an organisation: the answers they gave for themselves, and those they submitted for others.

Exported: their own submissions (rounds members answer for themselves) with
the answers, and the ids of submissions they made for someone else (a
guardian's for a child: those answers are the child's, exported with the
child's data by the capability that keeps children). Erased: their own
submissions (with their photos) and their rows in the rounds' respondents; they are no longer
named as the submitter of anyone else's. Counts per department stay: they
are no one's data.
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Transaction
from server.forms.models import FormRound, FormSubmission, RoundRespondent
from server.forms.privacy import do_delete_photos_of
from server.forms.respondents import USER
from server.personal_data.parts import PersonalDataPart, iso


def _own(user_id: int):
    members_rounds = select(FormRound.id).where(FormRound.respondent_kind == USER)
    return FormSubmission.respondent_id == user_id, FormSubmission.round_id.in_(members_rounds)


async def export_rounds(tx: Transaction, user_id: int) -> dict:
    own = await tx.session.scalars(select(FormSubmission).where(*_own(user_id)).order_by(FormSubmission.id))
    for_others = await tx.session.scalars(
        select(FormSubmission.id).where(FormSubmission.submitted_by == user_id, FormSubmission.respondent_id != user_id).order_by(FormSubmission.id)
    )
    return {
        "submissions": [{"round_id": s.round_id, "answers": s.answers, "abnormal": s.abnormal, "revision": s.revision,
                         "created_at": iso(s.created_at), "updated_at": iso(s.updated_at)} for s in own],
        "submitted_for_others": list(for_others),
    }


async def erase_rounds(tx: Transaction, settings: Settings, user_id: int) -> dict[str, int]:
    await do_delete_photos_of(tx, settings, list(await tx.session.scalars(select(FormSubmission.id).where(*_own(user_id)))))
    own = await tx.session.execute(delete(FormSubmission).where(*_own(user_id)).execution_options(synchronize_session=False))
    rows = await tx.session.execute(
        delete(RoundRespondent).where(RoundRespondent.respondent_id == user_id,
                                      RoundRespondent.round_id.in_(select(FormRound.id).where(FormRound.respondent_kind == USER)))
        .execution_options(synchronize_session=False)
    )
    await tx.session.execute(update(FormSubmission).where(FormSubmission.submitted_by == user_id).values(submitted_by=None)
                             .execution_options(synchronize_session=False))
    return {"form_submissions": own.rowcount, "round_respondents": rows.rowcount}


PART = PersonalDataPart("form_rounds", export_rounds, erase_rounds)
