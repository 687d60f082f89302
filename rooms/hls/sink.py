"""The HLS segmenter inside a media worker: a local stage sink whose H.264 and Opus become CMAF segments on disk.

Like the recorder (rooms/recording/stage.py) it is one of its room's stage
sinks (``room.stage_sinks["hls"]``): at every selection ``follow`` points a
video slot at the stage and an audio slot at the stage's voice, and the
forwarder hands it munged RTP in the clear (``write``). ``write`` runs inside
the forwarding loop, so it only queues the packet; a thread of its own
rebuilds access units (``access_units.py``), remuxes them with the Opus
packets (``fmp4.py``) and writes, in ``directory``:

* ``init-<run>.mp4`` and ``<run>-<n>.m4s``: the init segment and the media
  segments, each written once under a name never used before (``run`` is
  new for every segmenter), so caches may keep them as immutable; the oldest
  are deleted once ``KEEP`` newer ones exist;
* ``live.m3u8``: the live playlist of the last ``LIVE_WINDOW`` segments,
  replaced atomically (a rename) at every segment, and closed with
  ``#EXT-X-ENDLIST`` when the sink closes;

and appends the init segment and every fragment to ``replay_path`` (the
replay's platform file), so the replay is there when the stream ends: ``close``
answers its VOD playlist (byte ranges of that one file).

Segments begin at keyframes. A browser's encoder sends one only when asked,
so when the current segment is ``SEGMENT_S`` old the sink asks the publisher
for the next one (``forwarder.request_keyframe``, from ``follow``: the
forwarding loop's thread; requests are throttled to one a second per track):
segments then last 1–1.5 s (the selection runs every 200 ms, and the
keyframe takes a round trip). An encoder that sends keyframes on its own
(OBS's keyframe interval) cuts its own segments.
"""
from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rooms.hls import playlist
from rooms.hls.access_units import START, AccessUnitAssembler
from rooms.hls.fmp4 import CmafMuxer, Segment
from rooms.media import h264, rtp
from rooms.media.slot import Slot
from rooms.recording.stage import Timeline, stage_video, stage_voice

if TYPE_CHECKING:
    from rooms.media.forwarder import Forwarder
    from rooms.media.registry import RoomState

log = logging.getLogger(__name__)

VIDEO_SSRC, AUDIO_SSRC = 0x415C_0001, 0x415C_0002
SEGMENT_S = 1.0  # ask for the next keyframe once the current segment is this old
KEEP = 30  # media segments kept on disk for the live playlist (a slow viewer or cache still finds them)
CLOSE_WAIT_S = 10.0


class HlsSink:
    transport = None  # a local sink: the forwarder calls ``write``

    def __init__(self, forwarder: "Forwarder", room_id: str, directory: str, replay_path: str) -> None:
        self.forwarder = forwarder
        self.room_id = room_id
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.replay_path = replay_path
        self.video = Slot(self, "hls-video", "video", False, VIDEO_SSRC, 102, 90000, None)
        self.audio = Slot(self, "hls-audio", "audio", False, AUDIO_SSRC, 111, 48000, None)
        self.run = secrets.token_hex(4)
        self.units = AccessUnitAssembler()
        self.segment_began: float | None = None  # monotonic time of the keyframe the current segment began with
        self._asked_for: float | None = None
        self.failure: str | None = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        started = time.monotonic()
        self._video_time, self._audio_time = Timeline(90000, started), Timeline(48000, started)
        self._muxer: CmafMuxer | None = None
        self._window: list[tuple[int, int]] = []  # (index, duration_ms) on disk, oldest first
        self._replay: list[tuple[int, int, int]] = []  # (offset, size, duration_ms)
        self._replay_size = 0
        self._init_size = 0
        self._target_s = 2
        self._thread = threading.Thread(target=self._run, name=f"hls {room_id}", daemon=True)
        self._thread.start()

    # --- the forwarding loop's side --------------------------------------------------------

    def follow(self, room: "RoomState") -> None:
        """Point the slots at the stage, and ask for the keyframe that begins the next segment when it is due."""
        if self.failure:  # the thread stopped (it logged why): nothing may queue up for it
            self.forwarder.attach(self.video, None)
            self.forwarder.attach(self.audio, None)
            return
        stage = stage_video(room)
        self.forwarder.attach(self.video, stage)
        self.forwarder.attach(self.audio, stage_voice(room, stage))
        began = self.segment_began
        due = began is not None and time.monotonic() - began >= SEGMENT_S and self._asked_for != began
        if stage is not None and (self.video.waiting_keyframe or self.units.need_keyframe or due):
            self.forwarder.request_keyframe(stage)
            self._asked_for = began

    def write(self, slot: Slot, packet: bytes) -> None:
        # whether there is sound is read here, when the packet is forwarded: the thread may run behind
        self._queue.put((slot is self.video, packet, self.audio.source is not None))

    def close(self) -> dict:
        """Detach, finish the last segment and the files; answers the replay's VOD playlist and size (or ``error``)."""
        self.forwarder.attach(self.video, None)
        self.forwarder.attach(self.audio, None)
        self._queue.put(None)
        self._thread.join(CLOSE_WAIT_S)
        if self._thread.is_alive() and not self.failure:
            self.failure = "the segmenter did not finish in time"
        if self.failure or not self._replay or not self.replay_path:
            return {"error": self.failure or "no video reached the segmenter", "bytes": self._replay_size}
        return {"playlist": playlist.vod(self._init_size, self._replay), "bytes": self._replay_size,
                "segments": len(self._replay), "duration_ms": sum(d for _, _, d in self._replay),
                "video_units_dropped": self.units.dropped}

    # --- the segmenter's thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            with open(self.replay_path or os.devnull, "ab") as self._replay_file:  # "": no replay (the quota was full)
                while (item := self._queue.get()) is not None:
                    if self.failure is None:
                        self._on_packet(*item)
                if self._muxer is not None:
                    self._store(self._muxer.close(), ended=True)
        except Exception as exc:
            log.exception("HLS of %s failed; it stops", self.room_id)
            self.failure = f"segmenting failed: {exc}"

    def _on_packet(self, video: bool, packet: bytes, sound: bool) -> None:
        if video:
            unit = self.units.push(packet)
            if unit is None:
                return
            if self._muxer is None:
                if not unit.keyframe:
                    return
                sps, pps = self.units.sps, self.units.pps
                width, height = h264.picture_size(sps)
                self._muxer = CmafMuxer(width, height, START + sps + START + pps, audio=sound)
            if unit.keyframe:
                self.segment_began = time.monotonic()
            self._store(self._muxer.video(self._video_time.ms(unit.timestamp), unit.data, unit.keyframe))
        elif self._muxer is not None:  # sound before the first picture is left out: segments begin with a keyframe
            header = rtp.parse_header(packet)
            payload = packet[header.payload_start : header.payload_end]
            if payload:
                self._store(self._muxer.audio(self._audio_time.ms(header.timestamp), payload))

    def _store(self, segments: list[Segment], ended: bool = False) -> None:
        if self._muxer.init is not None and not self._init_size:
            self._init_size = len(self._muxer.init)
            self._append(self._muxer.init)
            (self.directory / playlist.init_name(self.run)).write_bytes(self._muxer.init)
        for segment in segments:
            self._replay.append((self._replay_size, len(segment.data), segment.duration_ms))
            self._append(segment.data)
            (self.directory / playlist.segment_name(self.run, segment.index)).write_bytes(segment.data)
            self._window.append((segment.index, segment.duration_ms))
            if len(self._window) > KEEP:
                old, _ = self._window.pop(0)
                (self.directory / playlist.segment_name(self.run, old)).unlink(missing_ok=True)
            self._target_s = max(self._target_s, playlist.target_duration([segment.duration_ms]))
        if segments or ended:
            text = playlist.live(self.run, self._window[-playlist.LIVE_WINDOW :], self._target_s, ended)
            temporary = self.directory / "live.m3u8.new"
            temporary.write_text(text)
            os.replace(temporary, self.directory / "live.m3u8")

    def _append(self, data: bytes) -> None:
        self._replay_file.write(data)
        self._replay_file.flush()
        self._replay_size += len(data)
