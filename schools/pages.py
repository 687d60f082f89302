"""The schools' page: ``/schools/settings``, a section of the organisation's settings where admins import the
hierarchy and follow the import's progress (its job, polled) and report.

Served like the platform's pages (server/web/routes.py): a static document whose
script calls the JSON API with the device's token, under a route name starting
with ``web.`` so it gets the same Content-Security-Policy.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.i18n import _
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

WEB = Path(__file__).parent / "web"


def setup(app: web.Application) -> None:
    app.router.add_get("/schools/settings", page_handler(WEB / "settings.html"), name=f"{WEB_ROUTE_PREFIX}schools-settings")
    app.router.add_static("/schools/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "schools-static", append_version=False)
    register_settings_section(app, SettingsSection("schools", "/schools/settings", _("Schools"), 60))
