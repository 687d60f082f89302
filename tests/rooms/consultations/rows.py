"""A consultation row without a patient's phone and code, for the route matrices (tests/server/)."""
from __future__ import annotations

from rooms.models import Consultation
from server.db import Database, utcnow


async def stand_in_consultation(db: Database, org_id: int, clinic_id: int) -> int:
    """A patient waiting in the clinic's queue (no session of theirs: the matrices probe who else gets in)."""
    async with db.transaction(org_id=org_id) as tx:
        row = Consultation(org_id=org_id, clinic_id=clinic_id, patient_name="Pat Probe", patient_phone="+8613900000042", status="waiting",
                           queued_at=utcnow(), notes="")
        tx.session.add(row)
        await tx.session.flush()
        return row.id
