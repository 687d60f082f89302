"""The demo's meeting: a handover starting on the next full hour at least an hour away, hosted by the demo
admin with the demo nurse invited, so her home page shows it among the meetings starting soon; and its clinic,
whose queue the nurse serves (its link is on the admin's /clinics page).
Idempotent: a meeting or clinic with the demo's name is not made again."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from rooms.consultations.clinics import do_create_clinic
from rooms.meetings.meetings import do_create_meeting
from rooms.models import Clinic, Meeting
from server.config import Settings
from server.db import Database
from server.orgs.models import Membership

TITLE = "Ward handover"
CLINIC = "Online fever clinic"
HOST = "admin@riverside.example"
INVITEE = "nurse@riverside.example"
LEAD = dt.timedelta(hours=1)  # at least this far ahead: time to look around before it starts
CAP = 50


async def seed_demo(db: Database, demo, settings: Settings) -> None:
    async with db.transaction(org_id=demo.org_id) as tx:
        people = dict((await tx.session.execute(select(Membership.email, Membership.user_id).where(Membership.email.in_((HOST, INVITEE))))).all())
        if await tx.session.scalar(select(Clinic.id).where(Clinic.name == CLINIC)) is None:
            await do_create_clinic(tx, created_by=people[HOST], name=CLINIC, doctor_ids=[people[INVITEE]])
        if await tx.session.scalar(select(Meeting.id).where(Meeting.title == TITLE)) is not None:
            return
        starts = (dt.datetime.now(dt.timezone.utc) + LEAD + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        await do_create_meeting(
            tx, settings.secret_key, host_id=people[HOST], title=TITLE, scheduled_at=starts,
            passcode=None, lobby_enabled=False, cap=CAP, cohosts=[], invitees=[people[INVITEE]], duration_min=30,
        )
