"""Meeting recordings as platform files: the file owner kind ``meeting_recording`` and its rules.

A recording's WebM file is one of the platform's files (server/files): the
row is made when the recording starts (empty, and refused when the
organisation's storage quota has no room left), the media worker writes the
bytes into ``{data_dir}/files/``, and when it stops the size is counted in the
quota. It is downloaded at ``/api/v1/orgs/{org}/files/{file_id}`` (or the
meeting's ``.../recordings/{id}``) and deleted with its recording.

Who may read one (``may_read``): once it is finished, the meeting's host,
co-hosts and the organisation's admins, and the members who were in the
meeting at some point while it was recorded (a recording shows them); never
a guest or an outsider, and never while it is still being written.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from aiohttp import web
from sqlalchemy import select, update

from rooms.meetings import meetings as m
from rooms.models import MeetingParticipant, MeetingRecording
from server.audit.record import do_audit
from server.config import Settings
from server.db import Database, Transaction
from server.files.models import StoredFile
from server.files.owners import FileOwner, register_file_owner
from server.files.storage import do_begin_server_file, do_delete_file, do_end_server_file, files_dir
from server.orgs.access import OrgContext

log = logging.getLogger(__name__)

RECORDING_FILES = "meeting_recording"


async def do_start_recording_file(tx: Transaction, settings: Settings, recording: MeetingRecording) -> Path:
    """The recording's (empty) file; returns where the worker writes its bytes."""
    file = await do_begin_server_file(
        tx, settings, org_id=recording.org_id, owner_kind=RECORDING_FILES, owner_id=recording.id,
        filename=f"meeting-{recording.meeting_id}-recording-{recording.id}.webm", content_type="video/webm",
    )
    recording.file_id = file.id
    return files_dir(settings) / file.storage_key


async def do_finish_recording_file(tx: Transaction, settings: Settings, recording: MeetingRecording, failed: bool) -> int:
    """Count the finished file in the quota and return its size; a failed recording's partial file goes."""
    if recording.file_id is None:
        return 0
    if failed:
        await do_delete_file(tx, settings, recording.file_id)
        recording.file_id = None
        return 0
    return await do_end_server_file(tx, settings, recording.file_id)


async def do_delete_recording(tx: Transaction, settings: Settings, recording: MeetingRecording) -> None:
    """The row and its file (the bytes go after commit), the quota given back."""
    if recording.file_id is not None:
        await do_delete_file(tx, settings, recording.file_id)
    await tx.session.delete(recording)


async def may_read_recording(tx: Transaction, org: OrgContext, recording: MeetingRecording) -> bool:
    if recording.status != "done" or recording.file_id is None or org.membership_id is None:
        return False
    if org.is_admin or await m.is_host(tx, await m.get_meeting(tx, recording.meeting_id), org.user_id):
        return True
    stay = await tx.session.scalar(
        select(MeetingParticipant.id).where(
            MeetingParticipant.meeting_id == recording.meeting_id,
            MeetingParticipant.user_id == org.user_id,
            MeetingParticipant.joined_at <= recording.ended_at,
            (MeetingParticipant.left_at.is_(None)) | (MeetingParticipant.left_at >= recording.started_at),
        ).limit(1)
    )
    return stay is not None


async def _recording_of(tx: Transaction, file: StoredFile) -> MeetingRecording | None:
    return await tx.session.scalar(select(MeetingRecording).where(MeetingRecording.id == file.owner_id, MeetingRecording.file_id == file.id))


async def _may_read(tx: Transaction, org: OrgContext, file: StoredFile) -> bool:
    recording = await _recording_of(tx, file)
    return recording is not None and await may_read_recording(tx, org, recording)


async def do_note_download(tx: Transaction, org: OrgContext, recording: MeetingRecording) -> None:
    await do_audit(tx, org.principal, "recording.downloaded", target=("recording", recording.id), details={"meeting_id": recording.meeting_id})


async def _on_download(tx: Transaction, org: OrgContext, file: StoredFile) -> None:
    await do_note_download(tx, org, await _recording_of(tx, file))


async def adopt_old_recordings(db: Database, settings: Settings) -> int:
    """Move the bytes of recordings made before they were platform files into ``files/`` (migration 0006 made their rows).

    Idempotent and safe on several nodes at once: a rename is atomic, and a
    recording whose old file is gone already is only marked done with it.
    """
    async with db.transaction() as tx:
        pending = (await tx.session.execute(
            select(MeetingRecording.id, MeetingRecording.file_name, StoredFile.storage_key)
            .join(StoredFile, StoredFile.id == MeetingRecording.file_id)
            .where(MeetingRecording.file_name != "")
        )).all()
    moved = 0
    for recording_id, file_name, storage_key in pending:
        source, target = settings.data_dir / "recordings" / file_name, files_dir(settings) / storage_key
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            moved += 1
        except FileNotFoundError:
            if not target.exists():
                log.warning("recording %s: its old file %s is missing", recording_id, source)
        async with db.transaction() as tx:
            await tx.session.execute(update(MeetingRecording).where(MeetingRecording.id == recording_id).values(file_name=""))
    return moved


def setup(app: web.Application) -> None:
    register_file_owner(app, FileOwner(RECORDING_FILES, may_read=_may_read, on_download=_on_download))
