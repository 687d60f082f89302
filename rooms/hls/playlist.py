"""HLS media playlists (RFC 8216, version 7 for fMP4): the live sliding window and the replay's VOD playlist."""
from __future__ import annotations

import math
from collections.abc import Sequence

LIVE_WINDOW = 6  # segments in the live playlist: hls.js starts three target durations from its end


def _head(target_s: int, sequence: int | None) -> list[str]:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target_s}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if sequence is not None:
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{sequence}")
    return lines


def target_duration(durations_ms: Sequence[int]) -> int:
    """Every EXTINF rounded to the nearest second must not exceed it (RFC 8216 4.3.3.1)."""
    return max([1, *(math.floor(d / 1000 + 0.5) for d in durations_ms)])


def init_name(run: str) -> str:
    return f"init-{run}.mp4"


def segment_name(run: str, index: int) -> str:
    """A segment's file: ``run`` (new for every segmenter) keeps a name from ever meaning two different files to a cache."""
    return f"{run}-{index}.m4s"


def live(run: str, segments: Sequence[tuple[int, int]], target_s: int, ended: bool) -> str:
    """``segments``: (index, duration_ms) of the window, oldest first."""
    lines = _head(target_s, segments[0][0] if segments else 0)
    lines.append(f'#EXT-X-MAP:URI="{init_name(run)}"')
    for index, duration_ms in segments:
        lines += [f"#EXTINF:{duration_ms / 1000:.3f},", segment_name(run, index)]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def vod(init_size: int, segments: Sequence[tuple[int, int, int]], uri: str = "replay.mp4") -> str:
    """The replay: one file (init segment, then every fragment), ``segments`` as (offset, size, duration_ms)."""
    lines = _head(target_duration([d for _, _, d in segments]), None)
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD", f'#EXT-X-MAP:URI="{uri}",BYTERANGE="{init_size}@0"']
    for offset, size, duration_ms in segments:
        lines += [f"#EXTINF:{duration_ms / 1000:.3f},", f"#EXT-X-BYTERANGE:{size}@{offset}", uri]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
