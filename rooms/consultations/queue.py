"""A clinic's queue: patients wait, doctors call the next one into a 1:1 meeting, end it with notes.

Places and lapses: a patient's place is the order of ``queued_at`` among the
clinic's waiting rows. While no page of theirs is connected (``away_since``,
set by rooms/consultations/presence.py) they keep it for
``consultation_grace_s``; after that the row lapses. Lapsing is lazy, done by
whoever reads the queue next (a doctor's list, a call, a patient's page): one
UPDATE, no timer on any node.

Calling the next patient is one conditional UPDATE per candidate
(``... WHERE id = :id AND status = 'waiting'``): two doctors calling at once
may pick the same first row, but only one UPDATE finds it still waiting; on
PostgreSQL the second waits for the first's commit, sees the row taken and
moves on to the next candidate. So two calls never get the same patient.

Events (after commit, server/gateway/events.py): each waiting patient gets
``consultation.queue`` with their own position and expected wait (one
``emit`` per waiting patient: a queue is tens of people, and each is told
only about themselves); the called patient ``consultation.called``; the
clinic's doctors ``consultation.clinic`` (re-read the list).
Expected wait: the mean length of the clinic's last 20 consultations (a
default until it has some) times the rounds of doctors ahead of the patient.
"""
from __future__ import annotations

import datetime as dt
import math
import secrets

from sqlalchemy import func, select, update

from rooms.config import RoomsSettings
from rooms.consultations.clinics import doctors_of
from rooms.meetings.meetings import do_create_meeting, do_end_meeting, get_meeting
from rooms.models import Clinic, Consultation, Meeting
from server.db import Transaction, utcnow
from server.errors import Conflict, Gone, NotFound
from server.gateway.events import emit

WAITING, CALLED, STARTED, ENDED, LAPSED, LEFT = "waiting", "called", "started", "ended", "lapsed", "left"
OPEN = (WAITING, CALLED, STARTED)
GUEST_SCOPE_KIND = "consultation"  # a patient's session is scoped to ("consultation", id): rooms/consultations/patients.py
QUEUE_EVENT = "consultation.queue"  # to a waiting patient: their position and expected wait
CALLED_EVENT = "consultation.called"  # to the patient a doctor called: join now
ENDED_EVENT = "consultation.ended"  # to the patient: the doctor ended it (or it lapsed)
CLINIC_EVENT = "consultation.clinic"  # to a clinic's doctors: its queue changed
RECENT = 20  # consultations the expected length is the mean of
CALL_CANDIDATES = 5


async def do_join_queue(tx: Transaction, settings: RoomsSettings, clinic: Clinic, *, patient_id: int, name: str, phone: str) -> Consultation:
    """The patient's place at the end of the queue; away until their page connects."""
    now = utcnow()
    row = Consultation(org_id=tx.org_id, clinic_id=clinic.id, patient_id=patient_id, patient_name=name, patient_phone=phone,
                       status=WAITING, queued_at=now, away_since=now, notes="")
    tx.session.add(row)
    await tx.session.flush()
    await do_tell_queue(tx, clinic.id, settings)
    return row


async def get_consultation(tx: Transaction, consultation_id: int) -> Consultation:
    row = await tx.session.scalar(select(Consultation).where(Consultation.id == consultation_id))
    if row is None:
        raise NotFound("no such consultation", field="consultation_id")
    return row


async def do_lapse_away(tx: Transaction, clinic_id: int, settings: RoomsSettings) -> list[int]:
    """Lapse the places of patients away longer than the grace period; returns the patients who lost theirs (to tell)."""
    cutoff = utcnow() - dt.timedelta(seconds=settings.consultation_grace_s)
    lapsed = await tx.session.execute(
        update(Consultation)
        .where(Consultation.clinic_id == clinic_id, Consultation.status == WAITING, Consultation.away_since < cutoff)
        .values(status=LAPSED, ended_at=utcnow())
        .returning(Consultation.patient_id)
        .execution_options(synchronize_session=False)
    )
    return [p for (p,) in lapsed if p is not None]


async def waiting(tx: Transaction, clinic_id: int) -> list[Consultation]:
    return list(await tx.session.scalars(
        select(Consultation).where(Consultation.clinic_id == clinic_id, Consultation.status == WAITING)
        .order_by(Consultation.queued_at, Consultation.id)
    ))


async def mean_length_s(tx: Transaction, clinic_id: int, settings: RoomsSettings) -> int:
    """The mean length of the clinic's last ``RECENT`` consultations, in seconds (the default before it has any)."""
    recent = (select(Consultation.started_at, Consultation.ended_at)
              .where(Consultation.clinic_id == clinic_id, Consultation.status == ENDED, Consultation.started_at.is_not(None))
              .order_by(Consultation.ended_at.desc()).limit(RECENT))
    lengths = [(ended - started).total_seconds() for started, ended in (await tx.session.execute(recent)).all()]
    return round(sum(lengths) / len(lengths)) if lengths else settings.consultation_wait_default_s


def expected_wait_s(position: int, doctors: int, mean_s: int) -> int:
    """Rounds of all the doctors ahead of this place (``position`` counts from 1)."""
    return math.ceil(position / max(doctors, 1)) * mean_s


async def place_of(tx: Transaction, row: Consultation, settings: RoomsSettings) -> tuple[int, int]:
    """A waiting patient's position (from 1) and expected wait in seconds."""
    ahead = await tx.session.scalar(
        select(func.count()).select_from(Consultation)
        .where(Consultation.clinic_id == row.clinic_id, Consultation.status == WAITING,
               (Consultation.queued_at < row.queued_at) | ((Consultation.queued_at == row.queued_at) & (Consultation.id < row.id)))
    )
    doctors = len(await doctors_of(tx, row.clinic_id))
    return ahead + 1, expected_wait_s(ahead + 1, doctors, await mean_length_s(tx, row.clinic_id, settings))


async def do_tell_queue(tx: Transaction, clinic_id: int, settings: RoomsSettings, lapsed: list[int] = ()) -> None:
    """Tell each waiting patient their place, those who lapsed that they did, and the doctors that the queue moved."""
    rows = await waiting(tx, clinic_id)
    doctors = await doctors_of(tx, clinic_id)
    mean_s = await mean_length_s(tx, clinic_id, settings)
    for position, row in enumerate(rows, 1):
        if row.patient_id is not None:
            await emit(tx, [row.patient_id], QUEUE_EVENT, {"consultation_id": row.id, "position": position,
                                                           "wait_s": expected_wait_s(position, len(doctors), mean_s)})
    if lapsed:
        await emit(tx, list(lapsed), ENDED_EVENT, {"status": LAPSED})
    await emit(tx, doctors, CLINIC_EVENT, {"org_id": tx.org_id, "clinic_id": clinic_id, "waiting": len(rows)})


async def do_call_next(tx: Transaction, secret_key: str, settings: RoomsSettings, clinic: Clinic, doctor_id: int) -> Consultation | None:
    """The next waiting patient becomes the doctor's consultation, with its 1:1 meeting; None if nobody waits.

    The meeting's passcode is random and told to nobody: only its host (the
    doctor) and the patient, by a ticket (``patient_ticket``), get in.
    """
    busy = await tx.session.scalar(select(Consultation.id).where(
        Consultation.clinic_id == clinic.id, Consultation.doctor_id == doctor_id, Consultation.status.in_((CALLED, STARTED))))
    if busy is not None:
        raise Conflict("end your current consultation first", code="consultation_open", field="consultation_id")
    lapsed = await do_lapse_away(tx, clinic.id, settings)
    taken = None
    while taken is None:
        candidates = list(await tx.session.scalars(
            select(Consultation.id).where(Consultation.clinic_id == clinic.id, Consultation.status == WAITING)
            .order_by(Consultation.queued_at, Consultation.id).limit(CALL_CANDIDATES)
        ))
        if not candidates:
            await do_tell_queue(tx, clinic.id, settings, lapsed)
            return None
        for candidate in candidates:
            claimed = await tx.session.execute(
                update(Consultation).where(Consultation.id == candidate, Consultation.status == WAITING)
                .values(status=CALLED, doctor_id=doctor_id, called_at=utcnow()).execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                taken = candidate
                break
    row = await get_consultation(tx, taken)
    await tx.session.refresh(row)
    meeting = await do_create_meeting(
        tx, secret_key, host_id=doctor_id, title=clinic.name, scheduled_at=None, passcode=secrets.token_urlsafe(16),
        lobby_enabled=False, cap=2, cohosts=[],
    )
    row.meeting_id = meeting.id
    await tx.session.flush()
    if row.patient_id is not None:
        await emit(tx, [row.patient_id], CALLED_EVENT, {"consultation_id": row.id})
    await do_tell_queue(tx, clinic.id, settings, lapsed)
    return row


async def do_patient_joins(tx: Transaction, row: Consultation) -> Meeting:
    """The called patient comes in: the consultation starts (the first time) and its meeting is theirs to join."""
    if row.status not in (CALLED, STARTED):
        raise Conflict("the doctor has not called you yet", code="not_called") if row.status == WAITING else Gone("this consultation is over")
    if row.started_at is None:
        row.status, row.started_at = STARTED, utcnow()
        await tx.session.flush()
    return await get_meeting(tx, row.meeting_id)


async def do_end_consultation(tx: Transaction, settings: RoomsSettings, row: Consultation, notes: str) -> int | None:
    """The doctor ends it, with notes: the row is final; its meeting ends (the caller ends it live). Returns the meeting's id."""
    if row.status not in (CALLED, STARTED):
        raise Gone("this consultation is over") if row.status in (ENDED, LAPSED, LEFT) else Conflict("call the patient first", code="not_called")
    row.status, row.ended_at, row.notes = ENDED, utcnow(), notes  # never started (the patient did not come): no length
    if row.meeting_id is not None:
        await do_end_meeting(tx, await get_meeting(tx, row.meeting_id))
    await tx.session.flush()
    if row.patient_id is not None:
        await emit(tx, [row.patient_id], ENDED_EVENT, {"status": ENDED})
    await do_tell_queue(tx, row.clinic_id, settings)
    return row.meeting_id


async def do_leave_queue(tx: Transaction, settings: RoomsSettings, row: Consultation) -> None:
    """The patient gives up their place (only while waiting)."""
    if row.status != WAITING:
        raise Conflict("you are no longer waiting in this queue", code="not_waiting")
    row.status, row.ended_at = LEFT, utcnow()
    await tx.session.flush()
    await do_tell_queue(tx, row.clinic_id, settings)


async def do_mark_presence(tx: Transaction, consultation_id: int, *, here: bool) -> None:
    """A page of the patient connected (``here``) or their last went away: the grace period starts from now."""
    await tx.session.execute(
        update(Consultation).where(Consultation.id == consultation_id, Consultation.status.in_(OPEN))
        .values(away_since=None if here else utcnow()).execution_options(synchronize_session=False)
    )
