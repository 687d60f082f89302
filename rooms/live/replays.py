"""A livestream's replay as a platform file: the file owner kind ``live_replay`` and its rules.

While a stream is live, its HLS segmenter (rooms/hls/sink.py) appends the init
segment and every media segment to one file of the platform's files (made
empty by ``do_begin_replay``, refused when the organisation's quota has no
room left). When the stream ends, ``do_finish_replay`` counts the file in
the quota and keeps the VOD playlist the segmenter answered (byte ranges of
that file): the replay plays as soon as the segmenter has closed its last
segment, within a second or two of the end. It is deleted with its file
``live_replay_days`` after the end (``expired_replays``).

Who may read it: whoever may watch the stream (its group's members, the
organisation's admins, its guests), once it is ready. The pages play it over
HLS (rooms/live/hls.py); the platform's file API downloads it whole.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from sqlalchemy import select

from rooms.live import streams as s
from rooms.models import LiveReplay, LiveStream
from server.appkeys import SETTINGS
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.errors import NotFound
from server.files.models import StoredFile
from server.files.owners import FileOwner, register_file_owner
from server.files.storage import do_begin_server_file, do_delete_file, do_end_server_file, files_dir
from server.orgs.access import OrgContext
from server.retention.registry import Pruning, register_pruning

REPLAY_FILES = "live_replay"


async def replay_of(tx: Transaction, stream_id: int) -> LiveReplay | None:
    return await tx.session.scalar(select(LiveReplay).where(LiveReplay.stream_id == stream_id))


async def do_begin_replay(tx: Transaction, settings: Settings, stream: LiveStream) -> Path:
    """The stream's replay row and its empty file; returns where the segmenter appends. A replay begun before (its node
    restarted mid-stream) is started over: a second init segment in the middle of the file would not play."""
    old = await replay_of(tx, stream.id)
    if old is not None:
        await do_delete_replay(tx, settings, old)
        await tx.session.flush()
    replay = LiveReplay(org_id=stream.org_id, stream_id=stream.id)
    tx.session.add(replay)
    await tx.session.flush()
    file = await do_begin_server_file(
        tx, settings, org_id=stream.org_id, owner_kind=REPLAY_FILES, owner_id=replay.id,
        filename=f"livestream-{stream.id}-replay.mp4", content_type="video/mp4",
    )
    replay.file_id = file.id
    path = files_dir(settings) / file.storage_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


async def do_finish_replay(tx: Transaction, settings: Settings, stream_id: int, result: dict, keep_days: float) -> LiveReplay | None:
    """The segmenter closed: the file counted in the quota and the VOD playlist kept; a replay with nothing in it goes."""
    replay = await replay_of(tx, stream_id)
    if replay is None or replay.status != "recording":
        return replay
    replay.ended_at = utcnow()
    replay.expires_at = replay.ended_at + dt.timedelta(days=keep_days) if keep_days else None
    if replay.file_id is None or "playlist" not in result:
        replay.status, replay.error = "failed", str(result.get("error", "no replay was written"))[:500]
        if replay.file_id is not None:
            await do_delete_file(tx, settings, replay.file_id)
            replay.file_id = None
        return replay
    replay.size_bytes = await do_end_server_file(tx, settings, replay.file_id)
    replay.status, replay.playlist, replay.duration_ms = "ready", result["playlist"], int(result.get("duration_ms", 0))
    return replay


async def do_delete_replay(tx: Transaction, settings: Settings, replay: LiveReplay) -> None:
    """The row and its file (the bytes go after commit), the quota given back."""
    if replay.file_id is not None:
        await do_delete_file(tx, settings, replay.file_id)
    await tx.session.delete(replay)


def expired_replays(settings: Settings, batch: int = 100):
    """``batches(db, now)``: replays past their retention deleted with their files, ``batch`` per transaction, yielding
    how many went each time (the shape of a retention job's pruning, so such a job can run it as it is)."""
    async def batches(db: Database, now: dt.datetime) -> AsyncIterator[int]:
        due = select(LiveReplay).where(LiveReplay.expires_at < now).order_by(LiveReplay.expires_at).limit(batch)
        while True:
            async with db.transaction() as tx:
                expired = (await tx.session.scalars(due)).all()
                for replay in expired:
                    await do_delete_replay(tx, settings, replay)
            yield len(expired)
            if len(expired) < batch:
                return

    return batches


async def ready_replay_file(tx: Transaction, settings: Settings, stream_id: int) -> tuple[LiveReplay, Path]:
    """The stream's ready replay and where its bytes are; 404 if there is none (yet, or any more)."""
    replay = await replay_of(tx, stream_id)
    file = await tx.session.get(StoredFile, replay.file_id) if replay is not None and replay.file_id is not None else None
    if replay is None or replay.status != "ready" or file is None:
        raise NotFound("this stream has no replay", field="stream_id")
    return replay, files_dir(settings) / file.storage_key


async def _may_read(tx: Transaction, org: OrgContext, file: StoredFile) -> bool:
    replay = await tx.session.scalar(select(LiveReplay).where(LiveReplay.id == file.owner_id, LiveReplay.file_id == file.id))
    if replay is None or replay.status != "ready":
        return False
    try:
        await s.check_may_watch(tx, org, replay.stream_id)
    except NotFound:
        return False
    return True


def setup(app: web.Application) -> None:
    register_file_owner(app, FileOwner(REPLAY_FILES, may_read=_may_read))
    register_pruning(app, Pruning("livestream replays past their retention", expired_replays(app[SETTINGS])))
