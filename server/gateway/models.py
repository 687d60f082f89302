"""Tables of the per-user event stream.

Each user has a stream of events numbered 1, 2, 3... (``UserStream.last_seq``
is the counter). An event takes its number in the transaction that stores it,
so numbers are gap-free and in commit order; a device resumes after a reconnect
by asking for every event above the last number it saw.

Every user has a stream row from the moment it exists (a trigger on ``users``,
migration 0002_gateway), so numbering an event is an UPDATE of existing rows.
``user_events`` has no foreign key: checking one per row was a third of the
cost of an event to 10,000 people. Its rows go with the stream instead
(another trigger: deleting a stream row, as deleting the user does by
cascade, deletes its events). The stream row is also the lock that orders
an ``emit`` and a deletion: whichever comes second waits for the first to commit.

Events do not stay for ever: the pruning job (server/gateway/pruning.py) deletes
a user's oldest ones, always a prefix of the stream, and records in
``user_stream_watermarks`` the highest number it deleted. A device that
resumes from below it missed events that are gone, and is told to resync.
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

    user_id: Mapped[int] = mapped_column(BigId, primary_key=True)  # its stream's; no foreign key (see above)
    seq: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserStreamWatermark(Base):
    """How far a user's stream was pruned: every event numbered ``pruned_through`` or lower may be gone.

    A row of its own, not a column of ``user_streams``: pruning then never takes the stream row's lock,
    so it never makes an ``emit`` wait.
    """

    __tablename__ = "user_stream_watermarks"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    pruned_through: Mapped[int] = mapped_column(BigId)
