"""The meetings section of the home page: the person's meetings that are live or start within a day, live ones first."""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from rooms.meetings.meetings import join_url
from rooms.meetings.upcoming import upcoming_meetings
from server.db import Transaction, utcnow
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.web.home import HomeItem, HomeSection, register_home_section

SOON = dt.timedelta(hours=24)
SHOWN = 8


async def meetings_soon(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    meetings = await upcoming_meetings(tx, org.user_id, until=utcnow() + SOON, limit=SHOWN)
    return [
        HomeItem(
            title=meeting.title,
            detail=translate(locale, "Live now") if meeting.status == "live" else "",
            href=join_url("", meeting),
            at=meeting.scheduled_at if meeting.status != "live" else None,
            urgent=meeting.status == "live",
        )
        for meeting in meetings
    ]


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("meetings", _("Meetings starting soon"), 30, meetings_soon,
                                           empty=_("No meetings in the next 24 hours.")))
