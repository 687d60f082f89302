"""The groups section of the home page: the person's groups, most recently active first, with unread counts."""
from __future__ import annotations

from aiohttp import web

from server.db import Transaction
from server.groups.reading import my_groups
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.web.home import HomeItem, HomeSection, register_home_section

SHOWN = 8


async def groups_now(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    groups = (await my_groups(tx, org.user_id))[:SHOWN]
    return [
        HomeItem(
            title=g.name,
            detail=translate(locale, "{count} unread", count=g.unread) if g.unread else "",
            href=f"/groups?group={g.id}",
            badge=g.unread or None,
        )
        for g in groups
    ]


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("groups", _("Groups"), 10, groups_now, empty=_("You are in no group yet.")))
