"""Guests in groups: the ``group`` kind of guest invite (server/accounts/guests.py).

Only a group admin may invite, and only to a group whose owner allows guests.
The guest becomes a member the first time they open the group
(server/groups/access.py), counted against the member limit like anyone.
Removed from the group, leaving it, or refused when the owner stops allowing
guests, the guest is signed out (server/revocation.py).
"""
from __future__ import annotations

from sqlalchemy import and_, select

from server.accounts import guests
from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext

SCOPE_KIND = "group"


async def check_guest_invite(tx: Transaction, org: OrgContext, group_id: int) -> None:
    row = (
        await tx.session.execute(
            select(Group.allow_guests, GroupMember.role)
            .outerjoin(GroupMember, and_(GroupMember.group_id == Group.id, GroupMember.user_id == org.user_id))
            .where(Group.id == group_id)
        )
    ).first()
    if row is None:
        raise NotFound("no such group", field="scope_id")
    allow_guests, role = row
    if role not in ("admin", "owner"):
        raise Forbidden("only a group admin can invite guests to it")
    if not allow_guests:
        raise Forbidden("this group's owner does not allow guests")


async def guest_landing(tx: Transaction, group_id: int) -> str:
    """The group page, opened on this group of this organisation (a guest cannot list organisations)."""
    return f"/groups?org={tx.org_id}&group={group_id}"


# At import, so once per process however many apps are created (tests create many).
guests.register_guest_scope(SCOPE_KIND, check_guest_invite, landing=guest_landing)
