"""The places of the navigation shell: each part of Muster registers its own.

``GET /api/v1/navigation`` answers the places a person may go, in order, labelled
in their language; the shell (server/web/static/shell.js) shows them on every page.
The platform never names a capability's page: a capability registers its entry
from its ``setup`` with ``register_place``. An outsider the organisation admits (a
school's guardian, an external contact: server/orgs/access.py) gets the places
declared ``outsiders=True``, each addressed with ``?org=`` (they are in no
organisation's list, so the page learns it from its address).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from server.api import Id, Model, Out, endpoint
from server.appkeys import DB, PRINCIPAL
from server.db import Transaction
from server.errors import NotFound
from server.i18n import request_locale, translate
from server.orgs.access import is_admitted_outsider
from server.orgs.models import Membership

ADMIN_ROLES = ("admin", "owner")

Visible = Callable[[Transaction, int, int], Awaitable[bool]]  # (tx, user id, org id) → may this person see the place?


@dataclass(frozen=True)
class Place:
    key: str
    href: str
    label: str  # an English msgid, translated per request
    order: int
    admin_only: bool = False
    visible: Visible | None = None  # a finer rule, e.g. only those who may send broadcasts
    outsiders: bool = False  # also offered to the organisation's admitted outsiders (its page answers them)


PLACES = web.AppKey("places", list[Place])


def register_place(app: web.Application, place: Place) -> None:
    app.setdefault(PLACES, []).append(place)


class NavigationQuery(Model):
    org_id: Id | None = Field(None, description="The organisation the page shows; its admins also get its settings.")


class PlaceOut(Out):
    key: str
    href: str
    label: str


routes = web.RouteTableDef()


@routes.get("/api/v1/navigation")
@endpoint(query=NavigationQuery, response=list[PlaceOut])
async def navigation(request: web.Request, query: NavigationQuery) -> list[PlaceOut]:
    """The places the caller may go, in order, labelled in their language."""
    user_id = request[PRINCIPAL].user_id
    locale = request_locale(request)
    async with request.app[DB].transaction() as tx:
        role = None
        if query.org_id is not None:
            role = await tx.session.scalar(select(Membership.role).where(Membership.org_id == query.org_id, Membership.user_id == user_id))
            if role is None:
                if not await is_admitted_outsider(tx, query.org_id, user_id):
                    raise NotFound("no such organisation")
                role = "external"
        shown = []
        for place in sorted(request.app.get(PLACES, []), key=lambda p: p.order):
            if place.admin_only and role not in ADMIN_ROLES:
                continue
            if role == "external" and not place.outsiders:
                continue
            if place.visible is not None and (query.org_id is None or not await place.visible(tx, user_id, query.org_id)):
                continue
            href = f"{place.href}?org={query.org_id}" if role == "external" else place.href
            shown.append(PlaceOut(key=place.key, href=href, label=translate(locale, place.label)))
    return shown
