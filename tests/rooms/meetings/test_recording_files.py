"""Recordings as platform files: the quota when one starts and ends; old ones get files rows (migration 0006) and their bytes move at start."""
import asyncio

import pytest
from sqlalchemy import select, update

from rooms.meetings.recordings import adopt_old_recordings
from server.appkeys import SETTINGS
from server.config import Settings
from server.db import Database
from server.db.migrate import upgrade
from server.db.upsert import insert_for
from server.errors import TooLarge
from server.files.models import OrgStorage
from server.files.storage import files_dir
from tests.factories import make_org, person
from tests.rooms.meetings.test_meetings_api import create
from tests.rooms.recordings import stand_in_recording
from tests.server.test_migrations import _sql, empty_database_url  # noqa: F401  (a fixture)


async def test_old_recordings_become_files_counted_in_the_quota_and_their_bytes_move(empty_database_url, tmp_path):  # noqa: F811
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0006_files")  # the platform's files, then rooms before this change
    await asyncio.to_thread(upgrade, url, "0005_invitees")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO meetings (id, org_id, title, join_token, locked, lobby_enabled, cap, status, created_at)"
        " VALUES (5, 7, 'M', 't', false, false, 10, 'ended', CURRENT_TIMESTAMP)",
        "INSERT INTO meeting_recordings (id, org_id, meeting_id, status, file_name, size_bytes, video_frames, audio_packets, started_at)"
        " VALUES (1, 7, 5, 'done', '7/5-1.webm', 5, 1, 1, CURRENT_TIMESTAMP), (2, 7, 5, 'failed', '7/5-2.webm', 0, 0, 0, CURRENT_TIMESTAMP),"
        " (3, 7, 5, 'done', '7/5-3.webm', 4, 1, 1, CURRENT_TIMESTAMP)",
        "INSERT INTO org_storage (org_id, reserved_bytes) VALUES (7, 100)",
    )
    await asyncio.to_thread(upgrade, url)
    files, recordings, storage = await _sql(
        url,
        "SELECT id, owner_kind, owner_id, size, storage_key, filename, content_type, uploader_id FROM files ORDER BY owner_id",
        "SELECT id, file_id FROM meeting_recordings ORDER BY id",
        "SELECT reserved_bytes FROM org_storage WHERE org_id = 7",
    )
    assert [(f.owner_kind, f.owner_id, f.size, f.filename, f.content_type, f.uploader_id) for f in files] == [
        ("meeting_recording", 1, 5, "meeting-5-recording-1.webm", "video/webm", None),
        ("meeting_recording", 3, 4, "meeting-5-recording-3.webm", "video/webm", None),
    ]
    assert [tuple(r) for r in recordings] == [(1, files[0].id), (2, None), (3, files[1].id)]  # a failed one has nothing to keep
    assert storage == [(109,)]

    settings = Settings(data_dir=tmp_path, database_url=url)
    old = tmp_path / "recordings" / "7"
    old.mkdir(parents=True)
    (old / "5-1.webm").write_bytes(b"first")  # recording 3's file is missing: it is logged, not invented
    db = Database(url)
    try:
        assert await adopt_old_recordings(db, settings) == 1
        assert await adopt_old_recordings(db, settings) == 0  # once: a second node finds nothing to do
    finally:
        await db.engine.dispose()
    assert (files_dir(settings) / files[0].storage_key).read_bytes() == b"first" and not (old / "5-1.webm").exists()
    assert await _sql(url, "SELECT file_name FROM meeting_recordings ORDER BY id") == [[("",), ("7/5-2.webm",), ("",)]]


async def test_a_recording_needs_room_in_the_quota_to_start_and_is_counted_whole_when_it_ends(client, db, app):
    host = await person(client, db, "Hana Host")
    org = await make_org(db, host.user)
    meeting = await create(client, host, org)
    settings = app[SETTINGS]
    quota = settings.org_quota_bytes
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(insert_for(tx.dialect, OrgStorage).values(org_id=org.id, reserved_bytes=quota).on_conflict_do_nothing())
        await tx.session.execute(update(OrgStorage).where(OrgStorage.org_id == org.id).values(reserved_bytes=quota))
    with pytest.raises(TooLarge) as refused:
        await stand_in_recording(db, settings, org.id, meeting["id"])
    assert refused.value.code == "quota_exceeded"
    async with db.transaction(org_id=org.id) as tx:
        await tx.session.execute(update(OrgStorage).where(OrgStorage.org_id == org.id).values(reserved_bytes=quota - 1))
    recording = await stand_in_recording(db, settings, org.id, meeting["id"], data=b"ten bytes!")  # one byte of room was enough to start
    async with db.transaction(org_id=org.id) as tx:
        assert await tx.session.scalar(select(OrgStorage.reserved_bytes).where(OrgStorage.org_id == org.id)) == quota + 9  # all of it, past the quota
    download = await client.get(f"/api/v1/orgs/{org.id}/files/{recording.file_id}", headers=host.headers)
    assert download.status == 200 and await download.read() == b"ten bytes!"
