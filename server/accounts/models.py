"""Tables of accounts: users, their device sessions and trusted devices, notices to them, failed logins, guest invites,
sign-in codes sent by SMS and sign-in links."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow


class User(Base):
    """A person who can log in, or a guest (``kind='guest'``) who came by an invite link.

    What an organisation knows about a person (name there, phone, department)
    lives on its Membership row, so one organisation never edits what another sees.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")  # person | guest
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(16))  # "zh-CN" | "en"; None: follow the browser
    # The last TOTP time step accepted, so an observed code cannot be replayed within its window.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceSession(Base):
    """One logged-in device. The bearer token is stored only as its SHA-256."""

    __tablename__ = "device_sessions"
    # Ended sessions are found by these and pruned (server/accounts/retention.py).
    __table_args__ = (Index("ix_device_sessions_expires_at", "expires_at"), Index("ix_device_sessions_revoked_at", "revoked_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_name: Mapped[str] = mapped_column(String(200), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    # A guest session is limited to one organisation and one thing in it (a meeting, a group...).
    guest_org_id: Mapped[int | None] = mapped_column(BigId)
    guest_scope_kind: Mapped[str | None] = mapped_column(String(32))
    guest_scope_id: Mapped[int | None] = mapped_column(BigId)
    # The invite a guest came by (none for a meeting's own link): revoking it ends the sessions it opened.
    guest_invite_id: Mapped[int | None] = mapped_column(BigId, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TrustedDevice(Base):
    """A browser that may sign in without the second factor ("remember this device"); the password is still asked.

    Its token is stored only as its SHA-256, like a session's. It ends at
    ``expires_at`` however much it is used, when its owner revokes it, and when
    the password changes or two-factor sign-in is turned off.
    """

    __tablename__ = "trusted_devices"
    __table_args__ = (Index("ix_trusted_devices_expires_at", "expires_at"),)  # expired ones are pruned (server/accounts/retention.py)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_name: Mapped[str] = mapped_column(String(200), default="")
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AccountNotice(Base):
    """Something a person should know about their account (a sign-in on a new device), kept until they have seen it."""

    __tablename__ = "account_notices"
    __table_args__ = (Index("ix_account_notices_user_id_id", "user_id", "id"), Index("ix_account_notices_read_at", "read_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed login, counted per account and per address for the rate limit."""

    __tablename__ = "login_failures"
    # (key, at) answers "how many recent failures for this key"; (at) lets old rows be pruned.
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"), Index("ix_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))  # "account:<email>" or "addr:<ip>"
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GuestInvite(OrgScoped, Base):
    """A link that lets people outside the organisation in, to one thing only."""

    __tablename__ = "guest_invites"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    scope_kind: Mapped[str] = mapped_column(String(32))
    scope_id: Mapped[int] = mapped_column(BigId)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column()
    uses: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PhoneCode(OrgScoped, Base):
    """A one-time sign-in code asked for one phone number in one organisation (server/accounts/phone_codes.py).

    Every request leaves a row, for a number nobody there has too (``code_hash``
    NULL: nothing was sent and nothing can match), so the limits on asking count
    both alike. The code itself is kept only as an HMAC keyed by the server's
    secret key: a copy of the table cannot be tried against the million codes.
    """

    __tablename__ = "phone_codes"
    __table_args__ = (
        Index("ix_phone_codes_phone_created_at", "phone", "created_at"),
        Index("ix_phone_codes_address_created_at", "address", "created_at"),
        Index("ix_phone_codes_org_id_created_at", "org_id", "created_at"),
        Index("ix_phone_codes_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))  # E.164
    address: Mapped[str] = mapped_column(String(64))  # the asking client's address (an IPv6 /64)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)  # wrong guesses so far
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # signed in with, or replaced by a newer code


class SignInLink(OrgScoped, Base):
    """A link (or its QR code) that signs people in, issued by a capability: what it grants is the capability's
    (``kind`` and ``subject_id``, e.g. a class to join as a guardian): server/accounts/sign_in_links.py."""

    __tablename__ = "sign_in_links"
    __table_args__ = (UniqueConstraint("token_hash"), Index("ix_sign_in_links_expires_at", "expires_at"))  # pruned once expired

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigId)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column()
    uses: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
