"""RTP packets as bytes: header parsing, header extensions, in-place rewriting (RFC 3550, RFC 8285, RFC 6464).

The SFU never builds a packet object on the forwarding path. It reads the few
fields it needs with ``struct.unpack_from`` and rewrites SSRC, sequence number,
timestamp and payload type of a ``bytearray`` copy in place with one
``struct.pack_into``. The payload (the encoded Opus/VP8 data) is never looked at.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple

RTP_VERSION = 2
FIXED_HEADER = 12
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE_MASK = 0xFFF0
TWO_BYTE_PROFILE = 0x1000

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"  # RFC 8843
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"  # RFC 8852
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

_FIXED = struct.Struct("!BBHII")
_SEQ_TS_SSRC = struct.Struct("!HII")
_EXT_HEADER = struct.Struct("!HH")


class RtpError(ValueError):
    """A datagram that is not a well-formed RTP packet; the message says which part is wrong."""


class RtpHeader(NamedTuple):
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    extension_profile: int  # 0 when the packet has no header extension
    extensions_start: int  # offset of the first extension element
    extensions_end: int
    payload_start: int
    payload_end: int  # excludes RTP padding


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 demultiplexing: RTCP packet types 192–223 sit where RTP has marker+payload type."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def parse_header(data: bytes) -> RtpHeader:
    size = len(data)
    if size < FIXED_HEADER:
        raise RtpError(f"RTP packet too short: {size} bytes, the fixed header is 12")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    offset = FIXED_HEADER + 4 * (first & 0x0F)
    if offset > size:
        raise RtpError("RTP CSRC list runs past the end of the packet")
    profile = 0
    ext_start = ext_end = offset
    if first & 0x10:
        if offset + 4 > size:
            raise RtpError("RTP header extension header runs past the end of the packet")
        profile, words = _EXT_HEADER.unpack_from(data, offset)
        ext_start = offset + 4
        ext_end = ext_start + 4 * words
        if ext_end > size:
            raise RtpError("RTP header extension runs past the end of the packet")
        offset = ext_end
    end = size
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or offset + padding > size:
            raise RtpError(f"RTP padding length {padding} is invalid")
        end = size - padding
    return RtpHeader(
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        extension_profile=profile,
        extensions_start=ext_start,
        extensions_end=ext_end,
        payload_start=offset,
        payload_end=end,
    )


def iter_extensions(data: bytes, header: RtpHeader) -> Iterator[tuple[int, int, int]]:
    """Yield ``(id, value_offset, value_length)`` for each element of a one-byte or two-byte extension block."""
    profile = header.extension_profile
    pos, end = header.extensions_start, header.extensions_end
    if profile == ONE_BYTE_PROFILE:
        while pos < end:
            byte = data[pos]
            if byte == 0:  # padding between elements
                pos += 1
                continue
            ext_id, length = byte >> 4, (byte & 0x0F) + 1
            if ext_id == 15:  # reserved: stop parsing (RFC 8285 section 4.2)
                return
            if pos + 1 + length > end:
                raise RtpError(f"RTP one-byte extension {ext_id} runs past the extension block")
            yield ext_id, pos + 1, length
            pos += 1 + length
    elif profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
        while pos < end:
            ext_id = data[pos]
            if ext_id == 0:
                pos += 1
                continue
            if pos + 2 > end:
                raise RtpError("RTP two-byte extension header runs past the extension block")
            length = data[pos + 1]
            if pos + 2 + length > end:
                raise RtpError(f"RTP two-byte extension {ext_id} runs past the extension block")
            yield ext_id, pos + 2, length
            pos += 2 + length


def find_extension(data: bytes, header: RtpHeader, ext_id: int) -> tuple[int, int] | None:
    """``(value_offset, value_length)`` of extension ``ext_id``, or None."""
    if not header.extension_profile or not ext_id:
        return None
    for found_id, start, length in iter_extensions(data, header):
        if found_id == ext_id:
            return start, length
    return None


def audio_level(data: bytes, header: RtpHeader, ext_id: int) -> tuple[bool, int] | None:
    """RFC 6464 ``(voice_activity, level)``; level is -dBov, 0 the loudest, 127 silence."""
    found = find_extension(data, header, ext_id)
    if found is None:
        return None
    value = data[found[0]]
    return bool(value & 0x80), value & 0x7F


def extension_text(data: bytes, header: RtpHeader, ext_id: int | None) -> str | None:
    """An SDES item carried as an extension (RFC 8852's RID, RFC 8843's MID), or None if absent or not ASCII."""
    found = find_extension(data, header, ext_id) if ext_id else None
    if found is None:
        return None
    try:
        return data[found[0] : found[0] + found[1]].decode("ascii").rstrip("\0")
    except UnicodeDecodeError:
        return None


def strip_extensions(data: bytes, header: RtpHeader) -> tuple[bytes, RtpHeader]:
    """The packet without its header extension block (a simulcast layer's MID and RID), and its new header."""
    if not header.extension_profile:
        return data, header
    block = header.extensions_end - header.extensions_start + 4
    packet = bytes([data[0] & ~0x10]) + data[1 : header.extensions_start - 4] + data[header.extensions_end :]
    return packet, header._replace(
        extension_profile=0, extensions_start=header.extensions_start - 4, extensions_end=header.extensions_start - 4,
        payload_start=header.payload_start - block, payload_end=header.payload_end - block,
    )


def rewrite_header(buf: bytearray, payload_type: int, marker: bool, sequence: int, timestamp: int, ssrc: int) -> None:
    """Put a subscriber's SSRC, sequence number, timestamp and payload type into ``buf`` in place."""
    buf[1] = (0x80 if marker else 0) | payload_type
    _SEQ_TS_SSRC.pack_into(buf, 2, sequence, timestamp, ssrc)


def remap_extension_ids(buf: bytearray, header: RtpHeader, id_map: dict[int, int]) -> None:
    """Translate a publisher's extension ids to a subscriber's, in place.

    An element whose id the subscriber did not negotiate is overwritten with
    zero bytes, which RFC 8285 defines as padding between elements, so the
    packet keeps its length and nothing has to move.
    """
    profile = header.extension_profile
    if not profile:
        return
    one_byte = profile == ONE_BYTE_PROFILE
    for ext_id, start, length in list(iter_extensions(buf, header)):
        new_id = id_map.get(ext_id)
        if new_id == ext_id:
            continue
        head = start - 1 if one_byte else start - 2
        if new_id is None or (one_byte and new_id > 14):
            buf[head : start + length] = bytes(start + length - head)
        elif one_byte:
            buf[head] = (new_id << 4) | (length - 1)
        else:
            buf[head] = new_id


def build_packet(
    *,
    payload_type: int,
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
    extensions: list[tuple[int, bytes]] = (),
) -> bytes:
    """Serialise an RTP packet with one-byte header extensions (used by light clients and tests, not by forwarding)."""
    first = RTP_VERSION << 6
    ext = b""
    if extensions:
        body = b"".join(bytes([(ext_id << 4) | (len(value) - 1)]) + value for ext_id, value in extensions)
        body += bytes(-len(body) % 4)
        ext = _EXT_HEADER.pack(ONE_BYTE_PROFILE, len(body) // 4) + body
        first |= 0x10
    head = _FIXED.pack(first, (0x80 if marker else 0) | payload_type, sequence, timestamp, ssrc)
    return head + ext + payload
