"""The sections of an organisation's settings, for its admins: the platform's own and each capability's.

The settings page (``/admin``, server/orgs/web/) shows them as one row of tabs.
The platform's sections (organisation, members, departments, imports, audit
log) are parts of that page (``/admin#members``); a capability with settings
of its own serves its own page and registers a section linking to it from its
``setup``, so the platform never names it: notify registers its broadcast and
escalation policies (``/notify/settings``). ``GET /api/v1/orgs/{org_id}/settings-sections``
answers the sections in order, labelled in the admin's language.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from server.api import Out, endpoint
from server.i18n import request_locale, translate
from server.orgs.access import OrgContext


@dataclass(frozen=True)
class SettingsSection:
    key: str
    href: str
    label: str  # an English msgid, translated per request
    order: int


SETTINGS_SECTIONS = web.AppKey("settings_sections", list[SettingsSection])


def register_settings_section(app: web.Application, section: SettingsSection) -> None:
    app.setdefault(SETTINGS_SECTIONS, []).append(section)


class SettingsSectionOut(Out):
    key: str
    href: str
    label: str


routes = web.RouteTableDef()


@routes.get("/api/v1/orgs/{org_id}/settings-sections")
@endpoint(response=list[SettingsSectionOut], role="admin")
async def settings_sections(request: web.Request, org: OrgContext) -> list[SettingsSectionOut]:
    """The sections of the organisation's settings, in order, labelled in the caller's language (admins)."""
    locale = request_locale(request)
    return [
        SettingsSectionOut(key=s.key, href=s.href, label=translate(locale, s.label))
        for s in sorted(request.app.get(SETTINGS_SECTIONS, []), key=lambda s: s.order)
    ]
