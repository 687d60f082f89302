"""The files a person uploaded in an organisation, for an export (their details) or an erasure (the files and their bytes)."""
from __future__ import annotations

from sqlalchemy import delete, select

from server.config import Settings
from server.db import Transaction
from server.files.models import StoredFile, Upload
from server.files.storage import files_dir, release_quota, uploads_dir
from server.personal_data.parts import PersonalDataPart


async def export_files(tx: Transaction, user_id: int) -> list:
    files = await tx.session.scalars(select(StoredFile).where(StoredFile.uploader_id == user_id).order_by(StoredFile.id))
    return [
        {"id": f.id, "owner_kind": f.owner_kind, "owner_id": f.owner_id, "filename": f.filename,
         "content_type": f.content_type, "size": f.size, "created_at": f.created_at.isoformat()}
        for f in files
    ]


async def erase_files(tx: Transaction, settings: Settings, user_id: int) -> dict[str, int]:
    """Delete the person's files, whoever owns them now, and their unfinished uploads; the quota is given back, the bytes go after commit."""
    files = list(
        await tx.session.execute(
            delete(StoredFile)
            .where(StoredFile.uploader_id == user_id)
            .returning(StoredFile.storage_key, StoredFile.size)
            .execution_options(synchronize_session=False)
        )
    )
    uploads = list(
        await tx.session.execute(
            delete(Upload)
            .where(Upload.uploader_id == user_id, Upload.file_id.is_(None))
            .returning(Upload.id, Upload.reserved_bytes)
            .execution_options(synchronize_session=False)
        )
    )
    freed = sum(size for _, size in files) + sum(reserved for _, reserved in uploads)
    if freed:
        await release_quota(tx, tx.org_id, freed)
    paths = [files_dir(settings) / key for key, _ in files] + [uploads_dir(settings) / upload_id for upload_id, _ in uploads]

    async def unlink() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    tx.after_commit(unlink)
    return {"files": len(files), "uploads": len(uploads), "bytes": freed}


PART = PersonalDataPart("files", export_files, erase_files)
