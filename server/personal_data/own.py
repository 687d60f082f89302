"""A person's own data: downloaded, and their account deleted, by themselves.

The download holds the account and, for each organisation the person is a
member or an external contact of, what every part holds of them there (the
parts an admin's export reads), and is recorded in each one's audit log.

Deleting is for someone who is no organisation's member: an external contact
(server/contacts/), or an account left with no organisation. A member's data
is their organisation's to export and erase (actions.py), so a member is told
to ask its admins. For each organisation the person is a contact of, one
transaction erases what every part holds of them, ends their contacts there
(the organisation's count under its cap goes down by as many) and takes the
organisation away from them through the revocation path (server/revocation.py:
their chats and external groups, on every node); then the account goes as
after an erasure (``do_delete_account_if_unattached``). A crash between two
organisations leaves those not reached yet for the next request.
"""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import User
from server.audit.record import Someone, do_audit
from server.config import Settings
from server.contacts.joining import do_end_contacts_of
from server.contacts.models import ExternalContact
from server.db import Database, Transaction
from server.errors import Conflict
from server.orgs.models import Membership, Organisation
from server.personal_data.actions import do_delete_account_if_unattached, organisation_data, parts_data
from server.personal_data.parts import PersonalDataPart, iso

MEMBER, CONTACT = "member", "external_contact"


async def organisations_of(tx: Transaction, user_id: int) -> list[tuple[int, str, str]]:
    """(organisation id, name, ``member`` or ``external_contact``) for each organisation of the person (``tx`` unscoped)."""
    members = select(Membership.org_id).where(Membership.user_id == user_id)
    contacts = select(ExternalContact.org_id).where(ExternalContact.user_id == user_id)
    found = {org_id: MEMBER for org_id in await tx.session.scalars(members)}
    for org_id in await tx.session.scalars(contacts.distinct()):
        found.setdefault(org_id, CONTACT)
    names = dict((await tx.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(found)))).all())
    return [(org_id, names[org_id], found[org_id]) for org_id in sorted(found)]


async def do_export_own_data(db: Database, parts: dict[str, PersonalDataPart], user_id: int) -> dict:
    """Everything the server holds about the person, organisation by organisation; each export is audited there."""
    async with db.transaction() as tx:
        user = await tx.session.get(User, user_id)
        organisations = await organisations_of(tx, user_id)
    data = {
        "account": {"name": user.name, "email": user.email, "locale": user.locale, "created_at": iso(user.created_at),
                    "totp_enabled": user.totp_enabled},
        "organisations": [],
    }
    for org_id, name, relation in organisations:
        async with db.transaction(org_id=org_id) as tx:
            member = await tx.session.scalar(select(Membership).where(Membership.user_id == user_id))
            held = {"organisation": await organisation_data(tx, member, user)} if member is not None else {}
            held |= await parts_data(tx, parts, user_id)
            await do_audit(tx, Someone(user.id, user.name), "account.data_exported", details={"parts": sorted(held)})
        data["organisations"].append({"org_id": org_id, "name": name, "relation": relation, "parts": held})
    return data


async def do_delete_own_account(db: Database, parts: dict[str, PersonalDataPart], settings: Settings, user_id: int) -> dict[int, dict]:
    """Erase the person's data wherever they are an external contact, end those contacts, then delete the account.

    Returns what was erased in each organisation. Refused (409) while they are a member of any organisation.
    """
    async with db.transaction() as tx:
        organisations = await organisations_of(tx, user_id)
    check_no_memberships(organisations)
    erased: dict[int, dict] = {}
    for org_id, _name, _relation in organisations:
        async with db.transaction(org_id=org_id) as tx:
            here = {name: await part.erase(tx, settings, user_id) for name, part in sorted(parts.items())}
            contacts = await do_end_contacts_of(tx, user_id)
            # No name: the entries about erasing someone never repeat it (server/audit/record.py).
            await do_audit(tx, None, "external_contact.account_deleted", details={"contacts": contacts, "erased": here})
        erased[org_id] = here
    if not await do_delete_account_if_unattached(db, user_id):
        async with db.transaction() as tx:
            check_no_memberships(await organisations_of(tx, user_id))  # joined one meanwhile: say which
        raise Conflict("the account could not be deleted; try again")
    return erased


def check_no_memberships(organisations: list[tuple[int, str, str]]) -> None:
    names = [name for _org_id, name, relation in organisations if relation == MEMBER]
    if names:
        raise Conflict("you are a member of {organisations}: ask an administrator of each to remove you or erase your data there, "
                       "then delete your account", code="still_a_member", organisations=", ".join(names))
