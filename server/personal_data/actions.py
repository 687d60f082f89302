"""Exporting and erasing one person's data in one organisation, each recorded in the audit log.

An erasure is one transaction: every part erases, then the membership goes
(with everything removal does: groups, sockets, meetings), all or nothing.
The account is deleted afterwards, in a statement of its own, only if the
person then belongs to no organisation at all (nor is anyone's external contact); a crash between the two leaves
an account with no organisation, which the next erasure request removes.
The audit log keeps its entries (who acted, on which member id) but never the
erased person's name.
"""
from __future__ import annotations

from sqlalchemy import delete, exists, select, true

from server.accounts.devices import do_revoke_sessions
from server.accounts.models import User
from server.audit.record import do_audit
from server.config import Settings
from server.contacts.models import ExternalContact
from server.db import Database, Transaction
from server.orgs.access import OrgContext
from server.orgs.members import do_remove_member, get_member
from server.orgs.models import Department, Membership
from server.personal_data.parts import PersonalDataPart


def membership_data(member: Membership, user: User, department: str | None) -> dict:
    return {
        "membership": {
            "display_name": member.display_name, "email": member.email, "phone": member.phone, "title": member.title,
            "department": department, "role": member.role, "external_id": member.external_id,
            "joined_at": member.created_at.isoformat(),
        },
        "account": {"name": user.name, "email": user.email, "created_at": user.created_at.isoformat(), "totp_enabled": user.totp_enabled},
    }


async def organisation_data(tx: Transaction, member: Membership, user: User) -> dict:
    department = await tx.session.scalar(select(Department.name).where(Department.id == member.department_id)) if member.department_id else None
    return membership_data(member, user, department)


async def parts_data(tx: Transaction, parts: dict[str, PersonalDataPart], user_id: int) -> dict:
    """What every part holds of the person in the transaction's organisation."""
    return {name: await part.export(tx, user_id) for name, part in sorted(parts.items())}


async def do_export_personal_data(tx: Transaction, parts: dict[str, PersonalDataPart], org: OrgContext, member_id: int) -> tuple[Membership, dict]:
    member = await get_member(tx, member_id)
    user = await tx.session.get(User, member.user_id)
    data = {"organisation": await organisation_data(tx, member, user), **await parts_data(tx, parts, member.user_id)}
    await do_audit(tx, org.principal, "member.data_exported", target=("member", member_id), details={"parts": sorted(data)})
    return member, data


async def do_erase_person(
    tx: Transaction, parts: dict[str, PersonalDataPart], settings: Settings, org: OrgContext, member_id: int
) -> tuple[int, dict[str, dict[str, int]]]:
    """Erase what every part holds of the member in this organisation, then remove them from it; returns their user id and the counts."""
    member = await get_member(tx, member_id)
    user_id = member.user_id
    erased = {name: await part.erase(tx, settings, user_id) for name, part in sorted(parts.items())}
    await do_remove_member(tx, org, member_id)
    await do_audit(tx, org.principal, "member.erased", target=("member", member_id), details={"erased": erased})
    return user_id, erased


async def do_delete_account_if_unattached(db: Database, user_id: int) -> bool:
    """Sign out and delete the account of someone who now belongs to no organisation, as a member or as an external contact.

    The sessions are revoked first, in a transaction of their own, so that every
    node closes the person's sockets from the ``session.revoked`` event; the
    delete is one statement that re-checks, so an add to another organisation
    in between keeps the account. Someone still an external contact keeps it:
    deleting it would take their contact rows without lowering the organisations'
    counts (own.py ends the contacts first, when the person deletes it themselves).
    """
    unattached = ~exists().where(Membership.user_id == user_id) & ~exists().where(ExternalContact.user_id == user_id)
    async with db.transaction() as tx:
        if not await tx.session.scalar(select(unattached)):
            return False
        await do_revoke_sessions(tx, user_id, true())
    async with db.transaction() as tx:
        deleted = await tx.session.execute(
            delete(User).where(User.id == user_id, User.kind == "person", unattached).execution_options(synchronize_session=False)
        )
    return deleted.rowcount == 1
