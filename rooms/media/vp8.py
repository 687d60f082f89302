"""VP8 keyframe detection from the RTP payload descriptor (RFC 7741), without decoding.

A subscriber whose video slot switches to a new source can only start decoding
at a keyframe, so the forwarder holds the slot until one arrives. A VP8
keyframe starts where the descriptor has S=1 and partition index 0, and the
first byte of the VP8 payload header has the inverse keyframe bit P=0.
"""
from __future__ import annotations


def is_keyframe_start(payload: bytes | memoryview) -> bool:
    size = len(payload)
    if size < 1:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:  # not the start of partition 0
        return False
    pos = 1
    if first & 0x80:  # X: extended control bits present
        if size < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= size:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return pos < size and not payload[pos] & 0x01
