"""Changing organisations: plain functions that take an open transaction."""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import User
from server.audit.record import Someone, do_audit
from server.db import Transaction
from server.errors import Conflict
from server.orgs.models import Membership, Organisation


async def do_create_org(tx: Transaction, *, name: str, slug: str, owner: User) -> Organisation:
    if await tx.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict(f"the address '{slug}' is taken", field="slug")
    org = Organisation(name=name, slug=slug)
    tx.session.add(org)
    await tx.session.flush()
    tx.session.add(Membership(org_id=org.id, user_id=owner.id, role="owner", display_name=owner.name, email=owner.email))
    await tx.session.flush()
    await do_audit(tx, Someone(owner.id, owner.name), "org.created", org_id=org.id, details={"name": name, "slug": slug})
    return org
