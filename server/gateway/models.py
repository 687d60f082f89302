"""Tables of the per-user event stream.

Each user has a stream of events numbered 1, 2, 3... (``UserStream.last_seq``
is the counter). An event takes its number in the transaction that stores it,
so numbers are gap-free and in commit order; a device resumes after a reconnect
by asking for every event above the last number it saw.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, JSONType, UTCDateTime, utcnow


class UserStream(Base):
    __tablename__ = "user_streams"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId, default=0)


class UserEvent(Base):
    __tablename__ = "user_events"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
