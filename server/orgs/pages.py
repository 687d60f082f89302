"""The organisation's settings page for its admins: ``/admin``, the ``settings`` place of the navigation.

One static document (server/orgs/web/admin.html) whose sections are small
modules under server/orgs/web/static/, each doing one job through the JSON
API, which is what authorises: a member who opens ``/admin`` is told the page
is for admins, and every call it could make answers 403. Served like the
platform's other pages (server/web/routes.py), with the same security headers.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from server.i18n import _
from server.orgs import settings_sections
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.web.navigation import Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX, page_handler

WEB = Path(__file__).parent / "web"

# The platform's own sections: parts of /admin, one module each.
SECTIONS = (
    SettingsSection("organisation", "/admin#organisation", _("Organisation"), 10),
    SettingsSection("members", "/admin#members", _("Members"), 20),
    SettingsSection("departments", "/admin#departments", _("Departments"), 30),
    SettingsSection("imports", "/admin#imports", _("Import"), 40),
    SettingsSection("audit", "/admin#audit", _("Audit log"), 90),
)


def setup(app: web.Application) -> None:
    app.router.add_routes(settings_sections.routes)
    app.router.add_get("/admin", page_handler(WEB / "admin.html"), name=f"{WEB_ROUTE_PREFIX}admin")
    app.router.add_static("/orgs/static/", WEB / "static", name=f"{WEB_ROUTE_PREFIX}orgs-static", append_version=False)
    register_place(app, Place("settings", "/admin", _("Settings"), 90, admin_only=True))
    for section in SECTIONS:
        register_settings_section(app, section)
