"""The audience preview: before sending, how many people a choice reaches and which ids name nothing.

    POST /api/v1/orgs/{org_id}/audiences/preview

Counting the people under a department tells something about the
organisation, so only those who may send to an audience may preview one:
admins, and whoever a capability says may send (notify's granted senders, a
form's authors...), each registering a check with ``register_audience_sender``;
and, within their subtrees only, those whose place lets them send there
(``register_sender_reach`` in reach.py: a head teacher previews their class,
and another class's ids are unknown to them).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from server.api import endpoint
from server.appkeys import DB
from server.audiences.expand import resolve_audience
from server.audiences.reach import WHOLE, check_audience_within, sender_paths
from server.audiences.schemas import AudienceIn, AudiencePartOut, AudiencePreviewOut
from server.db import Transaction
from server.errors import Forbidden
from server.orgs.access import OrgContext

MaySend = Callable[[Transaction, OrgContext], Awaitable[bool]]
SENDERS = web.AppKey("audience_senders", list[MaySend])

routes = web.RouteTableDef()


def register_audience_sender(app: web.Application, may_send: MaySend) -> None:
    """Let the members for whom ``may_send(tx, org)`` holds preview audiences (admins always may); from a capability's setup."""
    app.setdefault(SENDERS, []).append(may_send)


async def check_sender_reach(tx: Transaction, org: OrgContext, senders: list[MaySend]) -> list[str]:
    """Where the caller may send: ``["/"]`` for admins and those a capability lets send, else the subtrees their place
    gives them (reach.py); 403 for anyone else."""
    if org.is_admin:
        return [WHOLE]
    for may_send in senders:
        if await may_send(tx, org):
            return [WHOLE]
    paths = await sender_paths(tx, org.org_id, org.user_id) if org.membership_id is not None else []
    if not paths:
        raise Forbidden("only those who may send to an audience may preview one")
    return paths


@routes.post("/api/v1/orgs/{org_id}/audiences/preview")
@endpoint(body=AudienceIn, response=AudiencePreviewOut)
async def preview_audience(request: web.Request, body: AudienceIn, org: OrgContext) -> AudiencePreviewOut:
    """How many people an audience reaches, per kind of part and in all, and the ids that name nothing (admins and senders)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        audience = body.audience()
        await check_audience_within(tx, audience, await check_sender_reach(tx, org, request.app.get(SENDERS, [])))
        resolved = await resolve_audience(tx, audience)
        people = await resolved.count_parts(tx)
        parts = [
            AudiencePartOut(kind=name, named=len(set(ids)), unknown=resolved.unknown.get(name, []), people=people.get(name, 0))
            for name, ids in audience.parts.items() if ids
        ]
        return AudiencePreviewOut(everyone=resolved.everyone, total=await resolved.count(tx), parts=parts)


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
