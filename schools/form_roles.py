"""Who in the hierarchy builds forms, follows rounds and sees children's answers: the forms' registries (server/forms/).

* **Building and sending forms**: bureau staff, district staff and school
  administrators, each sending only under the units they hold that role on
  (``register_form_builders`` answers their paths; server/audiences/reach.py
  refuses anything else as unknown ids).
* **Following a round** (counts, drill-down, who is missing with a guardian's
  phone, "remind the rest"): whoever holds a role on a unit, for everything
  under it (``register_dashboard_scope``): bureau staff the bureau, district
  staff their district, a school administrator their school, head and
  subject teachers their classes, a health officer where they serve.
  Guardians follow nothing.
* **Individual answers** (children's health): health officers where they
  serve and head teachers in their classes (``register_answer_viewer``; each
  look and export is in the audit log). Administrators see the counts and who
  is missing, not what a family answered. Why: schools/DESIGN.md.
"""
from __future__ import annotations

from aiohttp import web

from server.db import Transaction
from server.forms.access import register_form_builders
from server.forms.dashboard import register_dashboard_scope
from server.forms.models import FormRound
from server.forms.privacy import register_answer_viewer
from server.orgs.access import OrgContext
from schools.scope import MANAGING_ROLES, load_scope, role_paths


async def followed_paths(tx: Transaction, org: OrgContext, round_: FormRound) -> list[str]:
    return (await load_scope(tx, org)).paths("read") or []  # None for organisation admins, who see the whole round anyway


async def answer_paths(tx: Transaction, org: OrgContext, round_: FormRound) -> list[str]:
    return (await load_scope(tx, org)).paths("answers") or []


async def sending_reach(tx: Transaction, user_id: int, org_id: int) -> list[str] | None:
    """Where a member may send forms: the units they administer; None if they administer none (not a builder).
    The transaction may not be the organisation's (the navigation asks too): filtered by ``org_id`` here."""
    return await role_paths(tx, org_id, user_id, MANAGING_ROLES) or None


register_dashboard_scope(followed_paths)
register_answer_viewer(answer_paths)


def setup(app: web.Application) -> None:
    register_form_builders(app, sending_reach)
