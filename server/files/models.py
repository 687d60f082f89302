"""Tables of files: uploads in progress, finished files, and each organisation's storage counter.

A file's owner is a kind (``group``, ``broadcast``, ...) and that kind's id,
not a foreign key: the platform does not know the tables of capabilities.
``owner_id`` is NULL while a file waits to be attached to something not
created yet (a broadcast is sent after its attachments were uploaded); such
a file is reclaimed if it stays unattached (``server/files/storage.py``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, OrgScoped, UTCDateTime, utcnow


class StoredFile(OrgScoped, Base):
    """A finished upload; its bytes are ``data_dir/files/<storage_key>``. Who may read it is its owner kind's call."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_owner", "owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL: not attached yet
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(64))  # file name under data_dir/files
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Upload(OrgScoped, Base):
    """A resumable (tus) upload: its bytes so far are the file ``data_dir/uploads/<id>``, whose size is the offset.

    The owner is decided when the upload is created (the route that creates it
    checks the uploader may add files there) and passes to the file.
    ``reserved_bytes`` is the part of the organisation's quota it holds: taken
    as its bytes arrive, a little ahead of them, never more than ``length``.
    ``updated_at`` is when a PATCH last began or reserved; an unfinished upload idle for
    ``MUSTER_UPLOAD_IDLE_HOURS`` is forgotten (server/files/storage.py).
    """

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_uploader_id", "uploader_id"), Index("ix_uploads_updated_at", "updated_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, also the file name on disk
    owner_kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    length: Mapped[int] = mapped_column(BigInteger)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))  # set once complete
    reserved_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrgStorage(OrgScoped, Base):
    """Bytes an organisation holds in files plus what its uploads in progress reserved (``Upload.reserved_bytes``).

    One row per organisation, so a reservation is one conditional UPDATE of it
    (``reserved_bytes + length <= quota``): concurrent uploads cannot together
    pass the quota, since each waits for the row and re-checks the sum.
    """

    __tablename__ = "org_storage"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    reserved_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
