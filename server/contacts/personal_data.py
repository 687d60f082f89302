"""What external contacts hold about a person: as staff, the links they made and the contacts in their charge;
as an external contact, the organisation's contacts with them.

Erasing deletes their links. The contacts in their charge are not the staff
member's data: they are handed to a colleague when the membership ends
(handover.py). Their own contact rows end with their account (server/personal_data/own.py).
"""
from __future__ import annotations

from sqlalchemy import delete, select

from server.config import Settings
from server.contacts.models import ContactLink, ExternalContact
from server.db import Transaction
from server.orgs.models import Membership
from server.personal_data.parts import PersonalDataPart, iso


async def export_contacts(tx: Transaction, user_id: int) -> dict:
    links = await tx.session.scalars(select(ContactLink).where(ContactLink.created_by == user_id).order_by(ContactLink.id))
    contacts = await tx.session.scalars(select(ExternalContact).where(ExternalContact.owner_id == user_id).order_by(ExternalContact.id))
    mine = await tx.session.execute(
        select(ExternalContact, Membership.display_name).outerjoin(Membership, Membership.user_id == ExternalContact.owner_id)
        .where(ExternalContact.user_id == user_id).order_by(ExternalContact.id)
    )
    return {
        "contact_links": [
            {"id": link.id, "created_at": iso(link.created_at), "expires_at": iso(link.expires_at), "max_uses": link.max_uses,
             "uses": link.uses, "revoked_at": iso(link.revoked_at)}
            for link in links
        ],
        "contacts_in_charge": [
            {"id": c.id, "user_id": c.user_id, "chat_group_id": c.chat_group_id, "created_at": iso(c.created_at),
             "handed_over_at": iso(c.handed_over_at)}
            for c in contacts
        ],
        "as_contact": [
            {"id": c.id, "staff_in_charge": name, "chat_group_id": c.chat_group_id, "created_at": iso(c.created_at)}
            for c, name in mine
        ],
    }


async def erase_contacts(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    links = await tx.session.execute(
        delete(ContactLink).where(ContactLink.created_by == user_id).execution_options(synchronize_session=False)
    )
    return {"contact_links": links.rowcount}


PART = PersonalDataPart("contacts", export_contacts, erase_contacts)
