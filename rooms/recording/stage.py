"""The recorder inside a media worker: a local sink with two slots that follow the stage, written to a WebM file.

It is a stage sink of its room (``RoomState.stage_sinks``): the selection
calls ``follow(room)`` whenever it re-selects, and the recorder points its
slots through the forwarder like a participant's, so forwarding does the
hard parts (``rooms/media/forwarder.py`` describes sinks): a video slot that switches source waits for a
keyframe of the new one (and asks for it), and the slot's munger keeps the
sequence numbers and timestamps of the output continuous across switches.

* video: the current screen share, else the camera of whoever spoke most
  recently (the head of the speaking order), like slot 0 of a participant;
* audio: the dominant speaker's, else the stage owner's, else any.

The munged RTP timestamps become milliseconds since the start of the
recording: each track is anchored at the arrival time of its first packet,
then follows its own clock, so audio and video line up to within the
network jitter of those two first packets.

A file that reaches ``MUSTER_ROOMS_RECORDING_MAX_MB`` (read from the node's
environment when the recording starts, in whichever process the worker
runs) takes no more packets, and the worker says so (``recording_full``):
the meeting then stops the recording as a host would, and the file is
finished and playable.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rooms.config import RoomsSettings
from rooms.media import rtp
from rooms.media.slot import Slot
from rooms.recording.frames import FrameAssembler
from rooms.recording.webm import WebmWriter

if TYPE_CHECKING:
    from rooms.media.forwarder import Forwarder
    from rooms.media.registry import RoomState
    from rooms.media.track import Track

log = logging.getLogger(__name__)

VIDEO_SSRC, AUDIO_SSRC = 0x5EC0_0001, 0x5EC0_0002


def stage_video(room: "RoomState") -> "Track | None":
    """The stage's picture: the current screen share, else the camera of whoever spoke most recently."""
    screen = room.screens.current()
    return room.tracks.get(screen) if screen is not None else next((room.camera_of[p] for p in room.order if p in room.camera_of), None)


def stage_voice(room: "RoomState", stage: "Track | None") -> "Track | None":
    """The stage's sound: the dominant speaker's, else the stage owner's, else any."""
    voices = [room.speakers.dominant, stage.owner if stage is not None else None, *room.audio_of]
    return next((room.audio_of[p] for p in voices if p in room.audio_of), None)


class Timeline:
    """RTP timestamps of one continuous stream → milliseconds since the recording started."""

    def __init__(self, clock_rate: int, started: float) -> None:
        self.clock_rate = clock_rate
        self.started = started
        self.base_ms = 0.0
        self.last_ts: int | None = None
        self.extended = 0

    def ms(self, timestamp: int) -> int:
        if self.last_ts is None:
            self.base_ms = (time.monotonic() - self.started) * 1000
        else:
            delta = (timestamp - self.last_ts) & 0xFFFFFFFF
            self.extended += delta - 0x1_0000_0000 if delta >= 0x8000_0000 else delta
        self.last_ts = timestamp
        return int(self.base_ms + self.extended * 1000 / self.clock_rate)


class StageRecorder:
    transport = None  # a local sink: the forwarder calls ``write``

    def __init__(self, forwarder: "Forwarder", room_id: str, path: str, emit: Callable[[dict], None]) -> None:
        self.forwarder = forwarder
        self.emit = emit
        self.room_id = room_id
        self.max_mb = RoomsSettings().recording_max_mb
        self.writer = WebmWriter(path, max_bytes=int(self.max_mb * 1024 * 1024))
        started = time.monotonic()
        self.video_time = Timeline(90000, started)
        self.audio_time = Timeline(48000, started)
        self.frames = FrameAssembler(on_loss=lambda: forwarder.request_keyframe(self.video.source))
        self.video = Slot(self, "recording-video", "video", False, VIDEO_SSRC, 96, 90000, None)
        self.audio = Slot(self, "recording-audio", "audio", False, AUDIO_SSRC, 111, 48000, None)
        self.failure: str | None = None

    def follow(self, room: "RoomState") -> None:
        """Point the slots at the current stage (called whenever the selection runs, at least every tick)."""
        if self.failure or self.writer.full:
            return
        stage = stage_video(room)
        if not self.forwarder.attach(self.video, stage) and (self.video.waiting_keyframe or self.frames.need_keyframe):
            # asked again at every re-selection while waiting: a request may have been throttled or lost,
            # and unlike a browser the recorder sends no PLI of its own (the forwarder allows one a second)
            self.forwarder.request_keyframe(stage)
        self.forwarder.attach(self.audio, stage_voice(room, stage))

    def close(self) -> dict:
        self._detach()
        try:
            stats = self.writer.close()
        except Exception as exc:  # e.g. the disk filled up: the file is lost, the meeting is not
            log.exception("closing the recording %s failed", self.writer.path)
            stats = {"error": self.failure or f"could not finish the file: {exc}"}
        if self.failure:
            stats["error"] = self.failure
        elif self.writer.full:
            stats["stopped"] = f"it reached the size limit ({self.max_mb:g} MB)"
        return {**stats, "video_frames_dropped": self.frames.dropped}

    def _detach(self) -> None:
        self.forwarder.attach(self.video, None)
        self.forwarder.attach(self.audio, None)

    def write(self, slot: Slot, packet: bytes) -> None:
        """A packet of one of the slots (the sink interface): a failing write stops the recording, never the forwarding loop it runs in."""
        try:
            if slot is self.video:
                self._on_video(packet)
            else:
                self._on_audio(packet)
        except Exception as exc:
            log.exception("recording to %s failed; it stops", self.writer.path)
            self.failure = f"writing the recording failed: {exc}"
            self._detach()
            self.emit({"event": "recording_failed", "room": self.room_id, "message": self.failure})
            return
        if self.writer.full and (self.video.source is not None or self.audio.source is not None):  # once: then detached
            self._detach()
            self.emit({"event": "recording_full", "room": self.room_id})

    def _on_video(self, packet: bytes) -> None:
        frame = self.frames.push(packet)
        if frame is not None:
            timestamp, data, keyframe = frame
            self.writer.video(self.video_time.ms(timestamp), data, keyframe)

    def _on_audio(self, packet: bytes) -> None:
        header = rtp.parse_header(packet)
        payload = packet[header.payload_start : header.payload_end]
        if payload:
            self.writer.audio(self.audio_time.ms(header.timestamp), payload)
