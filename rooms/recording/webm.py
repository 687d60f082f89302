"""A WebM file written from encoded VP8 frames and Opus packets with PyAV, as they are: a remux, no codec.

The file is opened at the first video keyframe, whose header gives the
picture size for the track header (later keyframes may change the size; the
frames carry it, as WebM allows). Audio that comes before is held; after
``HELD_AUDIO`` packets without a keyframe the file is opened anyway, with a
nominal size, so a long stretch of sound before anyone shows video is kept.
A recording that ends without video is audio only. Times are in
milliseconds and strictly increase per track, as Matroska wants.

With ``max_bytes`` the writer stops taking packets (``full``) before the
file could outgrow it: it counts each packet with a generous allowance for
Matroska's framing (block, cluster and cue entries) and keeps room for the
headers and the index written at close, so the finished file stays under
the limit and plays to its last packet.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from rooms.recording.frames import keyframe_size

MS = Fraction(1, 1000)
HELD_AUDIO = 250  # 5 s of 20 ms Opus packets
NOMINAL_SIZE = (640, 480)  # the track header's size when the file opens before any keyframe
PACKET_OVERHEAD = 32  # bytes of framing counted per packet: a SimpleBlock's header, a share of clusters and cues (about 16 measured)
FIXED_OVERHEAD = 4096  # the EBML header, track headers and the index's own framing


class WebmWriter:
    def __init__(self, path: str | Path, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.budget = None if max_bytes is None else max_bytes - FIXED_OVERHEAD  # what packets may still take
        self.full = False
        self.video_frames = 0
        self.audio_packets = 0
        self._container = None
        self._video = None
        self._audio = None
        self._held_audio: list[tuple[int, bytes]] = []
        self._last = {"video": -1, "audio": -1}

    def video(self, pts_ms: int, frame: bytes, keyframe: bool) -> None:
        if self._container is None:
            size = keyframe_size(frame) if keyframe else None
            if size is None:
                return
            self._open(size)
        if self._mux(self._video, "video", pts_ms, frame, keyframe):
            self.video_frames += 1

    def audio(self, pts_ms: int, packet: bytes) -> None:
        if self._container is None:
            self._held_audio.append((pts_ms, packet))
            if len(self._held_audio) >= HELD_AUDIO:
                self._open(NOMINAL_SIZE)
            return
        if self._mux(self._audio, "audio", pts_ms, packet, True):
            self.audio_packets += 1

    def close(self) -> dict:
        """Finish the file (an audio-only one if no video came); return what was written, or why there is no file."""
        if self._container is None:
            if not self._held_audio:  # a Matroska file without a single packet would not even open
                return {"video_frames": 0, "audio_packets": 0, "size_bytes": 0, "error": "nothing was recorded: no audio or video reached the stage"}
            self._open(None)
        self._container.close()
        return {"video_frames": self.video_frames, "audio_packets": self.audio_packets, "size_bytes": self.path.stat().st_size}

    def _open(self, size: tuple[int, int] | None) -> None:
        self._container = av.open(str(self.path), "w", format="webm")
        if size is not None:
            self._video = self._container.add_mux_stream("vp8", width=size[0], height=size[1])
            self._video.time_base = MS
        self._audio = self._container.add_mux_stream("opus", rate=48000)
        self._audio.time_base = MS
        held, self._held_audio = self._held_audio, []
        for pts_ms, packet in held:
            self.audio(pts_ms, packet)

    def _mux(self, stream, kind: str, pts_ms: int, data: bytes, keyframe: bool) -> bool:
        """Write one packet; False once the size limit is reached (nothing more is written then)."""
        if self.budget is not None:
            if self.full or len(data) + PACKET_OVERHEAD > self.budget:
                self.full = True
                return False
            self.budget -= len(data) + PACKET_OVERHEAD
        pts = max(pts_ms, self._last[kind] + 1)
        self._last[kind] = pts
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = packet.dts = pts
        packet.time_base = MS
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        return True
