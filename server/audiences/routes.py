"""The audience preview: before sending, how many people a choice reaches and which ids name nothing.

    POST /api/v1/orgs/{org_id}/audiences/preview

Counting the people under a department tells something about the
organisation, so only those who may send to an audience may preview one, and
only where they may send: admins anywhere, and whoever a capability says may
send, where it says (notify's granted senders anywhere; forms' builders under
the subtrees they send forms to), each registering their reach with
``register_audience_sender``; and those whose place lets them send there
(``register_sender_reach`` in reach.py: a head teacher previews their class).
Outside that reach an id reads as unknown (400), as the send paths answer it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from server.api import endpoint
from server.appkeys import DB
from server.audiences.expand import resolve_audience
from server.audiences.reach import WHOLE, check_audience_within, outermost, sender_paths
from server.audiences.schemas import AudienceIn, AudiencePartOut, AudiencePreviewOut
from server.db import Transaction
from server.errors import Forbidden
from server.orgs.access import OrgContext

SenderReach = Callable[[Transaction, OrgContext], Awaitable[Sequence[str]]]  # where the caller may send: ["/"], subtrees, or none
SENDERS = web.AppKey("audience_senders", list[SenderReach])

routes = web.RouteTableDef()


def register_audience_sender(app: web.Application, reach: SenderReach) -> None:
    """Let members preview audiences within ``reach(tx, org)``: the department paths a capability lets them send to
    (``["/"]``: anyone; empty: not through it). Admins always may. From a capability's setup."""
    app.setdefault(SENDERS, []).append(reach)


async def check_sender_reach(tx: Transaction, org: OrgContext, senders: list[SenderReach]) -> list[str]:
    """Where the caller may send: ``["/"]`` for admins, else every subtree a capability or their place lets them send
    to (reach.py), outermost first; 403 for anyone who may send nowhere."""
    if org.is_admin:
        return [WHOLE]
    paths = {path for reach in senders for path in await reach(tx, org)}
    if org.membership_id is not None:
        paths.update(await sender_paths(tx, org.org_id, org.user_id))
    if not paths:
        raise Forbidden("only those who may send to an audience may preview one")
    return [WHOLE] if WHOLE in paths else outermost(paths)


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
