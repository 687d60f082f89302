"""Request and response bodies of the external contacts API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from server.api import Id, Model, Out


class ContactLinkIn(Model):
    expires_in_s: int = Field(7 * 86400, ge=60, description="How long the link stays valid (at most MUSTER_CONTACT_LINK_MAX_DAYS).")
    max_uses: int | None = Field(1, ge=1, le=100_000, description="1 for a one-time link; null for any number until it expires.")


class ContactLinkOut(Out):
    id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    max_uses: int | None
    uses: int


class ContactLinkCreatedOut(ContactLinkOut):
    token: str = Field(description="Shown only now; the server keeps only its hash.")
    url: str


class QrIn(Model):
    token: str = Field(min_length=1, max_length=200)
    format: Literal["svg", "png"] = "svg"


class TokenIn(Model):
    token: str = Field(min_length=1, max_length=200)


class LinkPreviewOut(Out):
    org_name: str
    staff_name: str
    expires_at: dt.datetime


class SignUpIn(Model):
    token: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=1, max_length=1024)


class ContactJoinedOut(Out):
    org_id: int
    contact_id: int
    chat_group_id: int | None
    landing_url: str = Field(description="The one-to-one chat's page.")


class SignedUpOut(ContactJoinedOut):
    token: str = Field(description="The new account's session token.")
    session_id: int
    user_id: int


class ContactOut(Out):
    id: int
    user_id: int
    name: str
    owner_id: int | None
    owner_name: str | None
    chat_group_id: int | None
    created_at: dt.datetime
    handed_over_at: dt.datetime | None


class ContactPage(Out):
    contacts: list[ContactOut]
    next_after_id: int | None


class ContactsQuery(Model):
    after_id: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(100, ge=1, le=500)
    owner_id: Id | None = Field(None, description="Only the contacts in this staff member's charge (user id).")


class MyExternalChatOut(Out):
    org_id: int
    org_name: str
    contact_id: int
    chat_group_id: int | None
    staff_name: str | None


class ExternalGroupIn(Model):
    name: str = Field(min_length=1, max_length=200)
    member_ids: list[Id] = Field(default_factory=list, max_length=10_000, description="Staff (user ids).")
    contact_ids: list[Id] = Field(default_factory=list, max_length=10_000, description="External contacts (user ids).")


class ContactIdsIn(Model):
    user_ids: list[Id] = Field(min_length=1, max_length=10_000)


class PolicyOut(Out):
    contact_limit: int
    group_member_limit: int
    contact_count: int


class PolicyIn(Model):
    contact_limit: int | None = Field(None, ge=1)
    group_member_limit: int | None = Field(None, ge=2)


class HandoverIn(Model):
    to_member_id: Id
    contact_ids: list[Id] | None = Field(None, max_length=50_000, description="Only these contacts; all of the member's if absent.")


class HandoverOut(Out):
    contacts: int
    groups: int
