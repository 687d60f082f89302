"""A finished meeting recording stored directly, with a stand-in file: a real one needs a live meeting with media
(tests/rooms/meetings/test_recording.py)."""
from rooms.meetings.recordings import do_finish_recording_file, do_start_recording_file
from rooms.models import MeetingRecording
from server.db import utcnow


async def stand_in_recording(db, settings, org_id: int, meeting_id: int, data: bytes = b"probe") -> MeetingRecording:
    async with db.transaction(org_id=org_id) as tx:
        row = MeetingRecording(org_id=org_id, meeting_id=meeting_id, status="done")
        tx.session.add(row)
        await tx.session.flush()
        path = await do_start_recording_file(tx, settings, row)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        row.size_bytes = await do_finish_recording_file(tx, settings, row, failed=False)
        row.ended_at = utcnow()
    return row
