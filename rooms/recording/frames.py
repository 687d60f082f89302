"""VP8 frames rebuilt from RTP packets (RFC 7741), for the recorder; nothing is decoded.

A frame is the VP8 data of consecutive packets with one timestamp, from the
packet that starts it (S=1, partition 0) to the one with the marker bit. A
frame with a hole (a lost or reordered packet) is thrown away, and so is
every frame after it until the next keyframe, so that what is written stays
decodable; ``on_loss`` is called then, to ask the publisher for a keyframe.
"""
from __future__ import annotations

from collections.abc import Callable

from rooms.media import rtp, vp8


class FrameAssembler:
    def __init__(self, on_loss: Callable[[], None]) -> None:
        self.on_loss = on_loss
        self.need_keyframe = True
        self.dropped = 0  # frames thrown away (incomplete, or waiting for a keyframe)
        self._timestamp: int | None = None  # of the frame being assembled
        self._next_seq = 0
        self._parts: list[bytes] = []

    def push(self, packet: bytes) -> tuple[int, bytes, bool] | None:
        """Feed one RTP packet; return ``(rtp_timestamp, frame, keyframe)`` when it completes a frame."""
        try:
            header = rtp.parse_header(packet)
        except rtp.RtpError:
            self._lose()
            return None
        payload = packet[header.payload_start : header.payload_end]
        start = vp8.descriptor_size(payload)
        if not start:
            self._lose()
            return None
        if vp8.starts_frame(payload):
            if self._timestamp is not None:  # the previous frame never got its marker
                self._lose()
            self._timestamp, self._parts = header.timestamp, [payload[start:]]
        elif self._timestamp is None or header.timestamp != self._timestamp or header.sequence != self._next_seq:
            self._lose()  # the start of this frame, or a packet before this one, is missing
            return None
        else:
            self._parts.append(payload[start:])
        self._next_seq = (header.sequence + 1) & 0xFFFF
        if not header.marker:
            return None
        frame, timestamp = b"".join(self._parts), self._timestamp
        self._timestamp, self._parts = None, []
        keyframe = not frame[0] & 0x01
        if keyframe:
            self.need_keyframe = False
        elif self.need_keyframe:
            self.dropped += 1
            return None
        return timestamp, frame, keyframe

    def _lose(self) -> None:
        self._timestamp, self._parts = None, []
        self.dropped += 1
        if not self.need_keyframe:
            self.need_keyframe = True
            self.on_loss()


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386 9.1), or None if it is not one."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(frame[6:8], "little") & 0x3FFF, int.from_bytes(frame[8:10], "little") & 0x3FFF
