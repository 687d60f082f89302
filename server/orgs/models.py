"""Tables of organisations: the organisation, its department tree, its members, invitations waiting for consent."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, OrgScoped, UTCDateTime, utcnow
from server.orgs.name_keys import SEARCH_KEY_LENGTH, SORT_KEY_LENGTH, name_keys

# Compared byte by byte on both databases (SQLite's default): see server/orgs/name_keys.py.
SortKey = String(SORT_KEY_LENGTH).with_variant(String(SORT_KEY_LENGTH, collation="C"), "postgresql")


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")  # an IANA name: dates and "today" are read in it
    # Its people may sign in with their phone number and a code sent by SMS (server/accounts/phone_codes.py).
    phone_sign_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Department(OrgScoped, Base):
    """A node of the department tree. ``path`` is the chain of ids, ``/1/5/9/``,
    so a subtree is one indexed prefix query (``path LIKE '/1/5/%'``)."""

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("org_id", "parent_id", "name", name="uq_departments_org_parent_name"),
        Index("ix_departments_org_path", "org_id", "path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(OrgScoped, Base):
    """A person in an organisation: their role, department, and how the organisation lists them.

    Setting ``display_name`` sets its pinyin sort and search keys too (the
    listener below); statements that write names without the ORM (the import)
    write the keys with them.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id", name="uq_memberships_org_user"),
        UniqueConstraint("org_id", "external_id", name="uq_memberships_org_external_id"),
        Index("ix_memberships_org_name_sort", "org_id", "name_sort_key", "id"),
        Index("ix_memberships_org_phone", "org_id", "phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # owner | admin | member
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200))
    name_sort_key: Mapped[str] = mapped_column(SortKey, default="", server_default="")
    name_search_key: Mapped[str] = mapped_column(String(SEARCH_KEY_LENGTH), default="", server_default="")
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(Membership.display_name, "set")
def _name_keys_follow_the_name(member: Membership, name: str, _old, _initiator) -> None:
    keys = name_keys(name or "")
    member.name_sort_key, member.name_search_key = keys.sort, keys.search


class MemberInvitation(OrgScoped, Base):
    """An existing account asked to join: how the organisation would list them, kept until they accept or decline.

    The account is not a member until it accepts: it sees nothing of the
    organisation and receives nothing from it."""

    __tablename__ = "org_invitations"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_org_invitations_org_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16), default="member")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
