"""Who may build forms (create, edit, archive, import and export them): organisation admins, and whoever a rule admits.

The extension point is ``register_form_builders(app, rule)``: a capability
(schools letting school admins and teachers build forms for their scope)
registers an async ``rule(tx, user_id, org_id) -> bool`` from its ``setup``.
The same rule decides the API and whether "Forms" shows in the navigation,
so it runs in a transaction that may not be scoped to the organisation and
must filter by ``org_id`` itself. Guests and external contacts never build
forms (the routes are for people, and their role is never "member").

An admin sees and edits every form of the organisation; someone a rule
admits sees and edits the forms they created, and to them the others do not
exist (404, like another organisation's).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select

from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.forms.models import Form
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.web.navigation import ADMIN_ROLES

BuilderRule = Callable[[Transaction, int, int], Awaitable[bool]]  # (tx, user id, org id) → may this member build forms?
FORM_BUILDERS = web.AppKey("form_builders", list[BuilderRule])


def register_form_builders(app: web.Application, rule: BuilderRule) -> None:
    app.setdefault(FORM_BUILDERS, []).append(rule)


async def _admitted(app: web.Application, tx: Transaction, user_id: int, org_id: int) -> bool:
    for rule in app.get(FORM_BUILDERS, ()):
        if await rule(tx, user_id, org_id):
            return True
    return False


async def may_build_forms(app: web.Application, tx: Transaction, org: OrgContext) -> bool:
    if org.is_admin:
        return True
    return org.role == "member" and await _admitted(app, tx, org.user_id, org.org_id)


async def check_may_build_forms(app: web.Application, tx: Transaction, org: OrgContext) -> None:
    if not await may_build_forms(app, tx, org):
        raise Forbidden("only organisation admins and the people they allow can build forms")


def builder_place_rule(app: web.Application):
    """The navigation's ``visible`` rule for "Forms": the same people the API lets build forms."""

    async def visible(tx: Transaction, user_id: int, org_id: int) -> bool:
        role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))
        return role in ADMIN_ROLES or (role == "member" and await _admitted(app, tx, user_id, org_id))

    return visible


async def load_form(app: web.Application, tx: Transaction, org: OrgContext, form_id: int) -> Form:
    """A form the caller may build (any of the organisation's for admins, their own for the others), else 404."""
    await check_may_build_forms(app, tx, org)
    form = await tx.session.scalar(select(Form).where(Form.id == form_id))
    if form is None or not (org.is_admin or form.created_by == org.user_id):
        raise NotFound("no such form")
    return form
