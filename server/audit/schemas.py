"""Request and response bodies of the audit log API."""
from __future__ import annotations

import datetime as dt

from pydantic import Field

from server.api import Id, Model, Out


class AuditQuery(Model):
    action: str = Field("", max_length=64, description="Only actions starting with this (``member.`` for every membership change).")
    before: Id | None = Field(None, description="next_before of the previous page: entries older than this id.")
    limit: int = Field(100, ge=1, le=500)


class AuditEntryOut(Out):
    id: int
    at: dt.datetime
    actor_user_id: int | None
    actor_name: str
    action: str
    target_kind: str | None
    target_id: int | None
    remote: str | None
    details: dict


class AuditPageOut(Out):
    items: list[AuditEntryOut]
    next_before: int | None = Field(description="Pass as ``before`` for the next (older) page; null at the end.")
