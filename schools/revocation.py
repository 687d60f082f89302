"""Someone removed from the organisation loses their scoped roles in the same transaction (server/revocation.py)."""
from __future__ import annotations

from sqlalchemy import delete, select

from server.db import Transaction
from server.revocation import AccessRevoked, register_revocation
from schools.models import UnitRole


async def do_drop_unit_roles(tx: Transaction, revoked: AccessRevoked) -> None:
    if revoked.scope is not None:
        return
    held = UnitRole.org_id == revoked.org_id, UnitRole.user_id.in_(revoked.user_ids)
    if await tx.session.scalar(select(UnitRole.id).where(*held).limit(1)) is None:
        return
    await tx.session.execute(delete(UnitRole).where(*held).execution_options(synchronize_session=False))


register_revocation(do_drop_unit_roles)
