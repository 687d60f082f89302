"""The pages of urgent broadcasts: ``/notify`` to send and follow the receipts live, ``/notify/inbox`` to read and confirm,
``/notify/settings`` for admins to set the escalation policy and who may send (a section of the organisation's settings).

Served like the platform's pages (server/web/routes.py): static documents
whose scripts call the JSON API with the device's token, under route names
starting with ``web.`` so they get the same Content-Security-Policy. Their
places in the navigation: the inbox for everyone (outsiders too: a school's guardians), the send page only for those
who may send (admins, the members granted it, and those whose place lets them
send to part of the organisation: notify/broadcasts.py).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from sqlalchemy import select

from notify.models import BroadcastSender
from server.audiences.reach import sender_paths
from server.db import Transaction
from server.i18n import _
from server.orgs.models import Membership
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.web.navigation import ADMIN_ROLES, Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

WEB = Path(__file__).parent / "web"
PAGES = {"/notify": "send.html", "/notify/inbox": "inbox.html", "/notify/settings": "settings.html"}


async def may_send_here(tx: Transaction, user_id: int, org_id: int) -> bool:
    """The sender rule of ``check_may_send`` for the navigation, which asks outside the organisation's transaction."""
    role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))
    if role is None:
        return False
    if role in ADMIN_ROLES:
        return True
    granted = select(BroadcastSender.id).where(BroadcastSender.org_id == org_id, BroadcastSender.user_id == user_id)
    return await tx.session.scalar(granted) is not None or bool(await sender_paths(tx, org_id, user_id))


def setup(app: web.Application) -> None:
    for path, document in PAGES.items():
        app.router.add_get(path, page_handler(WEB / document), name=f"{WEB_ROUTE_PREFIX}notify-{Path(document).stem}")
    app.router.add_static("/notify/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "notify-static", append_version=False)
    register_settings_section(app, SettingsSection("broadcasts", "/notify/settings", _("Urgent broadcasts"), 50))
    register_place(app, Place("notices", "/notify/inbox", _("Notices"), 20, outsiders=True))
    register_place(app, Place("send-notice", "/notify", _("Send a notice"), 25, visible=may_send_here))
