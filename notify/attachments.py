"""A broadcast's attachments: links, and files uploaded for it with the platform's tus uploads (server/files/).

A sender uploads each file before sending (``POST .../broadcast-attachments``
creates the upload, owned by no broadcast yet) and names the finished
uploads in the send (``attachments: [{"upload_id": ...}]``). The send stores
each file's name, size, type and URL with the broadcast, and the same
transaction gives the files to the broadcast with one conditional UPDATE,
so a file belongs to one broadcast at most. Who may read them
(``may_read``): the sender, the organisation's admins and the broadcast's
recipients; anyone else gets 404 like for a file that does not exist.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from notify.broadcasts import do_store_recipients
from notify.models import Broadcast, BroadcastRecipient
from notify.schemas import AttachmentIn
from server.config import Settings
from server.db import Transaction
from server.errors import Conflict, InvalidInput
from server.files.models import StoredFile, Upload
from server.files.routes import file_url
from server.files.storage import do_attach_files, received_bytes
from server.orgs.access import OrgContext

BROADCAST_FILES = "broadcast"  # the owner kind of files attached to broadcasts


async def check_attachments(tx: Transaction, settings: Settings, org: OrgContext, attachments: Sequence[AttachmentIn]) -> tuple[list[dict], list[int]]:
    """What the broadcast stores of each attachment, and the files to give it; raises on an upload that cannot be attached."""
    upload_ids = [a.upload_id for a in attachments if a.upload_id is not None]
    found = {}
    if upload_ids:
        rows = await tx.session.execute(
            select(Upload, StoredFile).outerjoin(StoredFile, StoredFile.id == Upload.file_id).where(Upload.id.in_(upload_ids))
        )
        found = {upload.id: (upload, file) for upload, file in rows}
    stored, file_ids = [], []
    for i, attachment in enumerate(attachments):
        if attachment.upload_id is None:
            stored.append({"name": attachment.name, "url": attachment.url})
            continue
        field = f"attachments.{i}.upload_id"
        upload, file = found.get(attachment.upload_id, (None, None))
        if upload is None or upload.uploader_id != org.user_id:
            raise InvalidInput("no upload of yours has the id {upload_id}", field=field, code="unknown_upload", upload_id=attachment.upload_id)
        if upload.owner_kind != BROADCAST_FILES:
            raise InvalidInput("this upload is not a broadcast attachment: upload the file with POST .../broadcast-attachments",
                               field=field, code="not_an_attachment")
        if file is None:
            raise Conflict("upload {upload_id} has {received} of its {length} bytes: finish it before sending",
                           field=field, code="upload_unfinished", upload_id=upload.id, received=received_bytes(settings, upload), length=upload.length)
        if file.owner_id is not None:
            raise Conflict("this file is already attached to another broadcast: upload it again to attach it here", field=field,
                           code="already_attached")
        stored.append({"name": attachment.name or file.filename, "url": file_url(org.org_id, file.id), "file_id": file.id,
                       "content_type": file.content_type, "size": file.size})
        file_ids.append(file.id)
    return stored, file_ids


async def do_attach(tx: Transaction, broadcast_id: int, file_ids: list[int]) -> None:
    """Give the checked files to the broadcast just stored; a file taken meanwhile (another send, expiry) undoes the send."""
    if len(await do_attach_files(tx, BROADCAST_FILES, file_ids, broadcast_id)) != len(file_ids):
        raise Conflict("an attached file was attached to another broadcast or expired meanwhile: upload it again", field="attachments",
                       code="already_attached")


async def may_read(tx: Transaction, org: OrgContext, file: StoredFile) -> bool:
    """Before it is sent only its uploader; then its sender, the organisation's admins and its recipients."""
    if file.owner_id is None:
        return file.uploader_id == org.user_id
    broadcast = await tx.session.get(Broadcast, file.owner_id)
    if broadcast is None:
        return False
    if broadcast.sender_id == org.user_id or org.is_admin:
        return True
    await do_store_recipients(tx, broadcast.id)
    recipient = await tx.session.scalar(
        select(BroadcastRecipient.id).where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.user_id == org.user_id)
    )
    return recipient is not None
