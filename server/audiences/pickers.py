"""What a send page may offer a sender besides members, departments and groups: a capability's tree of units.

    GET /api/v1/orgs/{org_id}/audiences/reach
    GET /api/v1/orgs/{org_id}/audiences/units?picker=&parent_id=

A capability whose units are parts of audiences (schools: districts, schools,
grades, classes, and for each its ``families`` and its ``staff``) registers a
``Picker`` from its setup: the audience kinds it offers for a unit, and how to
list units, a level at a time, within the subtrees the caller may send to.
The reach says whether the caller may address the whole organisation (then
the page also offers members, departments, groups and everyone) and which
pickers they have; a sender limited to part of the tree (a head teacher) sees
only the units there, and a unit elsewhere answers 404. Who may ask: whoever
may preview (server/audiences/routes.py).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import Field

from server.api import Id, Model, Out, endpoint
from server.appkeys import DB
from server.audiences.reach import WHOLE
from server.audiences.routes import SENDERS, check_sender_reach
from server.db import Transaction
from server.errors import InvalidInput, NotFound
from server.i18n import request_locale, translate
from server.orgs.access import OrgContext


@dataclass(frozen=True)
class PickerUnit:
    id: int
    name: str
    kind: str  # the capability's word for it, translated ("Class")
    has_children: bool


# (tx scoped to the organisation, the paths the caller may send to, the parent unit or None for the top ones, locale) → units;
# None when the parent is not a unit within those paths.
ListUnits = Callable[[Transaction, list[str], int | None, str], Awaitable[list[PickerUnit] | None]]


@dataclass(frozen=True)
class Picker:
    key: str
    label: str  # an English msgid ("Schools")
    kinds: tuple[tuple[str, str], ...]  # (audience kind, English msgid): ("families", "Families")
    units: ListUnits


PICKERS = web.AppKey("audience_pickers", list[Picker])
routes = web.RouteTableDef()


def register_audience_picker(app: web.Application, picker: Picker) -> None:
    app.setdefault(PICKERS, []).append(picker)


class PickerKindOut(Out):
    kind: str = Field(description="The audience kind to name the picked units under: parts: {kind: [unit ids]}.")
    label: str


class PickerOut(Out):
    key: str
    label: str
    kinds: list[PickerKindOut]


class ReachOut(Out):
    whole: bool = Field(description="Whether the caller may send to anyone in the organisation (else only within the pickers' units).")
    pickers: list[PickerOut]


class UnitsQuery(Model):
    picker: str = Field("", max_length=40, description="The picker's key, from the reach.")
    parent_id: Id | None = Field(None, description="The unit whose units to list; none: the top units the caller may send to.")


class PickerUnitOut(Out):
    id: int
    name: str
    kind: str
    has_children: bool


@routes.get("/api/v1/orgs/{org_id}/audiences/reach")
@endpoint(response=ReachOut)
async def get_reach(request: web.Request, org: OrgContext) -> ReachOut:
    """Whether the caller may send to the whole organisation, and the pickers of units they may send to (senders only)."""
    locale = request_locale(request)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        paths = await check_sender_reach(tx, org, request.app.get(SENDERS, []))
    pickers = [
        PickerOut(key=p.key, label=translate(locale, p.label), kinds=[PickerKindOut(kind=k, label=translate(locale, label)) for k, label in p.kinds])
        for p in request.app.get(PICKERS, [])
    ]
    return ReachOut(whole=WHOLE in paths, pickers=pickers)


@routes.get("/api/v1/orgs/{org_id}/audiences/units")
@endpoint(query=UnitsQuery, response=list[PickerUnitOut])
async def list_picker_units(request: web.Request, query: UnitsQuery, org: OrgContext) -> list[PickerUnitOut]:
    """One level of a picker's units within the caller's reach: the top ones, or those under ``parent_id`` (senders only)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        paths = await check_sender_reach(tx, org, request.app.get(SENDERS, []))
        picker = next((p for p in request.app.get(PICKERS, []) if p.key == query.picker), None)
        if picker is None:
            raise InvalidInput("no such picker: {picker}", field="picker", picker=query.picker)
        units = await picker.units(tx, paths, query.parent_id, request_locale(request))
    if units is None:
        raise NotFound("no such unit")
    return [PickerUnitOut(id=u.id, name=u.name, kind=u.kind, has_children=u.has_children) for u in units]


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
