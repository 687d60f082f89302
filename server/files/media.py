"""The length of an audio file, read by the server from the file itself (PyAV), not taken from the client."""
from __future__ import annotations

import asyncio
from pathlib import Path

import av

PROBE_MAX_BYTES = 32 << 20  # voice messages are small; longer recordings are plain files with no length shown


async def audio_duration_ms(path: Path) -> int | None:
    """Milliseconds of the first audio stream, or None if the file is too big or not audio PyAV can read."""
    if path.stat().st_size > PROBE_MAX_BYTES:
        return None
    return await asyncio.to_thread(_duration_ms, path)


def _duration_ms(path: Path) -> int | None:
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            if container.duration:  # in the header (most formats)
                return container.duration // 1000
            # MediaRecorder's WebM has no duration in its header: the end of the last packet is the length.
            stream = container.streams.audio[0]
            end = max(((p.pts or 0) + (p.duration or 0) for p in container.demux(stream) if p.pts is not None), default=0)
            return int(end * stream.time_base * 1000)
    except (av.FFmpegError, ValueError, OSError):
        return None
