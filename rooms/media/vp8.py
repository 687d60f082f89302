"""VP8 payload descriptors (RFC 7741): keyframe detection, and where the VP8 data starts, without decoding.

A subscriber whose video slot switches to a new source can only start decoding
at a keyframe, so the forwarder holds the slot until one arrives. A VP8
keyframe starts where the descriptor has S=1 and partition index 0, and the
first byte of the VP8 payload header has the inverse keyframe bit P=0.
The recorder (``rooms/recording``) strips the descriptor to rebuild frames.
"""
from __future__ import annotations


def descriptor_size(payload: bytes | memoryview) -> int:
    """Bytes of payload descriptor before the VP8 data; 0 if the payload is truncated or has no VP8 data."""
    size = len(payload)
    if size < 1:
        return 0
    pos = 1
    if payload[0] & 0x80:  # X: extended control bits present
        if size < 2:
            return 0
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= size:
                return 0
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos if pos < size else 0


def starts_frame(payload: bytes | memoryview) -> bool:
    """S=1 and partition index 0: the first packet of a frame."""
    return len(payload) > 0 and payload[0] & 0x17 == 0x10


def is_keyframe_start(payload: bytes | memoryview) -> bool:
    if not starts_frame(payload):
        return False
    pos = descriptor_size(payload)
    return pos > 0 and not payload[pos] & 0x01


def picture_fields(packet: bytes | bytearray, at: int) -> tuple[int | None, bool, int | None]:
    """Where the descriptor at ``at`` keeps its picture id and TL0PICIDX: ``(pid_offset, pid_is_15_bit, tl0_offset)``.

    None for a field the descriptor does not carry (or that is cut short); a source
    switch rewrites both so the receiver's decoder sees one stream (``SlotMunger.rewrite_picture``).
    """
    size = len(packet)
    if at + 2 > size or not packet[at] & 0x80:
        return None, False, None
    bits, pos = packet[at + 1], at + 2
    pid_at, wide = None, False
    if bits & 0x80:
        if pos >= size:
            return None, False, None
        wide = bool(packet[pos] & 0x80)
        if pos + (2 if wide else 1) > size:
            return None, False, None
        pid_at, pos = pos, pos + (2 if wide else 1)
    tl0_at = pos if bits & 0x40 and pos < size else None
    return pid_at, wide, tl0_at


def keyframe_size(payload: bytes | memoryview) -> tuple[int, int] | None:
    """``(width, height)`` from the frame header of a keyframe's first packet (RFC 6386 9.1), else None."""
    if not is_keyframe_start(payload):
        return None
    pos = descriptor_size(payload)
    if len(payload) < pos + 10 or bytes(payload[pos + 3 : pos + 6]) != b"\x9d\x01\x2a":
        return None
    width = (payload[pos + 6] | payload[pos + 7] << 8) & 0x3FFF
    height = (payload[pos + 8] | payload[pos + 9] << 8) & 0x3FFF
    return width, height
