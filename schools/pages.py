"""The schools' pages, served like the platform's (server/web/routes.py): static documents whose scripts call the
JSON API with the device's token, under route names starting with ``web.`` so they get the same Content-Security-Policy.

* ``/schools/settings``: a section of the organisation's settings where admins import the hierarchy and follow
  the import's progress (its job, polled) and report;
* ``/schools/family?org=<bureau>``: a guardian's children, with their classes and class groups (where family links land;
  the "Your children" place, shown to guardians);
* ``/schools/units``: the hierarchy a level at a time with each unit's counts, read-only, within the caller's roles (the
  "Schools" place, shown to the staff of a bureau and its admins), and the school year's rollover for those who manage a
  unit (its job started, polled, and its report);
* ``/schools/family-links``: a class's family invitation links as cards to print, for its head teacher (the
  "Family links" place, shown to head teachers) or a manager of the class (``?class=<id>``).
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from server.db import Transaction
from server.i18n import _
from server.orgs.settings_sections import SettingsSection, register_settings_section
from server.orgs.models import Membership
from server.web.navigation import ADMIN_ROLES, Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX, page_handler
from schools.models import SchoolUnit, UnitRole
from schools.outsiders import is_guardian

WEB = Path(__file__).parent / "web"
PAGES = {"/schools/settings": "settings.html", "/schools/family": "family.html", "/schools/family-links": "family-links.html",
         "/schools/units": "units.html"}


async def has_children_on_roll(tx: Transaction, user_id: int, org_id: int) -> bool:
    """Whether the person is the guardian of a child on the organisation's roll (the "Your children" place, shown to
    guardians whether or not they are also members)."""
    return await is_guardian(tx, org_id, user_id)


async def works_in_the_hierarchy(tx: Transaction, user_id: int, org_id: int) -> bool:
    """Whether the organisation has a hierarchy and the person holds a role on one of its units or administers it (the
    "Schools" place)."""
    role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))
    if role in ADMIN_ROLES:
        return await tx.session.scalar(select(SchoolUnit.department_id).where(SchoolUnit.org_id == org_id).limit(1)) is not None
    found = select(UnitRole.id).where(UnitRole.org_id == org_id, UnitRole.user_id == user_id).limit(1)
    return role is not None and await tx.session.scalar(found) is not None


async def heads_a_class(tx: Transaction, user_id: int, org_id: int) -> bool:
    """Whether the person is the head teacher of a class of the organisation (the "Family links" place)."""
    found = select(UnitRole.id).where(UnitRole.org_id == org_id, UnitRole.user_id == user_id, UnitRole.role == "head_teacher").limit(1)
    return await tx.session.scalar(found) is not None


def setup(app: web.Application) -> None:
    for path, document in PAGES.items():
        app.router.add_get(path, page_handler(WEB / document), name=f"{WEB_ROUTE_PREFIX}schools-{Path(document).stem}")
    app.router.add_static("/schools/static/", WEB / "static", name=WEB_ROUTE_PREFIX + "schools-static", append_version=False)
    register_settings_section(app, SettingsSection("schools", "/schools/settings", _("Schools"), 60))
    register_place(app, Place("family", "/schools/family", _("Your children"), 5, visible=has_children_on_roll, outsiders=True))
    register_place(app, Place("schools", "/schools/units", _("Schools"), 45, visible=works_in_the_hierarchy))
    register_place(app, Place("family-links", "/schools/family-links", _("Family links"), 50, visible=heads_a_class))
