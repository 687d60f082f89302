"""The pages of urgent broadcasts: ``/notify`` to send and follow the receipts live, ``/notify/inbox`` to read and confirm,
``/notify/settings`` for admins to set the escalation policy and who may send (a section of the organisation's settings).

Served like the platform's pages (server/web/routes.py): static documents
whose scripts call the JSON API with the device's token, under route names
starting with ``web.`` so they get the same Content-Security-Policy.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.i18n import _
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

WEB = Path(__file__).parent / "web"
PAGES = {"/notify": "send.html", "/notify/inbox": "inbox.html", "/notify/settings": "settings.html"}


def setup(app: web.Application) -> None:
    for path, document in PAGES.items():
        app.router.add_get(path, page_handler(WEB / document), name=f"{WEB_ROUTE_PREFIX}notify-{Path(document).stem}")
    app.router.add_static("/notify/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "notify-static", append_version=False)
    register_settings_section(app, SettingsSection("broadcasts", "/notify/settings", _("Urgent broadcasts"), 50))
