"""Where bytes live, the organisation's quota, and files changing hands.

The quota counts stored files plus what uploads in progress reserved, kept in
one ``org_storage`` row per organisation; every change is one conditional
UPDATE of that row, so parallel uploads (on any node) cannot together
overshoot it. An upload reserves as its bytes arrive, ``RESERVE_AHEAD`` at a
time and never past its declared length (``do_reserve_upload_bytes``), so
declaring 4 GiB and sending nothing holds nothing; creation only checks that
the declared length could still fit. Termination gives the reservation back;
so does expiry of what was abandoned: an unfinished upload no byte reached
for ``MUSTER_UPLOAD_IDLE_HOURS``, a file never attached to its owner
(``owner_id`` still NULL) for ``ABANDONED_AFTER``. Every node sweeps them
every ``SWEEP_EVERY_S`` (``expire_abandoned_forever``), and a reservation that
would not fit sweeps its own organisation first.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import shutil
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete, select, update

from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import NotFound, TooLarge
from server.files.models import OrgStorage, StoredFile, Upload
from server.revocation import AccessRevoked

log = logging.getLogger(__name__)

RESERVE_AHEAD = 64 << 20  # quota an upload takes at a time, ahead of its bytes: one transaction per 64 MiB received
ABANDONED_AFTER = dt.timedelta(days=7)  # a file uploaded for an owner that was never created (a broadcast never sent) goes then
SWEEP_EVERY_S = 600


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


async def check_quota_room(tx: Transaction, settings: Settings, org_id: int, length: int) -> None:
    """Refuse up front an upload that could not fit even if it were reserved now (abandoned ones making room first); nothing is held yet."""
    query = select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org_id)
    held = await tx.session.scalar(query) or 0
    if held + length > settings.org_quota_bytes and await do_expire_abandoned(tx, settings, org_id=org_id):
        held = await tx.session.scalar(query) or 0
    if held + length > settings.org_quota_bytes:
        raise _quota_exceeded(settings, held, length)


async def do_reserve_upload_bytes(tx: Transaction, settings: Settings, upload: Upload, held: int, needed: int) -> int:
    """Make the upload hold at least ``needed`` bytes of quota (it holds ``held``); returns what it holds now.

    Takes ``RESERVE_AHEAD`` more than needed, capped at the upload's length, so
    a large upload costs a transaction per 64 MiB, not per chunk. The upload's
    row is changed only if it still holds ``held`` and is unfinished: a
    concurrent PATCH of the same upload, or its expiry meanwhile, makes this
    one fail (404) rather than reserve twice.
    """
    target = min(upload.length, needed + RESERVE_AHEAD)
    changed = await tx.session.scalar(
        update(Upload)
        .where(Upload.id == upload.id, Upload.file_id.is_(None), Upload.reserved_bytes == held)
        .values(reserved_bytes=target, updated_at=utcnow())
        .returning(Upload.id)
        .execution_options(synchronize_session=False)
    )
    if changed is None:
        raise NotFound("no such upload (it expired, was terminated, or another PATCH of it is under way)")
    await reserve_quota(tx, settings, upload.org_id, target - held)
    return target


async def do_mark_upload_active(tx: Transaction, upload_id: str) -> None:
    """A PATCH of the upload began: it is not idle (``do_expire_abandoned``)."""
    await tx.session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.file_id.is_(None))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def reserve_quota(tx: Transaction, settings: Settings, org_id: int, length: int) -> None:
    """Hold ``length`` bytes of the organisation's quota, atomically; abandoned uploads and files make room first if needed."""
    if await _reserve(tx, settings, org_id, length):
        return
    if await do_expire_abandoned(tx, settings, org_id=org_id) and await _reserve(tx, settings, org_id, length):
        return
    held = await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org_id))
    raise _quota_exceeded(settings, held, length)


def _quota_exceeded(settings: Settings, held: int, length: int) -> TooLarge:
    return TooLarge(
        "this organisation's storage quota of {org_quota_bytes} bytes would be exceeded ({held} held by files and uploads in progress, {length} more needed)",
        code="quota_exceeded", org_quota_bytes=settings.org_quota_bytes, held=held, length=length,
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
    if length == 0:
        return
    await tx.session.execute(
        update(OrgStorage)
        .where(OrgStorage.org_id == org_id)
        .values(reserved_bytes=OrgStorage.reserved_bytes - length)
        .execution_options(synchronize_session=False)
    )


async def do_expire_abandoned(tx: Transaction, settings: Settings, *, org_id: int | None = None) -> bool:
    """Forget unfinished uploads idle for ``MUSTER_UPLOAD_IDLE_HOURS`` and files unattached for ``ABANDONED_AFTER``
    (of one organisation, or of all), giving their quota back; their bytes go after commit. True if anything went.

    Each row is deleted with RETURNING, so of two nodes sweeping at once only
    one gives a row's bytes back.
    """
    now = utcnow()
    idle = delete(Upload).where(Upload.file_id.is_(None), Upload.updated_at < now - dt.timedelta(hours=settings.upload_idle_hours))
    unattached = delete(StoredFile).where(StoredFile.owner_id.is_(None), StoredFile.created_at < now - ABANDONED_AFTER)
    if org_id is not None:
        idle, unattached = idle.where(Upload.org_id == org_id), unattached.where(StoredFile.org_id == org_id)
    options = {"synchronize_session": False}
    uploads = list(await tx.session.execute(idle.returning(Upload.org_id, Upload.id, Upload.reserved_bytes).execution_options(**options)))
    files = list(await tx.session.execute(unattached.returning(StoredFile.org_id, StoredFile.storage_key, StoredFile.size).execution_options(**options)))
    if not uploads and not files:
        return False
    freed: dict[int, int] = defaultdict(int)
    for owner_org, _, size in uploads + files:
        freed[owner_org] += size
    for owner_org, size in sorted(freed.items()):  # in a fixed order: two sweepers never wait on each other's rows
        await release_quota(tx, owner_org, size)
    paths = [uploads_dir(settings) / upload_id for _, upload_id, _ in uploads] + [files_dir(settings) / key for _, key, _ in files]

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
    uploads = list(await tx.session.execute(delete(Upload).where(which).returning(Upload.id, Upload.reserved_bytes).execution_options(synchronize_session=False)))
    if not uploads:
        return
    await release_quota(tx, revoked.org_id, sum(reserved for _, reserved in uploads))
    paths = [uploads_dir(settings) / upload_id for upload_id, _ in uploads]

    async def unlink() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    tx.after_commit(unlink)


async def expire_abandoned_forever(db: Database, settings: Settings) -> None:
    """Every node, every ``SWEEP_EVERY_S``: free what abandoned uploads and files hold, in every organisation."""
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            async with db.transaction() as tx:
                await do_expire_abandoned(tx, settings)
        except Exception:  # a database hiccup: try again next round
            log.exception("sweeping abandoned uploads failed")


async def do_delete_file(tx: Transaction, settings: Settings, file_id: int, *, only_unattached: bool = False) -> bool:
    """Delete a file (with ``only_unattached``, only one never attached to its owner), giving its quota back; its bytes go after commit."""
    statement = delete(StoredFile).where(StoredFile.id == file_id)
    if only_unattached:
        statement = statement.where(StoredFile.owner_id.is_(None))
    deleted = (
        await tx.session.execute(
            statement.returning(StoredFile.org_id, StoredFile.storage_key, StoredFile.size).execution_options(synchronize_session=False)
        )
    ).first()
    if deleted is None:
        return False
    await release_quota(tx, deleted.org_id, deleted.size)

    async def unlink() -> None:
        (files_dir(settings) / deleted.storage_key).unlink(missing_ok=True)
        thumbnail_path(settings, deleted.storage_key).unlink(missing_ok=True)

    tx.after_commit(unlink)
    return True


async def do_begin_server_file(
    tx: Transaction, settings: Settings, *, org_id: int, owner_kind: str, owner_id: int, filename: str, content_type: str,
) -> StoredFile:
    """A file the server writes itself (a meeting recording, a stream's replay) for its owner: the row now, empty; the
    writer puts the bytes at ``files_dir/<storage_key>`` and ``do_end_server_file`` counts them.

    Refused (413) when the organisation's quota has no room left at all: how
    large the file grows is not known in advance.
    """
    await check_quota_room(tx, settings, org_id, 1)
    file = StoredFile(
        org_id=org_id, owner_kind=owner_kind, owner_id=owner_id, uploader_id=None, filename=filename,
        content_type=content_type, size=0, storage_key=secrets.token_hex(16),
    )
    tx.session.add(file)
    await tx.session.flush()
    return file


async def do_end_server_file(tx: Transaction, settings: Settings, file_id: int) -> int:
    """The writer of a server file finished: its size is what is on disk, counted in the organisation's quota even past
    the limit (the bytes exist; refusing them would lose them, and the next upload waits for room). Returns the size."""
    file = await tx.session.get(StoredFile, file_id)
    if file is None:
        raise NotFound("no such file")
    try:
        size = (files_dir(settings) / file.storage_key).stat().st_size
    except FileNotFoundError:
        size = 0
    await tx.session.execute(insert_for(tx.dialect, OrgStorage).values(org_id=file.org_id, reserved_bytes=0).on_conflict_do_nothing())
    await release_quota(tx, file.org_id, file.size - size)  # a negative release: the bytes are held, unconditionally
    file.size = size
    return size


def thumbnail_path(settings: Settings, storage_key: str) -> Path:
    """Where a file's thumbnail is kept once made (server/files/thumbnails.py); it goes with the file."""
    return files_dir(settings) / "thumbs" / f"{storage_key}.jpg"


async def do_copy_file(tx: Transaction, settings: Settings, file: StoredFile, owner_kind: str, owner_id: int) -> StoredFile:
    """A new file of another owner with the same bytes, without sending them again: a hard link after commit (a copy
    where links are not possible), counted in the quota like any file, deleted independently of the original."""
    await reserve_quota(tx, settings, file.org_id, file.size)
    copy = StoredFile(
        org_id=file.org_id,
        owner_kind=owner_kind,
        owner_id=owner_id,
        uploader_id=file.uploader_id,
        filename=file.filename,
        content_type=file.content_type,
        size=file.size,
        storage_key=secrets.token_hex(16),
    )
    tx.session.add(copy)
    await tx.session.flush()
    source, target = files_dir(settings) / file.storage_key, files_dir(settings) / copy.storage_key

    async def link() -> None:  # before the after-commit announcement of whatever the copy is attached to
        await asyncio.to_thread(_link_or_copy, source, target)

    tx.after_commit(link)
    return copy


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


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
