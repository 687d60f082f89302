"""Who may act in an organisation. Every ``/orgs/{org_id}/...`` route passes through ``resolve_org``.

Not being in an organisation reads exactly like the organisation not existing
(404), so ids of other organisations reveal nothing. Outsiders the organisation
admits (its external contacts, server/contacts/; a capability's own, such as the
guardians of schools/) are not in it either, except on the few routes declared
``external=True``, where they get the role ``external`` and each route decides
what they may see. Who counts as an admitted outsider is a registry
(``register_outsider``), so the platform never names a capability: each kind of
outsider says whether one person is admitted (every request asks) and, as a
select, who all of them are (to check many people at once: a notice's 10,000
receipts, a reminder to everyone who has not confirmed) and, for where they
land, which organisations admit one person (``admitting_orgs``: ``/home`` and
the shell show an outsider in no membership the organisation that admits them,
with the places open to outsiders).
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import Select, bindparam, exists, literal, null, or_, select

from server.accounts.auth import Principal
from server.api import ROLES, path_int
from server.appkeys import DB
from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.i18n import _
from server.orgs.models import Membership


OutsiderCheck = Callable[[Transaction, int, int], Awaitable[bool]]
OutsiderPeople = Callable[[int], Select]
OutsiderOrgs = Callable[[int], Select]
_outsider_checks: list[OutsiderCheck] = []
_outsider_people: list[OutsiderPeople] = []
_outsider_orgs: list[OutsiderOrgs] = []


def register_outsider(check: OutsiderCheck, people: OutsiderPeople, orgs: OutsiderOrgs) -> None:
    """``check(tx, org_id, user_id)`` says whether someone with no membership is an outsider the organisation admits;
    ``people(org_id)`` is a select of the user ids of all of them (one column, labelled ``user_id``, the organisation
    named explicitly); ``orgs(user_id)`` is a select of the organisations that admit one person (one column, labelled
    ``org_id``, across organisations: it is asked outside any organisation's transaction). At import, once per
    process (like ``register_revocation``)."""
    if check not in _outsider_checks:
        _outsider_checks.append(check)
        _outsider_people.append(people)
        _outsider_orgs.append(orgs)


def admitted_outsiders(org_id: int) -> list[Select]:
    """Selects of the user ids each kind of outsider the organisation admits (some may also be members)."""
    return [people(org_id) for people in _outsider_people]


async def admitting_orgs(tx: Transaction, user_id: int) -> set[int]:
    """The organisations any kind of outsider admits ``user_id`` into (some may also have them as a member)."""
    found: set[int] = set()
    for orgs in _outsider_orgs:
        found.update((await tx.session.execute(orgs(user_id))).scalars())
    return found


async def is_admitted_outsider(tx: Transaction, org_id: int, user_id: int) -> bool:
    """Whether any registered check admits ``user_id`` (who has no membership) into the organisation ``org_id``."""
    for check in _outsider_checks:
        if await check(tx, org_id, user_id):
            return True
    return False


_memberships = Membership.__table__
_MEMBERSHIP = select(_memberships.c.id, _memberships.c.role).where(_memberships.c.org_id == bindparam("org_id"),
                                                                     _memberships.c.user_id == bindparam("user_id"))


@functools.cache
def _membership_or_outsider(kinds: int) -> Select:
    """One statement for ``resolve_org`` on a route open to outsiders: the membership, and a row ``(None, 'external')`` if
    any registered kind of outsider admits the person (asked through each kind's ``people`` select). Built once per number
    of kinds registered, with parameters, so SQLAlchemy compiles it once."""
    admitted = []
    for people in _outsider_people[:kinds]:
        them = people(bindparam("org_id")).subquery()
        admitted.append(exists().where(them.c.user_id == bindparam("user_id")))
    if not admitted:
        return _MEMBERSHIP
    return _MEMBERSHIP.union_all(select(null().label("id"), literal("external").label("role")).where(or_(*admitted)))


ONLY_AN = {"admin": _("only an organisation admin can do this"), "owner": _("only an organisation owner can do this")}  # by the role it takes


@dataclass(frozen=True)
class OrgContext:
    org_id: int
    principal: Principal
    membership_id: int | None  # None for guests and external contacts
    role: str  # owner | admin | member | guest | external

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "owner")


async def resolve_org(request: web.Request, principal: Principal, role: str | None, *, external: bool = False) -> OrgContext:
    org_id = path_int(request, "org_id")
    if principal.guest is not None:
        return guest_in_org(org_id, principal, role)
    async with request.app[DB].transaction(org_id=org_id) as tx:
        return await resolve_org_in(tx, org_id, principal, role, external=external)


def guest_in_org(org_id: int, principal: Principal, role: str | None) -> OrgContext:
    if principal.guest.org_id != org_id:
        raise NotFound("no such organisation")
    if role is not None:
        raise Forbidden("guests cannot do this")
    return OrgContext(org_id, principal, None, "guest")


async def resolve_org_in(tx: Transaction, org_id: int, principal: Principal, role: str | None, *, external: bool = False) -> OrgContext:
    """The caller in the organisation (``tx`` may be the request's only transaction): one statement, whether they are a
    member or, on a route open to outsiders, an outsider the organisation admits."""
    if principal.guest is not None:
        return guest_in_org(org_id, principal, role)
    statement = _membership_or_outsider(len(_outsider_people)) if external and role is None else _MEMBERSHIP
    rows = (await tx.run(statement, {"org_id": org_id, "user_id": principal.user_id})).all()
    membership = next((r for r in rows if r.id is not None), None)
    if membership is None:
        if rows:  # admitted as an outsider
            return OrgContext(org_id, principal, None, "external")
        raise NotFound("no such organisation")
    if role is not None and ROLES.index(membership.role) < ROLES.index(role):
        raise Forbidden(ONLY_AN[role])
    return OrgContext(org_id, principal, membership.id, membership.role)
