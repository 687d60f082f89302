"""Organisations API: create one, list mine, read one."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.accounts.models import User
from server.api import endpoint
from server.appkeys import DB, PRINCIPAL
from server.orgs.access import OrgContext
from server.orgs.actions import do_create_org
from server.orgs.models import Membership, Organisation
from server.orgs.schemas import MyOrgOut, OrgIn, OrgOut

routes = web.RouteTableDef()


@routes.post("/api/v1/orgs")
@endpoint(body=OrgIn, response=OrgOut, status=201)
async def create_org(request: web.Request, body: OrgIn) -> OrgOut:
    """Create an organisation; the caller becomes its owner."""
    async with request.app[DB].transaction() as tx:
        owner = await tx.session.get(User, request[PRINCIPAL].user_id)
        org = await do_create_org(tx, name=body.name, slug=body.slug, owner=owner)
    return OrgOut.model_validate(org)


@routes.get("/api/v1/orgs")
@endpoint(response=list[MyOrgOut])
async def list_my_orgs(request: web.Request) -> list[MyOrgOut]:
    """The organisations the caller belongs to, with their role in each."""
    async with request.app[DB].transaction() as tx:
        rows = await tx.session.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.org_id == Organisation.id)
            .where(Membership.user_id == request[PRINCIPAL].user_id)
            .order_by(Organisation.name)
        )
        return [MyOrgOut(id=o.id, name=o.name, slug=o.slug, role=role) for o, role in rows]


@routes.get("/api/v1/orgs/{org_id}")
@endpoint(response=OrgOut, auth="any")
async def get_org(request: web.Request, org: OrgContext) -> OrgOut:
    """One organisation the caller belongs to (or was invited into as a guest)."""
    async with request.app[DB].transaction() as tx:
        return OrgOut.model_validate(await tx.session.get(Organisation, org.org_id))


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
