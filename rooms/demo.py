"""The demo's meeting: tomorrow morning's handover, hosted by the demo admin with the demo nurse as co-host,
so it shows among her upcoming meetings. Idempotent: a meeting with the demo's title is not made again."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select

from rooms.meetings.meetings import do_create_meeting
from rooms.models import Meeting
from server.config import Settings
from server.db import Database
from server.orgs.models import Membership, Organisation

TITLE = "Morning handover"
HOST = "admin@riverside.example"
COHOST = "nurse@riverside.example"
STARTS = dt.time(8, 30)  # in the organisation's time zone
CAP = 50


async def seed_demo(db: Database, demo, settings: Settings) -> None:
    async with db.transaction(org_id=demo.org_id) as tx:
        if await tx.session.scalar(select(Meeting.id).where(Meeting.title == TITLE)) is not None:
            return
        people = dict((await tx.session.execute(select(Membership.email, Membership.user_id).where(Membership.email.in_((HOST, COHOST))))).all())
        zone = zoneinfo.ZoneInfo(await tx.session.scalar(select(Organisation.time_zone).where(Organisation.id == demo.org_id)))
        tomorrow = dt.datetime.now(zone).date() + dt.timedelta(days=1)
        starts = dt.datetime.combine(tomorrow, STARTS, tzinfo=zone).astimezone(dt.timezone.utc)
        await do_create_meeting(
            tx, settings.secret_key, host_id=people[HOST], title=TITLE, scheduled_at=starts,
            passcode=None, lobby_enabled=False, cap=CAP, cohosts=[people[COHOST]],
        )
