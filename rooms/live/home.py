"""The livestreams section of the home page: streams of the person's groups that are live or start within a day, live first.

It appears only when there is one (``shown_empty=False``): most days a class
has none. Cost: one SELECT (an ``EXISTS`` on the person's group membership).
"""
from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import case, exists, or_, select

from rooms.models import LiveStream
from server.db import Transaction, utcnow
from server.groups.models import GroupMember
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.web.home import HomeItem, HomeSection, register_home_section

SOON = dt.timedelta(hours=24)
SHOWN = 8


async def streams_soon(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    soon = (LiveStream.status == "scheduled") & (LiveStream.scheduled_at > utcnow() - dt.timedelta(hours=1)) & (LiveStream.scheduled_at <= utcnow() + SOON)
    rows = await tx.session.scalars(
        select(LiveStream)
        .where(or_(LiveStream.status == "live", soon),
               exists().where(GroupMember.group_id == LiveStream.group_id, GroupMember.user_id == org.user_id))
        .order_by(case((LiveStream.status == "live", 0), else_=1), LiveStream.scheduled_at, LiveStream.id).limit(SHOWN)
    )
    return [
        HomeItem(title=stream.title, detail=translate(locale, "Live now") if stream.status == "live" else "", href=f"/live/{stream.id}",
                 at=stream.scheduled_at if stream.status != "live" else None, urgent=stream.status == "live")
        for stream in rows
    ]


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("livestreams", _("Livestreams"), 25, streams_soon,
                                           empty=_("No livestreams in the next 24 hours."), shown_empty=False))
