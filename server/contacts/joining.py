"""Becoming an external contact through a link, being removed as one, and ending one's contacts (an account deleted).

Accepting costs, in the link's organisation's transaction: the link (by its
hash), the membership check, 1 conditional UPDATE of the link's uses, 1 of
the organisation's count (the cap), the one-to-one chat (a group of two,
flagged ``external``: 1 INSERT + 2 member rows) and the contact row. A second
acceptance of a link by someone already that staff member's contact spends
nothing and answers the same contact.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from server.accounts.auth import issue_session
from server.accounts.models import DeviceSession, User
from server.accounts.users import do_create_user
from server.audit.record import Someone, do_audit
from server.config import Settings
from server.contacts.links import do_spend_contact_link, live_contact_link
from server.contacts.models import ContactLink, ExternalContact
from server.contacts.policy import do_count_new_contact, do_uncount_contacts
from server.db import Database, Transaction
from server.errors import Conflict, Forbidden, Gone, NotFound
from server.gateway.events import emit
from server.groups.membership import (
    do_add_checked_people,
    do_delete_members,
    do_make_group,
)
from server.groups.models import Group
from server.orgs.access import OrgContext
from server.orgs.models import Membership, Organisation
from server.revocation import do_revoke_access

CHAT_MEMBERS = 2


@dataclass(frozen=True)
class LinkPreview:
    org_name: str
    staff_name: str
    link: ContactLink


async def link_org(db: Database, token: str) -> int:
    """The organisation of a usable link (an unscoped look-up: the token is all the caller has)."""
    async with db.transaction() as tx:
        return (await live_contact_link(tx, token)).org_id


async def preview(db: Database, token: str) -> LinkPreview:
    """What the landing page shows before anyone signs in: the organisation and who is adding them."""
    org_id = await link_org(db, token)
    async with db.transaction(org_id=org_id) as tx:
        link = await live_contact_link(tx, token)
        org_name = await tx.session.scalar(select(Organisation.name).where(Organisation.id == org_id))
        return LinkPreview(org_name, await _staff_name(tx, link), link)


async def _staff_name(tx: Transaction, link: ContactLink) -> str:
    name = await tx.session.scalar(select(Membership.display_name).where(Membership.user_id == link.created_by))
    if name is None:  # whoever made it has left; their links were withdrawn then, this is the race
        raise Gone("this contact link was withdrawn; ask whoever sent it for a new one", field="token")
    return name


async def do_become_contact(tx: Transaction, settings: Settings, token: str, user: User) -> ExternalContact:
    """``user`` becomes the external contact of the link's creator, with a one-to-one chat; ``tx`` is the link's organisation's."""
    link = await live_contact_link(tx, token)
    if await tx.session.scalar(select(Membership.id).where(Membership.user_id == user.id)) is not None:
        raise Conflict("you are already in this organisation; chat with its people in its groups", field="token")
    existing = await tx.session.scalar(
        select(ExternalContact).where(ExternalContact.user_id == user.id, ExternalContact.owner_id == link.created_by)
    )
    if existing is not None:
        return existing
    staff_name = await _staff_name(tx, link)
    await do_spend_contact_link(tx, link)
    await do_count_new_contact(tx, settings)
    chat = await do_make_group(
        tx, tx.org_id, name=f"{user.name} · {staff_name}"[:200], owner_id=link.created_by, member_limit=CHAT_MEMBERS, external=True
    )
    await do_add_checked_people(tx, chat, [user.id])
    contact = ExternalContact(org_id=tx.org_id, user_id=user.id, owner_id=link.created_by, chat_group_id=chat.id, link_id=link.id)
    tx.session.add(contact)
    await tx.session.flush()
    await emit(tx, [link.created_by], "contact.added", {"org_id": tx.org_id, "contact_id": contact.id, "chat_group_id": chat.id})
    await do_audit(tx, Someone(user.id, user.name), "external_contact.added", target=("external_contact", contact.id),
                   details={"owner_id": link.created_by, "link_id": link.id})
    return contact


async def do_accept_link(db: Database, settings: Settings, token: str, user_id: int) -> ExternalContact:
    """A signed-in person accepts a link."""
    async with db.transaction(org_id=await link_org(db, token)) as tx:
        return await do_become_contact(tx, settings, token, await tx.session.get(User, user_id))


async def do_sign_up_by_link(
    db: Database, settings: Settings, token: str, *, name: str, email: str, password: str, user_agent: str, ip: str
) -> tuple[str, DeviceSession, User, ExternalContact]:
    """A light account (name, email, password) and the contact, in one transaction: a refused contact leaves no account."""
    async with db.transaction(org_id=await link_org(db, token)) as tx:
        await live_contact_link(tx, token)  # before hashing a password for a link that cannot be used
        user = await do_create_user(tx, name=name, email=email, password=password)
        contact = await do_become_contact(tx, settings, token, user)
        session_token, device = await issue_session(tx, user, days=settings.session_days, user_agent=user_agent, ip=ip)
    return session_token, device, user, contact


async def get_contact(tx: Transaction, contact_id: int) -> ExternalContact:
    contact = await tx.session.scalar(select(ExternalContact).where(ExternalContact.id == contact_id))
    if contact is None:
        raise NotFound("no such external contact")
    return contact


async def do_remove_contact(tx: Transaction, org: OrgContext, contact_id: int) -> None:
    """The staff member in charge, or an admin, ends a contact. The chat stays with the staff member.

    Someone who is no longer anyone's contact here loses the organisation (every external group, at once:
    server/revocation.py); someone still another colleague's contact only leaves this chat."""
    contact = await get_contact(tx, contact_id)
    if not (org.is_admin or contact.owner_id == org.user_id):
        raise Forbidden("only the staff member in charge of this contact or an organisation admin can remove it")
    await tx.session.delete(contact)
    await tx.session.flush()
    await do_uncount_contacts(tx, 1)
    still = await tx.session.scalar(select(func.count()).select_from(ExternalContact).where(ExternalContact.user_id == contact.user_id))
    if still:
        chat = await tx.session.get(Group, contact.chat_group_id) if contact.chat_group_id else None
        if chat is not None:
            await do_delete_members(tx, chat, [contact.user_id])
    else:
        await do_revoke_access(tx, org.org_id, [contact.user_id])
    await do_audit(tx, org.principal, "external_contact.removed", target=("external_contact", contact.id), details={"owner_id": contact.owner_id})


async def do_end_contacts_of(tx: Transaction, user_id: int) -> int:
    """``user_id`` stops being an external contact of the transaction's organisation (their account is going); returns how many contacts ended.

    In this one transaction every contact row of theirs goes, the organisation's count goes down by as many,
    and they lose the organisation (their chats and external groups, on every node: server/revocation.py).
    The chats stay with the staff, as when a contact is removed."""
    ended = await tx.session.execute(
        delete(ExternalContact).where(ExternalContact.user_id == user_id).execution_options(synchronize_session=False)
    )
    if ended.rowcount:
        await do_uncount_contacts(tx, ended.rowcount)
        await do_revoke_access(tx, tx.org_id, [user_id])
    return ended.rowcount
