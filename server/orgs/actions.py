"""Changing organisations: plain functions that take an open transaction."""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import User
from server.audit.record import Someone, do_audit
from server.config import Settings
from server.db import Transaction
from server.errors import Conflict, Forbidden
from server.orgs.models import Membership, Organisation


def check_may_create_org(settings: Settings, user: User) -> None:
    """Creating an organisation makes its owner able to add people and spend the server's paid channels,
    so on a self-hosted server only its operators may, unless MUSTER_ORG_CREATION=anyone."""
    if settings.org_creation != "anyone" and not settings.is_operator(user.email):
        raise Forbidden("only this server's operators may create organisations: ask them to create it for you", code="org_creation_closed")


async def do_create_org(tx: Transaction, *, name: str, slug: str, owner: User, time_zone: str = "Asia/Shanghai") -> Organisation:
    if await tx.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict("the address '{slug}' is taken", field="slug", slug=slug)
    org = Organisation(name=name, slug=slug, time_zone=time_zone)
    tx.session.add(org)
    await tx.session.flush()
    tx.session.add(Membership(org_id=org.id, user_id=owner.id, role="owner", display_name=owner.name, email=owner.email))
    await tx.session.flush()
    await do_audit(tx, Someone(owner.id, owner.name), "org.created", org_id=org.id, details={"name": name, "slug": slug})
    return org


async def do_update_org(
    tx: Transaction, actor: Someone, org_id: int, *, name: str | None = None, time_zone: str | None = None, phone_sign_in: bool | None = None
) -> Organisation:
    """Rename the organisation, change the time zone its dates are read in, or whether its people may sign in by phone
    (off for a new organisation; a capability whose people sign in so, schools, turns it on for its own)."""
    org = await tx.session.get(Organisation, org_id)
    given = (("name", name), ("time_zone", time_zone), ("phone_sign_in", phone_sign_in))
    changes = {k: v for k, v in given if v is not None and getattr(org, k) != v}
    for key, value in changes.items():
        setattr(org, key, value)
    if changes:
        await do_audit(tx, actor, "org.updated", org_id=org_id, details=changes)
    return org
