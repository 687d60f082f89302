"""CMAF (fragmented MP4) from H.264 access units and Opus packets, remuxed by PyAV's MP4 muxer: no codec runs.

FFmpeg's muxer is told ``frag_keyframe+empty_moov+default_base_moof``: it
writes an init segment (``ftyp`` + ``moov``, no samples) and then one
fragment (``moof`` + ``mdat``) per video keyframe, each written out when the
next keyframe arrives. Its bytes land in ``_Boxes``, which splits them at
top-level box boundaries, so each fragment becomes one HLS segment: segment
*i* starts at keyframe *i* and lasts until keyframe *i + 1*. Both tracks run
in milliseconds (the sink's timelines); the muxer's interleaving waits at
most half a second for a track that sends nothing (a stream without sound).

Opus goes in as ``Opus`` sample entries with a ``dOps`` box built from the
OpusHead below (stereo, 48 kHz, 312 samples of pre-skip as libopus encodes),
which hls.js plays in Chromium and Firefox.
"""
from __future__ import annotations

import fractions
import io
import struct
from dataclasses import dataclass

import av

MS = fractions.Fraction(1, 1000)
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48000, 0, 0)
INTERLEAVE_US = 500_000


@dataclass(frozen=True)
class Segment:
    index: int  # 0, 1, ... in the order written
    data: bytes  # moof + mdat
    start_ms: int
    duration_ms: int


class _Boxes(io.RawIOBase):
    """The muxer's output, cut into whole top-level boxes (it writes in 32 KiB buffers that cross box boundaries)."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.boxes: list[tuple[bytes, bytes]] = []  # (type, whole box), taken by the muxer wrapper

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pending += data
        while len(self.pending) >= 8:
            size, kind = struct.unpack_from(">I4s", self.pending)
            if size == 1:
                if len(self.pending) < 16:
                    break
                size = struct.unpack_from(">Q", self.pending, 8)[0]
            if size < 8 or len(self.pending) < size:
                break
            self.boxes.append((kind, bytes(self.pending[:size])))
            del self.pending[:size]
        return len(data)


class CmafMuxer:
    """One continuous fMP4 output: ``init`` once the first keyframe is in, then ``Segment``s as fragments complete."""

    def __init__(self, width: int, height: int, parameter_sets: bytes, audio: bool) -> None:
        self._out = _Boxes()
        self._container = av.open(
            self._out, "w", format="mp4",
            options={"movflags": "frag_keyframe+empty_moov+default_base_moof"},
            container_options={"max_interleave_delta": str(INTERLEAVE_US)},
        )
        self._video = self._container.add_stream("h264")
        self._video.codec_context.width, self._video.codec_context.height = width, height
        self._video.codec_context.extradata = parameter_sets  # Annex B SPS + PPS: the muxer writes the avcC box
        self._video.time_base = MS
        self._audio = None
        if audio:
            self._audio = self._container.add_stream("opus", rate=48000)
            self._audio.codec_context.extradata = OPUS_HEAD
            self._audio.time_base = MS
        self.init: bytes | None = None
        self._header: list[bytes] = []
        self._moof: bytes | None = None
        self._keyframes: list[int] = []  # start of every fragment not handed out yet, then the next one's
        self._last = {"video": -1, "audio": -1}
        self._index = 0
        self._end_ms = 0

    def video(self, ms: int, data: bytes, keyframe: bool) -> list[Segment]:
        ms = max(ms, self._last["video"] + 1)  # the muxer wants strictly increasing times
        if keyframe:
            self._keyframes.append(ms)
        self._mux(self._video, "video", ms, data, keyframe)
        self._end_ms = max(self._end_ms, ms + 33)
        return self._take()

    def audio(self, ms: int, payload: bytes) -> list[Segment]:
        if self._audio is None or ms <= self._last["audio"]:
            return []
        self._mux(self._audio, "audio", ms, payload, True)
        self._end_ms = max(self._end_ms, ms + 20)
        return self._take()

    def close(self) -> list[Segment]:
        """Write the last fragment out (its duration runs to the last sample)."""
        self._container.close()
        self._keyframes.append(self._end_ms)
        return self._take()

    def _mux(self, stream, kind: str, ms: int, data: bytes, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.stream, packet.time_base, packet.pts, packet.dts = stream, MS, ms, ms
        packet.is_keyframe = keyframe
        self._last[kind] = ms
        self._container.mux(packet)

    def _take(self) -> list[Segment]:
        segments = []
        for kind, box in self._out.boxes:
            if self.init is None:
                self._header.append(box)
                if kind == b"moov":
                    self.init = b"".join(self._header)
            elif kind == b"moof":
                self._moof = box
            elif kind == b"mdat" and self._moof is not None:
                start, end = self._keyframes[0], self._keyframes[1] if len(self._keyframes) > 1 else self._end_ms
                segments.append(Segment(self._index, self._moof + box, start, max(end - start, 1)))
                self._keyframes.pop(0)
                self._index += 1
                self._moof = None
        self._out.boxes.clear()
        return segments
