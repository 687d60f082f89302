"""Tables of external contacts: each organisation's policy and count, contact links, the contacts themselves."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, OrgScoped, Transaction, UTCDateTime, utcnow
from server.orgs.access import register_outsider


class ContactPolicy(Base):
    """An organisation's caps, and how many contacts it has (so the cap is one conditional UPDATE, race-free).

    Made on first use with the server's defaults (``MUSTER_EXTERNAL_CONTACT_LIMIT``,
    ``MUSTER_EXTERNAL_GROUP_MEMBER_LIMIT``); admins may lower or raise them within the server's ceilings.
    """

    __tablename__ = "contact_policies"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    contact_limit: Mapped[int] = mapped_column()
    group_member_limit: Mapped[int] = mapped_column()
    contact_count: Mapped[int] = mapped_column(default=0)


class ContactLink(OrgScoped, Base):
    """A link a staff member shares to be added as a contact; the token is stored only as its SHA-256."""

    __tablename__ = "contact_links"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_contact_links_org_created_by", "org_id", "created_by"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column()  # None: any number, until it expires or is revoked
    uses: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ExternalContact(OrgScoped, Base):
    """Someone outside the organisation, the staff member in charge of them (``owner_id``), and their one-to-one chat.

    ``owner_id`` changes on handover; the chat stays the same group, so its history does too.
    """

    __tablename__ = "external_contacts"
    __table_args__ = (
        Index("ix_external_contacts_org_owner", "org_id", "owner_id"),
        Index("ix_external_contacts_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    chat_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("contact_links.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


async def is_external_contact(tx: Transaction, org_id: int, user_id: int) -> bool:
    """Whether ``user_id`` is an external contact of the organisation ``org_id``."""
    found = select(ExternalContact.id).where(ExternalContact.org_id == org_id, ExternalContact.user_id == user_id).limit(1)
    return await tx.session.scalar(found) is not None


def external_contacts_of(org_id: int):
    """The user ids of the organisation's external contacts."""
    return select(ExternalContact.user_id.label("user_id")).where(ExternalContact.org_id == org_id)


def orgs_of_contact(user_id: int):
    """The organisations ``user_id`` is an external contact of."""
    return select(ExternalContact.org_id.label("org_id")).where(ExternalContact.user_id == user_id)


register_outsider(is_external_contact, external_contacts_of, orgs_of_contact)  # the routes declared external=True let them in (server/orgs/access.py)
