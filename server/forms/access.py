"""Who may build forms (create, edit, archive, import and export them): organisation admins, and whoever a rule admits.

The extension point is ``register_form_builders(app, rule)``: a capability
(schools letting school admins build forms for their school) registers an
async ``rule(tx, user_id, org_id)`` from its ``setup`` that answers the
department subtrees (paths such as ``/1/5/``; ``/`` for the whole
organisation) the member may send forms to, or None if it does not make them
a builder. The same rule decides the API and whether "Forms" shows in the
navigation, so it runs in a transaction that may not be scoped to the
organisation and must filter by ``org_id`` itself. Guests and outsiders never
build forms (the routes are for people, and their role is never "member").

An admin sees and edits every form of the organisation and sends to anyone;
someone a rule admits sees and edits the forms they created (to them the
others do not exist: 404, like another organisation's) and sends them only to
audiences under their subtrees (``check_may_send_to``: anything else reads as
unknown ids, server/audiences/reach.py).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from sqlalchemy import select

from server.audiences.expand import Audience
from server.audiences.reach import WHOLE, check_audience_within
from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.forms.models import Form
from server.orgs.access import OrgContext
from server.orgs.models import Membership
from server.web.navigation import ADMIN_ROLES

BuilderRule = Callable[[Transaction, int, int], Awaitable[Sequence[str] | None]]  # (tx, user id, org id) → where they may send, or None
FORM_BUILDERS = web.AppKey("form_builders", list[BuilderRule])


def register_form_builders(app: web.Application, rule: BuilderRule) -> None:
    app.setdefault(FORM_BUILDERS, []).append(rule)


async def _reach(app: web.Application, tx: Transaction, user_id: int, org_id: int) -> list[str] | None:
    """The subtrees the rules let this member send forms to; None if no rule makes them a builder."""
    reach: list[str] | None = None
    for rule in app.get(FORM_BUILDERS, ()):
        paths = await rule(tx, user_id, org_id)
        if paths is not None:
            reach = [*(reach or []), *paths]
    return reach


async def may_build_forms(app: web.Application, tx: Transaction, org: OrgContext) -> bool:
    if org.is_admin:
        return True
    return org.role == "member" and await _reach(app, tx, org.user_id, org.org_id) is not None


async def check_may_build_forms(app: web.Application, tx: Transaction, org: OrgContext) -> None:
    if not await may_build_forms(app, tx, org):
        raise Forbidden("only organisation admins and the people they allow can build forms")


async def check_may_send_to(app: web.Application, tx: Transaction, org: OrgContext, audience: Audience) -> None:
    """An audience the caller, a form builder, may send a form to: anyone for admins, else only what lies under their subtrees
    (400 naming the part outside, as for an unknown id)."""
    reach = [WHOLE] if org.is_admin else sorted(set(await _reach(app, tx, org.user_id, org.org_id) or []))
    await check_audience_within(tx, audience, reach)


def builder_reach(app: web.Application):
    """For the audience preview and the send page's pickers (server/audiences/): where the caller may send forms,
    as ``check_may_send_to`` checks it (nowhere for someone who does not build forms)."""

    async def reach(tx: Transaction, org: OrgContext) -> list[str]:
        if org.is_admin:
            return [WHOLE]
        return sorted(set(await _reach(app, tx, org.user_id, org.org_id) or [])) if org.role == "member" else []

    return reach


def builder_place_rule(app: web.Application):
    """The navigation's ``visible`` rule for "Forms": the same people the API lets build forms."""

    async def visible(tx: Transaction, user_id: int, org_id: int) -> bool:
        role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id))
        return role in ADMIN_ROLES or (role == "member" and await _reach(app, tx, user_id, org_id) is not None)

    return visible


async def load_form(app: web.Application, tx: Transaction, org: OrgContext, form_id: int) -> Form:
    """A form the caller may build (any of the organisation's for admins, their own for the others), else 404."""
    await check_may_build_forms(app, tx, org)
    form = await tx.session.scalar(select(Form).where(Form.id == form_id))
    if form is None or not (org.is_admin or form.created_by == org.user_id):
        raise NotFound("no such form")
    return form
