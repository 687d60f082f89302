"""Request and response bodies of the broadcasts API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from server.api import Model, Out
from server.audiences.schemas import AudienceIn
from server.i18n.validation import InvalidValue


class PolicyIn(Model):
    """Escalation: SMS whoever has not read after ``sms_after_s``, call whoever has not confirmed after ``call_after_s``; null turns a channel off."""

    sms_after_s: int | None = Field(60, ge=0, le=7 * 86400)
    call_after_s: int | None = Field(180, ge=0, le=7 * 86400)
    repeats: int = Field(2, ge=0, le=10, description="How many more times SMS and call are repeated.")
    repeat_interval_s: int = Field(300, ge=1, le=86400)


class PolicyOut(Out):
    sms_after_s: int | None
    call_after_s: int | None
    repeats: int
    repeat_interval_s: int


class PolicyLimitsOut(Out):
    """What this server lets a policy ask for: SMS and calls cost its operator money."""

    min_delay_s: int = Field(description="The earliest an SMS or call may go after sending, and the shortest interval between repeats.")
    max_repeats: int = Field(description="The most repeats of SMS and calls.")


class AttachmentIn(Model):
    """A link (``name`` and ``url``), or a file uploaded for this broadcast (``upload_id``; its name is the file's unless given)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = Field(None, min_length=1, max_length=2000, description="An http(s) link.")
    upload_id: str | None = Field(
        None, pattern="^[0-9a-f]{32}$",
        description="A finished upload made with POST /api/v1/orgs/{org_id}/broadcast-attachments (the last part of its Location). "
        "Readable by the sender, the organisation's admins and the recipients.",
    )

    @field_validator("url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise InvalidValue("an attachment is an http(s) link")
        return url

    @model_validator(mode="after")
    def _link_or_file(self) -> "AttachmentIn":
        if (self.url is None) == (self.upload_id is None):
            raise InvalidValue("an attachment is either a link (name and url) or a file (upload_id)")
        if self.url is not None and self.name is None:
            raise InvalidValue("a link needs a name")
        return self


class AttachmentOut(Out):
    """A link, or a file sent with the broadcast (``file_id`` set): download it from ``url`` with the bearer token."""

    name: str
    url: str
    file_id: int | None = None
    content_type: str | None = None
    size: int | None = None


class BroadcastIn(Model):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    recipients: AudienceIn = Field(description="Who to tell (the platform's audience); the parts combine.")
    policy: PolicyIn | None = Field(None, description="Overrides the organisation's default escalation for this broadcast.")
    priority: int = Field(5, ge=1, le=9, description="Higher goes first in the provider queue.")

    @field_validator("attachments")
    @classmethod
    def _each_upload_once(cls, attachments: list[AttachmentIn]) -> list[AttachmentIn]:
        uploads = [a.upload_id for a in attachments if a.upload_id is not None]
        if len(set(uploads)) != len(uploads):
            raise InvalidValue("the same upload is attached twice")
        return attachments

    @model_validator(mode="after")
    def _someone(self) -> "BroadcastIn":
        if not self.recipients.names_anyone():
            raise InvalidValue("recipients: name at least one member, department or group, or everyone")
        return self


class StageCounts(Out):
    """How many recipients reached each state (cumulative: whoever read was also delivered to)."""

    sent: int
    delivered: int
    read: int
    confirmed: int


class BroadcastOut(Out):
    id: int
    sender_id: int | None
    title: str
    body: str
    attachments: list[AttachmentOut]
    policy: dict
    priority: int
    created_at: dt.datetime
    recipient_count: int
    counts: StageCounts
    escalations: dict[str, dict[str, int]] = Field(description="Per channel (push, sms, call), messages by status.")


class UnknownOut(Out):
    user_ids: list[int]
    department_ids: list[int]
    group_ids: list[int]
    parts: dict[str, list[int]] = Field(description="Of the kinds named in ``recipients.parts``.")

    @classmethod
    def of(cls, unknown: dict[str, list[int]]) -> "UnknownOut":
        """From a resolved audience's unknown ids by kind."""
        builtin = {"users": "user_ids", "departments": "department_ids", "groups": "group_ids"}
        return cls(**{field: unknown.get(kind, []) for kind, field in builtin.items()},
                   parts={kind: ids for kind, ids in unknown.items() if kind not in builtin})


class SentOut(BroadcastOut):
    unknown: UnknownOut = Field(description="Ids that named nobody in this organisation; everyone else was sent the notice.")


class RecipientOut(Out):
    user_id: int
    name: str
    state: str
    has_phone: bool
    sent_at: dt.datetime
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    confirmed_via: str | None
    remind_count: int


class RecipientPage(Out):
    items: list[RecipientOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page; null on the last page.")
    count: int | None = Field(None, description="For 'unread' and 'unconfirmed': how many recipients the whole list holds.")


class RecipientsQuery(Model):
    state: Literal["sent", "delivered", "read", "confirmed", "unread", "unconfirmed"] | None = Field(
        None, description="Recipients now in this state; 'unread' is everyone who has not read yet, 'unconfirmed' everyone not yet confirmed."
    )
    after: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(100, ge=1, le=1000)


class DeliveryOut(Out):
    id: int
    user_id: int
    name: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    provider_status: str | None
    sent_at: dt.datetime | None


class DeliveriesQuery(Model):
    status: Literal["queued", "sending", "sent", "failed", "cancelled"] | None = None
    channel: Literal["push", "sms", "call"] | None = None
    after: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(100, ge=1, le=1000)


class ReceiptIn(Model):
    state: Literal["delivered", "read", "confirmed"]


class ReceivedOut(Out):
    """A broadcast as its recipient sees it."""

    id: int
    title: str
    body: str
    attachments: list[AttachmentOut]
    sender_id: int | None
    sender_name: str | None = Field(description="The sender's name in the directory (null if they left).")
    created_at: dt.datetime
    state: str
    delivered_at: dt.datetime | None
    read_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    remind_count: int = Field(description="How many times the sender reminded this recipient.")


class RemindOut(Out):
    reminded: int


class SenderOut(Out):
    user_id: int
    display_name: str = Field(description="How the organisation lists the sender.")
    granted_at: dt.datetime
