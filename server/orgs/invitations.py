"""Invitations: an account that already exists joins another organisation only if its owner accepts.

A person an admin adds new gets an account made by this organisation
(server/orgs/members.py), as do the people its imports create. An account
found by email belongs to someone who may be in other organisations: linking
it at once would let anyone who owns an organisation pull any person in, list
their phone, message them and spend money calling them. So it gets an
invitation, holding how the organisation would list them; the person hears
of it on their devices (an ``org.invitation`` event), finds it at
``GET /api/v1/invitations``, and accepts or declines. Until they accept they
are not a member: the organisation shows them nothing and sends them nothing.
"""
from __future__ import annotations

from sqlalchemy import select

from server.audit.record import Someone, do_audit
from server.db import Database, Transaction
from server.errors import Conflict, InvalidInput, NotFound
from server.gateway.events import emit
from server.orgs.access import OrgContext
from server.orgs.members import MemberDetails, account_with_email, clean_member_details
from server.orgs.models import MemberInvitation, Membership, Organisation

INVITATION_EVENT = "org.invitation"


async def do_invite_member(tx: Transaction, actor: OrgContext, details: MemberDetails, *, phone_region: str) -> MemberInvitation:
    """Invite the account with this email; it is told on its devices."""
    fields = await clean_member_details(tx, actor, details, phone_region=phone_region)
    user = await account_with_email(tx, fields["email"])
    if user is None:
        raise InvalidInput("no account has the email {email}: add a new person with POST /api/v1/orgs/{org_id}/members", field="email", email=fields['email'] or '(none given)', org_id=tx.org_id)
    if await tx.session.scalar(select(Membership.id).where(Membership.user_id == user.id)) is not None:
        raise Conflict("{email} is already a member of this organisation", field="email", email=fields['email'])
    if await tx.session.scalar(select(MemberInvitation.id).where(MemberInvitation.user_id == user.id)) is not None:
        raise Conflict("{email} is already invited", field="email", email=fields['email'])
    invitation = MemberInvitation(org_id=tx.org_id, user_id=user.id, invited_by=actor.user_id, **fields)
    tx.session.add(invitation)
    await tx.session.flush()
    await tell_invited(tx, [user.id], invited_by=actor.principal.name)
    await do_audit(tx, actor.principal, "member.invited", target=("invitation", invitation.id), details={"user_id": user.id, "role": invitation.role})
    return invitation


async def tell_invited(tx: Transaction, user_ids: list[int], *, invited_by: str | None) -> None:
    """One ``org.invitation`` event to every account just invited (an import's batch too): the device then reads its invitations."""
    org = await tx.session.get(Organisation, tx.org_id)
    await emit(tx, user_ids, INVITATION_EVENT, {"org_id": org.id, "org_name": org.name, "invited_by": invited_by})


async def get_invitation(tx: Transaction, invitation_id: int) -> MemberInvitation:
    invitation = await tx.session.scalar(select(MemberInvitation).where(MemberInvitation.id == invitation_id))
    if invitation is None:
        raise NotFound("no such invitation")
    return invitation


async def do_withdraw_invitation(tx: Transaction, actor: OrgContext, invitation_id: int) -> None:
    await tx.session.delete(await get_invitation(tx, invitation_id))
    await tx.session.flush()
    await do_audit(tx, actor.principal, "invitation.withdrawn", target=("invitation", invitation_id))


async def list_invitations_of(tx: Transaction, user_id: int) -> list[tuple[MemberInvitation, Organisation]]:
    """The invitations waiting for this account, with their organisations (``tx`` not scoped to one)."""
    rows = await tx.session.execute(
        select(MemberInvitation, Organisation).join(Organisation, Organisation.id == MemberInvitation.org_id)
        .where(MemberInvitation.user_id == user_id).order_by(MemberInvitation.id)
    )
    return [tuple(row) for row in rows]


async def invitation_org(db: Database, user_id: int, invitation_id: int) -> int:
    """The organisation of one of this account's invitations; anyone else's reads as not existing."""
    async with db.transaction() as tx:
        org_id = await tx.session.scalar(
            select(MemberInvitation.org_id).where(MemberInvitation.id == invitation_id, MemberInvitation.user_id == user_id)
        )
    if org_id is None:
        raise NotFound("no such invitation")
    return org_id


async def _mine(tx: Transaction, user_id: int, invitation_id: int) -> MemberInvitation:
    invitation = await get_invitation(tx, invitation_id)
    if invitation.user_id != user_id:
        raise NotFound("no such invitation")
    return invitation


async def do_accept_invitation(tx: Transaction, user_id: int, invitation_id: int) -> Membership:
    """Join as the invitation lists them (``tx`` scoped to its organisation). An external_id
    another member took meanwhile is left off; the organisation's next import sets it."""
    invitation = await _mine(tx, user_id, invitation_id)
    external_id = invitation.external_id
    if external_id is not None and await tx.session.scalar(select(Membership.id).where(Membership.external_id == external_id)):
        external_id = None
    member = Membership(
        org_id=tx.org_id, user_id=user_id, role=invitation.role, department_id=invitation.department_id, external_id=external_id,
        display_name=invitation.display_name, phone=invitation.phone, email=invitation.email, title=invitation.title,
    )
    await tx.session.delete(invitation)
    tx.session.add(member)
    await tx.session.flush()
    joined = Someone(user_id, member.display_name)
    await do_audit(tx, joined, "member.joined", target=("member", member.id), details={"invitation_id": invitation_id, "role": member.role})
    return member


async def do_decline_invitation(tx: Transaction, user_id: int, invitation_id: int) -> None:
    invitation = await _mine(tx, user_id, invitation_id)
    await tx.session.delete(invitation)
    await tx.session.flush()
    await do_audit(tx, Someone(user_id, invitation.display_name), "invitation.declined", target=("invitation", invitation_id))
