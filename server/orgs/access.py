"""Who may act in an organisation. Every ``/orgs/{org_id}/...`` route passes through ``resolve_org``.

Not being in an organisation reads exactly like the organisation not existing
(404), so ids of other organisations reveal nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from server.accounts.auth import Principal
from server.api import ROLES, path_int
from server.appkeys import DB
from server.errors import Forbidden, NotFound
from server.i18n import _
from server.orgs.models import Membership


ONLY_AN = {"admin": _("only an organisation admin can do this"), "owner": _("only an organisation owner can do this")}  # by the role it takes


@dataclass(frozen=True)
class OrgContext:
    org_id: int
    principal: Principal
    membership_id: int | None  # None for guests
    role: str  # owner | admin | member | guest

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "owner")


async def resolve_org(request: web.Request, principal: Principal, role: str | None) -> OrgContext:
    org_id = path_int(request, "org_id")
    if principal.guest is not None:
        if principal.guest.org_id != org_id:
            raise NotFound("no such organisation")
        if role is not None:
            raise Forbidden("guests cannot do this")
        return OrgContext(org_id, principal, None, "guest")
    async with request.app[DB].transaction(org_id=org_id) as tx:
        membership = (
            await tx.session.execute(
                select(Membership.id, Membership.role).where(Membership.user_id == principal.user_id)
            )
        ).first()
    if membership is None:
        raise NotFound("no such organisation")
    if role is not None and ROLES.index(membership.role) < ROLES.index(role):
        raise Forbidden(ONLY_AN[role])
    return OrgContext(org_id, principal, membership.id, membership.role)
