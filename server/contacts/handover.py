"""Handing a staff member's external contacts to a colleague, with the chats' history.

The colleague takes the staff member's place in each one-to-one chat (the
same group, so every message stays) and becomes the owner of the external
groups they owned (server/groups/membership.py ``do_put_in_charge``).

* An admin chooses the colleague: ``POST /orgs/{id}/members/{member_id}/handover``,
  all of a member's contacts or some; the member leaves those chats at once.
* A member who leaves or is removed without that: their contacts go to the
  organisation's first owner (the lowest membership id; an organisation
  always has an owner), in the same transaction (a revocation handler that runs
  before the groups' own, so it still sees the chats). An admin can then hand
  them on. Their contact links are withdrawn.

Cost: one SELECT of the contacts, one of the groups they owned, then per chat
a constant number of statements (one UPDATE of roles, one member look-up, one
INSERT or UPDATE).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, select, update

from server.audit.record import do_audit
from server.contacts.models import ContactLink, ExternalContact
from server.db import Transaction, utcnow
from server.errors import InvalidInput, NotFound
from server.groups.membership import do_delete_members, do_put_in_charge
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext
from server.orgs.members import get_member
from server.orgs.models import Membership
from server.revocation import AccessRevoked, register_revocation


async def _owned_external_groups(tx: Transaction, org_id: int, user_ids: Sequence[int]) -> list[Group]:
    return list(
        await tx.session.scalars(
            select(Group)
            .join(GroupMember, and_(GroupMember.group_id == Group.id, GroupMember.role == "owner"))
            .where(Group.org_id == org_id, Group.external.is_(True), GroupMember.user_id.in_(user_ids))
            .order_by(Group.id)
        )
    )


async def do_hand_over(
    tx: Transaction, org_id: int, from_ids: Sequence[int], to_id: int, *, contact_ids: Sequence[int] | None, leave: bool
) -> tuple[int, int]:
    """``to_id`` takes over the contacts of ``from_ids`` (or only ``contact_ids``) and their chats, and, for a whole
    handover, the external groups they owned; with ``leave`` the previous staff members leave the chats.
    Returns (contacts, groups) handed over."""
    which = [ExternalContact.org_id == org_id, ExternalContact.owner_id.in_(from_ids)]
    if contact_ids is not None:
        which.append(ExternalContact.id.in_(contact_ids))
    contacts = list(await tx.session.scalars(select(ExternalContact).where(*which).order_by(ExternalContact.id)))
    chats = {
        g.id: g for g in await tx.session.scalars(select(Group).where(Group.id.in_([c.chat_group_id for c in contacts if c.chat_group_id])))
    }
    now = utcnow()
    for contact in contacts:
        previous, contact.owner_id, contact.handed_over_at = contact.owner_id, to_id, now
        chat = chats.get(contact.chat_group_id)
        if chat is not None:
            await do_put_in_charge(tx, chat, to_id)
            if leave:
                await do_delete_members(tx, chat, [previous])
    groups = await _owned_external_groups(tx, org_id, from_ids) if contact_ids is None else []
    for group in groups:
        if group.id not in chats:
            await do_put_in_charge(tx, group, to_id)
    await tx.session.flush()
    return len(contacts), len([g for g in groups if g.id not in chats])


async def do_hand_over_member(
    tx: Transaction, org: OrgContext, member_id: int, to_member_id: int, contact_ids: Sequence[int] | None
) -> tuple[int, int]:
    """An admin hands a member's contacts (all, or ``contact_ids``) to a colleague."""
    member = await get_member(tx, member_id)
    try:
        colleague = await get_member(tx, to_member_id)
    except NotFound:
        raise NotFound("no such member to hand over to", field="to_member_id") from None
    if colleague.id == member.id:
        raise InvalidInput("hand the contacts over to someone else", field="to_member_id")
    if contact_ids is not None:
        theirs = set(
            await tx.session.scalars(
                select(ExternalContact.id).where(ExternalContact.owner_id == member.user_id, ExternalContact.id.in_(contact_ids))
            )
        )
        others = sorted(set(contact_ids) - theirs)
        if others:
            raise InvalidInput("not contacts of this member: {ids}", field="contact_ids", ids=", ".join(map(str, others[:10])))
    counts = await do_hand_over(tx, org.org_id, [member.user_id], colleague.user_id, contact_ids=contact_ids, leave=True)
    await do_audit(
        tx, org.principal, "external_contacts.handed_over", target=("member", member.id),
        details={"to_member_id": colleague.id, "contacts": counts[0], "groups": counts[1]},
    )
    return counts


async def default_colleague(tx: Transaction, org_id: int, leaving: Sequence[int]) -> int | None:
    """Who receives a leaver's contacts when no admin chose: the organisation's first owner who stays."""
    return await tx.session.scalar(
        select(Membership.user_id)
        .where(Membership.org_id == org_id, Membership.role == "owner", Membership.user_id.not_in(leaving))
        .order_by(Membership.id)
        .limit(1)
    )


async def _hand_over_leavers_contacts(tx: Transaction, revoked: AccessRevoked) -> None:
    """A member who loses the organisation: their links are withdrawn, their contacts and chats go to the default colleague."""
    if revoked.scope is not None:
        return
    await tx.session.execute(
        update(ContactLink)
        .where(ContactLink.org_id == revoked.org_id, ContactLink.created_by.in_(revoked.user_ids), ContactLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    owns = await tx.session.scalar(
        select(ExternalContact.id).where(ExternalContact.org_id == revoked.org_id, ExternalContact.owner_id.in_(revoked.user_ids)).limit(1)
    )
    if owns is None and not await _owned_external_groups(tx, revoked.org_id, revoked.user_ids):
        return
    colleague = await default_colleague(tx, revoked.org_id, revoked.user_ids)
    if colleague is None:  # the organisation itself is going: nobody to hand over to
        return
    contacts, groups = await do_hand_over(tx, revoked.org_id, revoked.user_ids, colleague, contact_ids=None, leave=False)
    await do_audit(
        tx, None, "external_contacts.handed_over", org_id=revoked.org_id,
        details={"from_user_ids": list(revoked.user_ids), "to_user_id": colleague, "contacts": contacts, "groups": groups, "automatic": True},
    )


register_revocation(_hand_over_leavers_contacts, first=True)
