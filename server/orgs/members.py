"""Adding, changing and removing members of an organisation.

A member is a Membership row: what this organisation knows about a person
(listing name, phone, department, role). The person's account (User) is shared
by every organisation they belong to, so nothing here ever changes a User row.
Adding a new person creates their account; someone whose email already has
an account is invited instead, and joins only once they accept
(server/orgs/invitations.py).

Roles: owners can do everything, admins manage people and departments, members
read. Only an owner makes or unmakes owners, and an organisation always keeps
at least one owner.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from server.accounts.models import User
from server.accounts.users import do_create_user
from server.audit.record import do_audit
from server.db import Transaction
from server.errors import Conflict, Forbidden, InvalidInput, NotFound
from server.orgs.access import OrgContext
from server.orgs.departments import get_department
from server.orgs.member_fields import clean_display_name, clean_email, clean_external_id, clean_phone, clean_title
from server.orgs.models import Membership
from server.revocation import do_revoke_access


@dataclass(frozen=True)
class MemberDetails:
    """A member's fields as a person typed them; ``clean_*`` turns them into the stored form."""

    display_name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    department_id: int | None = None
    role: str = "member"
    external_id: str | None = None


async def get_member(tx: Transaction, member_id: int) -> Membership:
    member = await tx.session.scalar(select(Membership).where(Membership.id == member_id))
    if member is None:
        raise NotFound("no such member")
    return member


def check_role_change(actor: OrgContext, current: str | None, new: str) -> None:
    """Only an owner appoints owners or changes what an owner is."""
    if (new == "owner" or current == "owner") and new != current and actor.role != "owner":
        raise Forbidden("only an owner can make or unmake owners")


async def _check_another_owner(tx: Transaction, member: Membership) -> None:
    # Lock the owners' rows (PostgreSQL) so two owners demoting each other cannot both succeed.
    owners = (await tx.session.scalars(select(Membership.id).where(Membership.role == "owner").with_for_update())).all()
    if not any(owner_id != member.id for owner_id in owners):
        raise Conflict("an organisation needs at least one owner: make someone else owner first", field="role")


async def _check_external_id_free(tx: Transaction, external_id: str | None, *, other_than: int | None = None) -> None:
    if external_id is None:
        return
    query = select(Membership.id).where(Membership.external_id == external_id)
    if other_than is not None:
        query = query.where(Membership.id != other_than)
    if await tx.session.scalar(query) is not None:
        raise Conflict("another member has external_id '{external_id}'", field="external_id", external_id=external_id)


async def clean_member_details(tx: Transaction, actor: OrgContext, details: MemberDetails, *, phone_region: str) -> dict:
    """The stored form of ``details`` (Membership's columns), checked: who may give the role, the department, a free external_id."""
    check_role_change(actor, None, details.role)
    if details.department_id is not None:
        await get_department(tx, details.department_id, field="department_id")
    external_id = clean_external_id(details.external_id)
    await _check_external_id_free(tx, external_id)
    return {
        "display_name": clean_display_name(details.display_name), "email": clean_email(details.email),
        "phone": clean_phone(details.phone, phone_region), "title": clean_title(details.title), "role": details.role,
        "department_id": details.department_id, "external_id": external_id,
    }


async def account_with_email(tx: Transaction, email: str | None) -> User | None:
    return await tx.session.scalar(select(User).where(func.lower(User.email) == email)) if email else None


async def do_add_member(tx: Transaction, actor: OrgContext, details: MemberDetails, *, phone_region: str) -> Membership:
    """Add a new person: their account is created here, without a password.

    An email that already has an account is refused: that person joins only
    if they accept an invitation (server/orgs/invitations.py)."""
    fields = await clean_member_details(tx, actor, details, phone_region=phone_region)
    email = fields["email"]
    user = await account_with_email(tx, email)
    if user is not None:
        if await tx.session.scalar(select(Membership.id).where(Membership.user_id == user.id)) is not None:
            raise Conflict("{email} is already a member of this organisation", field="email", email=email)
        raise Conflict("{email} already has an account, which joins only if its owner accepts: invite it with POST /api/v1/orgs/{org_id}/invitations", field="email", code="needs_consent", email=email, org_id=tx.org_id)
    user = await do_create_user(tx, name=fields["display_name"], email=email)
    member = Membership(org_id=tx.org_id, user_id=user.id, **fields)
    tx.session.add(member)
    await tx.session.flush()
    await do_audit(tx, actor.principal, "member.added", target=("member", member.id), details={"role": member.role})
    return member


async def do_update_member(tx: Transaction, actor: OrgContext, member_id: int, changes: dict, *, phone_region: str) -> Membership:
    """Apply the fields present in ``changes`` (a PATCH body: absent means unchanged, null means cleared)."""
    member = await get_member(tx, member_id)
    role_before = member.role
    if "role" in changes and changes["role"] is None:
        raise InvalidInput("role cannot be empty; it is one of member, admin, owner", field="role")
    if "role" in changes and changes["role"] != member.role:
        check_role_change(actor, member.role, changes["role"])
        if member.role == "owner":
            await _check_another_owner(tx, member)
        member.role = changes["role"]
    if "display_name" in changes:
        member.display_name = clean_display_name(changes["display_name"] or "")
    if "email" in changes:
        member.email = clean_email(changes["email"])
    if "phone" in changes:
        member.phone = clean_phone(changes["phone"], phone_region)
    if "title" in changes:
        member.title = clean_title(changes["title"])
    if "department_id" in changes:
        if changes["department_id"] is not None:
            await get_department(tx, changes["department_id"], field="department_id")
        member.department_id = changes["department_id"]
    if "external_id" in changes:
        external_id = clean_external_id(changes["external_id"])
        await _check_external_id_free(tx, external_id, other_than=member.id)
        member.external_id = external_id
    await tx.session.flush()
    details = {"fields": sorted(changes)} | ({"role": [role_before, member.role]} if member.role != role_before else {})
    await do_audit(tx, actor.principal, "member.role_changed" if member.role != role_before else "member.updated", target=("member", member.id), details=details)
    return member


async def do_remove_member(tx: Transaction, actor: OrgContext, member_id: int) -> None:
    """Take a person out of the organisation; their account stays (it may belong to other organisations).

    Everything the membership gave ends with it, in this transaction and on every node (server/revocation.py):
    their groups, uploads, meeting seats, escalations. Their next request into the organisation reads 404.
    """
    member = await get_member(tx, member_id)
    if member.role == "owner":
        check_role_change(actor, "owner", "member")
        await _check_another_owner(tx, member)
    await tx.session.delete(member)
    await tx.session.flush()
    await do_revoke_access(tx, member.org_id, [member.user_id])
    await do_audit(tx, actor.principal, "member.removed", target=("member", member_id), details={"role": member.role})
