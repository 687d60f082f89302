"""The audit log's one table. Rows are never updated (a database trigger refuses it); they go with their organisation."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, OrgScoped, UTCDateTime, utcnow


class AuditEntry(OrgScoped, Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The actor's name is copied: the entry must still say who acted after the account is gone.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    remote: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
