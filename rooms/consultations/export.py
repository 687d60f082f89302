"""A clinic's consultations as rows for the hospital: read a page at a time, written by the platform's CSV/XLSX export
(server/forms/export.py: streamed CSV with formula injection neutralised, XLSX in constant memory, every cell typed)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import and_, select

from rooms.models import Consultation
from server.db import Database
from server.db.keyset import keyset_page
from server.orgs.models import Membership

HEADER = ["id", "status", "doctor", "patient", "phone", "queued_at", "called_at", "started_at", "ended_at", "duration_s", "notes"]
PAGE = 2000


async def consultation_pages(db: Database, org_id: int, clinic_id: int) -> AsyncIterator[list[list[Any]]]:
    """The rows, in id order, a page per short transaction; times in UTC without a zone (as spreadsheets take them)."""
    s, m = Consultation.__table__.c, Membership.__table__
    statement = (select(s.id, s.status, m.c.display_name, s.patient_name, s.patient_phone, s.queued_at, s.called_at, s.started_at, s.ended_at, s.notes)
                 .select_from(Consultation.__table__)
                 .join(m, and_(m.c.org_id == org_id, m.c.user_id == s.doctor_id), isouter=True)
                 .where(s.org_id == org_id, s.clinic_id == clinic_id))
    after = None
    while True:
        async with db.transaction(org_id=org_id) as tx:
            page = await keyset_page(tx, statement, s.id, after=after, limit=PAGE)
        yield [[id_, status, doctor, patient, phone, *(_naive(t) for t in (queued, called, started, ended)),
                round((ended - started).total_seconds()) if started and ended else None, notes]
               for id_, status, doctor, patient, phone, queued, called, started, ended, notes in page.rows]
        if page.next_after is None:
            return
        after = page.next_after


def _naive(at):
    return at.replace(tzinfo=None) if at is not None else None
