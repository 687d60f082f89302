"""The home page's content: what needs the person now, one section per part of Muster.

Each part registers a ``HomeSection`` whose ``fetch`` lists the person's items
(groups with unread messages, notices waiting for their confirmation, meetings
starting soon, today's forms). ``GET /api/v1/orgs/{org_id}/home`` answers every
section at once, in order, titled in the person's language; the page
(server/web/home.html) asks again when the person's live events say something changed.
An outsider the organisation admits (a guardian, server/orgs/access.py) gets only
the sections declared ``outsiders=True``, whose ``fetch`` answers for them too.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from server.api import Out, endpoint
from server.appkeys import DB
from server.db import Transaction
from server.i18n import request_locale, translate
from server.orgs.access import OrgContext


class HomeItem(Out):
    title: str
    detail: str = ""  # already in the person's language
    href: str
    at: dt.datetime | None = None  # when it happened or starts
    badge: int | None = None  # e.g. unread messages
    urgent: bool = False


Fetch = Callable[[Transaction, OrgContext, str], Awaitable[list[HomeItem]]]  # (tx, the person in the org, locale) → items


@dataclass(frozen=True)
class HomeSection:
    key: str
    title: str  # an English msgid
    order: int
    fetch: Fetch
    empty: str  # msgid of what the section says when it has nothing
    shown_empty: bool = True  # False: a section that appears only when it has something (news about the account)
    outsiders: bool = False  # True: shown to the organisation's admitted outsiders too (its fetch sees their role "external")


SECTIONS = web.AppKey("home_sections", list[HomeSection])


def register_home_section(app: web.Application, section: HomeSection) -> None:
    app.setdefault(SECTIONS, []).append(section)


class SectionOut(Out):
    key: str
    title: str
    empty: str
    items: list[HomeItem]


routes = web.RouteTableDef()


@routes.get("/api/v1/orgs/{org_id}/home")
@endpoint(response=list[SectionOut], external=True)
async def home(request: web.Request, org: OrgContext) -> list[SectionOut]:
    """What needs the caller now in this organisation, section by section (to outsiders, the sections open to them)."""
    locale = request_locale(request)
    sections = sorted((s for s in request.app.get(SECTIONS, []) if s.outsiders or org.membership_id is not None), key=lambda s: s.order)
    shown = []
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        for s in sections:
            items = await s.fetch(tx, org, locale)
            if items or s.shown_empty:
                shown.append(SectionOut(key=s.key, title=translate(locale, s.title), empty=translate(locale, s.empty) if s.empty else "", items=items))
    return shown
