"""Where bytes live, the organisation's quota, and files changing hands.

The quota counts stored files plus the full length of uploads still in
progress, kept in one ``org_storage`` row per organisation: a creation
reserves its length with one conditional UPDATE of that row, so parallel
creations cannot together overshoot the quota; termination gives the
reservation back, and so does expiry, found when a reservation would not
fit, of what was abandoned for ``ABANDONED_AFTER``: uploads never finished,
and files never attached to their owner (``owner_id`` still NULL).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import NotFound, TooLarge
from server.files.models import OrgStorage, StoredFile, Upload
from server.revocation import AccessRevoked

ABANDONED_AFTER = dt.timedelta(days=7)  # an unfinished upload or unattached file this old stops holding quota once room is needed


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def files_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


def received_bytes(settings: Settings, upload: Upload) -> int:
    """How many bytes of the upload the server has: the size of its file on disk, its length once complete."""
    if upload.file_id is not None:
        return upload.length
    try:
        return (uploads_dir(settings) / upload.id).stat().st_size
    except FileNotFoundError:
        raise NotFound("no such upload") from None


async def reserve_quota(tx: Transaction, settings: Settings, org_id: int, length: int) -> None:
    """Hold ``length`` bytes of the organisation's quota, atomically; abandoned uploads and files make room first if needed."""
    if await _reserve(tx, settings, org_id, length):
        return
    if await _expire_abandoned(tx, settings, org_id) and await _reserve(tx, settings, org_id, length):
        return
    held = await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org_id))
    raise TooLarge(
        f"this organisation's storage quota of {settings.org_quota_bytes} bytes would be exceeded "
        f"({held} held by files and uploads in progress, {length} requested)",
        code="quota_exceeded",
    )


async def _reserve(tx: Transaction, settings: Settings, org_id: int, length: int) -> bool:
    await tx.session.execute(insert_for(tx.dialect, OrgStorage).values(org_id=org_id, reserved_bytes=0).on_conflict_do_nothing())
    reserved = await tx.session.scalar(
        update(OrgStorage)
        .where(OrgStorage.org_id == org_id, OrgStorage.reserved_bytes + length <= settings.org_quota_bytes)
        .values(reserved_bytes=OrgStorage.reserved_bytes + length)
        .returning(OrgStorage.org_id)
        .execution_options(synchronize_session=False)
    )
    return reserved is not None


async def release_quota(tx: Transaction, org_id: int, length: int) -> None:
    await tx.session.execute(
        update(OrgStorage)
        .where(OrgStorage.org_id == org_id)
        .values(reserved_bytes=OrgStorage.reserved_bytes - length)
        .execution_options(synchronize_session=False)
    )


async def _expire_abandoned(tx: Transaction, settings: Settings, org_id: int) -> bool:
    """Forget the organisation's uploads unfinished and files unattached for ``ABANDONED_AFTER``; their bytes go after commit."""
    cutoff = utcnow() - ABANDONED_AFTER
    uploads = list(
        await tx.session.execute(
            delete(Upload)
            .where(Upload.org_id == org_id, Upload.file_id.is_(None), Upload.created_at < cutoff)
            .returning(Upload.id, Upload.length)
            .execution_options(synchronize_session=False)
        )
    )
    files = list(
        await tx.session.execute(
            delete(StoredFile)
            .where(StoredFile.org_id == org_id, StoredFile.owner_id.is_(None), StoredFile.created_at < cutoff)
            .returning(StoredFile.storage_key, StoredFile.size)
            .execution_options(synchronize_session=False)
        )
    )
    if not uploads and not files:
        return False
    await release_quota(tx, org_id, sum(length for _, length in uploads) + sum(size for _, size in files))
    paths = [uploads_dir(settings) / upload_id for upload_id, _ in uploads] + [files_dir(settings) / key for key, _ in files]

    async def unlink() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    tx.after_commit(unlink)
    return True


async def do_cancel_uploads(tx: Transaction, settings: Settings, revoked: AccessRevoked) -> None:
    """Forget the uploads in progress of people who lost access to where they were going; quota and bytes are freed.

    Runs on every node (server/files/routes.py): the DELETE lets one of them have each upload.
    """
    which = (Upload.org_id == revoked.org_id) & Upload.uploader_id.in_(revoked.user_ids) & Upload.file_id.is_(None)
    if revoked.scope is not None:
        which &= (Upload.owner_kind == revoked.scope[0]) & (Upload.owner_id == revoked.scope[1])
    uploads = list(await tx.session.execute(delete(Upload).where(which).returning(Upload.id, Upload.length).execution_options(synchronize_session=False)))
    if not uploads:
        return
    await release_quota(tx, revoked.org_id, sum(length for _, length in uploads))
    paths = [uploads_dir(settings) / upload_id for upload_id, _ in uploads]

    async def unlink() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    tx.after_commit(unlink)


async def do_delete_unattached(tx: Transaction, settings: Settings, file_id: int) -> bool:
    """Delete a file that was never attached to its owner (its upload was terminated), giving its quota back."""
    deleted = (
        await tx.session.execute(
            delete(StoredFile)
            .where(StoredFile.id == file_id, StoredFile.owner_id.is_(None))
            .returning(StoredFile.org_id, StoredFile.storage_key, StoredFile.size)
            .execution_options(synchronize_session=False)
        )
    ).first()
    if deleted is None:
        return False
    await release_quota(tx, deleted.org_id, deleted.size)

    async def unlink() -> None:
        (files_dir(settings) / deleted.storage_key).unlink(missing_ok=True)

    tx.after_commit(unlink)
    return True


async def do_attach_files(tx: Transaction, kind: str, file_ids: Sequence[int], owner_id: int) -> list[int]:
    """Give files uploaded for ``kind`` and not attached yet to their owner, now that it exists; returns those attached.

    One conditional UPDATE: of two owners claiming the same file at once, one
    gets it and the other finds it missing from the result.
    """
    if not file_ids:
        return []
    return list(
        await tx.session.scalars(
            update(StoredFile)
            .where(StoredFile.id.in_(file_ids), StoredFile.owner_kind == kind, StoredFile.owner_id.is_(None))
            .values(owner_id=owner_id)
            .returning(StoredFile.id)
            .execution_options(synchronize_session=False)
        )
    )
