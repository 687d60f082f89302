"""The notices section of the home page: urgent broadcasts to the person they have not confirmed yet, newest first
(a school's guardians, outsiders of the organisation, see theirs too)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from notify.broadcasts import do_store_pending_of_org
from notify.models import Broadcast, BroadcastRecipient
from server.db import Transaction
from server.i18n import _, translate
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.web.home import HomeItem, HomeSection, register_home_section

SHOWN = 8


async def notices_waiting(tx: Transaction, org: OrgContext, locale: str) -> list[HomeItem]:
    await do_store_pending_of_org(tx)  # a notice sent a moment ago is listed, as in the inbox
    rows = (await tx.session.execute(
        select(Broadcast.title, Broadcast.created_at, Membership.display_name)
        .join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
        .outerjoin(Membership, Membership.user_id == Broadcast.sender_id)
        .where(BroadcastRecipient.user_id == org.user_id, BroadcastRecipient.confirmed_at.is_(None))
        .order_by(Broadcast.id.desc()).limit(SHOWN)
    )).all()
    inbox = "/notify/inbox" if org.membership_id is not None else f"/notify/inbox?org={org.org_id}"  # an outsider is in no org list
    return [
        HomeItem(title=title, detail=translate(locale, "From {name}", name=sender) if sender else "", href=inbox, at=sent_at, urgent=True)
        for title, sent_at, sender in rows
    ]


def setup(app: web.Application) -> None:
    register_home_section(app, HomeSection("notices", _("Notices waiting for you"), 20, notices_waiting,
                                           empty=_("No notices wait for your confirmation."), outsiders=True))
