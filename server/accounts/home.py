"""The home page's account section: a sign-in on a new device the person has not seen yet (shown only when there is one)."""
from __future__ import annotations

from aiohttp import web

from server.accounts.notices import NEW_DEVICE, list_unread_notices
from server.db import Transaction
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.web.home import HomeItem, HomeSection, register_home_section


async def account_news(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    return [
        HomeItem(
            title=translate(locale, "Your account signed in on a new device: {device}", device=notice.data.get("device_name") or "?"),
            detail=translate(locale, "Not you? Sign that device out and change your password."),
            href="/account",
            at=notice.created_at,
            urgent=True,
        )
        for notice in await list_unread_notices(tx, org.user_id)
        if notice.kind == NEW_DEVICE
    ]


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("account", _("Your account"), 5, account_news, empty="", shown_empty=False))
