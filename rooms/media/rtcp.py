"""RTCP packets the SFU reads and writes (RFC 3550, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb).

``parse_compound`` turns one decrypted RTCP datagram into a list of small
dataclasses and raises ``RtcpError`` naming the broken part of a malformed
one, so the peer that sent it can be told and everyone else carries on.
Packet types the SFU has no use for (SDES, BYE, APP, transport-wide feedback)
come back as ``OtherRtcp`` with their bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

SR, RR, SDES, BYE, APP, RTPFB, PSFB = 200, 201, 202, 203, 204, 205, 206
FMT_NACK = 1
FMT_PLI, FMT_FIR, FMT_AFB = 1, 4, 15

_HEADER = struct.Struct("!BBH")
_REPORT_BLOCK = struct.Struct("!IIIIII")
_SR_INFO = struct.Struct("!IIIIII")


class RtcpError(ValueError):
    """A datagram that is not well-formed RTCP; the message says which part is wrong."""


@dataclass
class ReportBlock:
    ssrc: int
    fraction_lost: int  # fraction of packets lost since the last report, in 1/256
    packets_lost: int  # cumulative, signed 24 bits
    highest_sequence: int  # extended highest sequence number received
    jitter: int
    last_sr: int
    delay_since_last_sr: int

    def pack(self) -> bytes:
        lost = (self.fraction_lost << 24) | (self.packets_lost & 0xFFFFFF)
        return _REPORT_BLOCK.pack(self.ssrc, lost, self.highest_sequence, self.jitter, self.last_sr, self.delay_since_last_sr)


@dataclass
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP time
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)

    def pack(self) -> bytes:
        body = _SR_INFO.pack(
            self.ssrc, self.ntp_timestamp >> 32, self.ntp_timestamp & 0xFFFFFFFF,
            self.rtp_timestamp, self.packet_count, self.octet_count,
        ) + b"".join(r.pack() for r in self.reports)
        return _pack(len(self.reports), SR, body)


@dataclass
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)

    def pack(self) -> bytes:
        return _pack(len(self.reports), RR, struct.pack("!I", self.ssrc) + b"".join(r.pack() for r in self.reports))


@dataclass
class Nack:
    """Generic NACK (RFC 4585 6.2.1): the sequence numbers the receiver is missing."""

    sender_ssrc: int
    media_ssrc: int
    lost: list[int]

    def pack(self) -> bytes:
        fci = b""
        # oldest first in sequence-number order, which wraps: sort relative to a point half the space behind
        lost = sorted(set(self.lost), key=lambda s: (s - self.lost[0] + 0x8000) & 0xFFFF) if self.lost else []
        i = 0
        while i < len(lost):
            pid, blp = lost[i], 0
            i += 1
            while i < len(lost) and 0 < (lost[i] - pid) % 65536 <= 16:
                blp |= 1 << ((lost[i] - pid) % 65536 - 1)
                i += 1
            fci += struct.pack("!HH", pid, blp)
        return _pack(FMT_NACK, RTPFB, struct.pack("!II", self.sender_ssrc, self.media_ssrc) + fci)


@dataclass
class Pli:
    """Picture loss indication (RFC 4585 6.3.1): the receiver needs a keyframe."""

    sender_ssrc: int
    media_ssrc: int

    def pack(self) -> bytes:
        return _pack(FMT_PLI, PSFB, struct.pack("!II", self.sender_ssrc, self.media_ssrc))


@dataclass
class Fir:
    """Full intra request (RFC 5104 4.3.1); the media SSRCs are in the entries, not the header."""

    sender_ssrc: int
    entries: list[tuple[int, int]]  # (media ssrc, command sequence number)

    def pack(self) -> bytes:
        fci = b"".join(struct.pack("!IB3x", ssrc, seq & 0xFF) for ssrc, seq in self.entries)
        return _pack(FMT_FIR, PSFB, struct.pack("!II", self.sender_ssrc, 0) + fci)


@dataclass
class Remb:
    """Receiver estimated maximum bitrate for the listed SSRCs."""

    sender_ssrc: int
    bitrate: int
    ssrcs: list[int]

    def pack(self) -> bytes:
        mantissa, exponent = self.bitrate, 0
        while mantissa > 0x3FFFF:
            mantissa >>= 1
            exponent += 1
        body = struct.pack("!II4sB", self.sender_ssrc, 0, b"REMB", len(self.ssrcs))
        body += struct.pack("!BH", (exponent << 2) | (mantissa >> 16), mantissa & 0xFFFF)
        body += b"".join(struct.pack("!I", s) for s in self.ssrcs)
        return _pack(FMT_AFB, PSFB, body)


@dataclass
class OtherRtcp:
    packet_type: int
    count: int
    data: bytes


RtcpPacket = SenderReport | ReceiverReport | Nack | Pli | Fir | Remb | OtherRtcp


def _pack(count: int, packet_type: int, body: bytes) -> bytes:
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


def _report_blocks(body: bytes, offset: int, count: int, name: str) -> list[ReportBlock]:
    if offset + 24 * count > len(body):
        raise RtcpError(f"RTCP {name} announces {count} report blocks but is too short for them")
    blocks = []
    for i in range(count):
        ssrc, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(body, offset + 24 * i)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 0x1000000
        blocks.append(ReportBlock(ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr))
    return blocks


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    size = len(body)
    if packet_type == SR:
        if size < 24:
            raise RtcpError("RTCP sender report shorter than its 24-byte sender info")
        ssrc, ntp_hi, ntp_lo, rtp_ts, packets, octets = _SR_INFO.unpack_from(body)
        return SenderReport(ssrc, (ntp_hi << 32) | ntp_lo, rtp_ts, packets, octets, _report_blocks(body, 24, count, "sender report"))
    if packet_type == RR:
        if size < 4:
            raise RtcpError("RTCP receiver report has no sender SSRC")
        return ReceiverReport(struct.unpack_from("!I", body)[0], _report_blocks(body, 4, count, "receiver report"))
    if packet_type in (RTPFB, PSFB):
        if size < 8:
            raise RtcpError(f"RTCP feedback packet (type {packet_type}) shorter than its 8-byte header")
        sender, media = struct.unpack_from("!II", body)
        fci = body[8:]
        if packet_type == RTPFB and count == FMT_NACK:
            if not fci or len(fci) % 4:
                raise RtcpError("RTCP NACK has an empty or ragged FCI list")
            lost = []
            for pos in range(0, len(fci), 4):
                pid, blp = struct.unpack_from("!HH", fci, pos)
                lost.append(pid)
                lost.extend((pid + bit + 1) % 65536 for bit in range(16) if blp >> bit & 1)
            return Nack(sender, media, lost)
        if packet_type == PSFB and count == FMT_PLI:
            return Pli(sender, media)
        if packet_type == PSFB and count == FMT_FIR:
            if not fci or len(fci) % 8:
                raise RtcpError("RTCP FIR has an empty or ragged FCI list")
            return Fir(sender, [struct.unpack_from("!IB", fci, pos) for pos in range(0, len(fci), 8)])
        if packet_type == PSFB and count == FMT_AFB and fci[:4] == b"REMB":
            if len(fci) < 8:
                raise RtcpError("RTCP REMB shorter than its bitrate field")
            ssrc_count, exp_mant, mantissa_lo = struct.unpack_from("!BBH", fci, 4)
            if len(fci) < 8 + 4 * ssrc_count:
                raise RtcpError(f"RTCP REMB announces {ssrc_count} SSRCs but is too short for them")
            bitrate = ((exp_mant & 0x03) << 16 | mantissa_lo) << (exp_mant >> 2)
            ssrcs = list(struct.unpack_from(f"!{ssrc_count}I", fci, 8))
            return Remb(sender, bitrate, ssrcs)
    return OtherRtcp(packet_type, count, bytes(body))


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Parse every packet of a compound RTCP datagram; raise ``RtcpError`` on the first malformed one."""
    packets = []
    pos = 0
    size = len(data)
    if size < 4:
        raise RtcpError(f"RTCP datagram too short: {size} bytes")
    while pos < size:
        if pos + 4 > size:
            raise RtcpError(f"RTCP packet header at byte {pos} runs past the end")
        first, packet_type, words = _HEADER.unpack_from(data, pos)
        if first >> 6 != 2:
            raise RtcpError(f"RTCP version {first >> 6} at byte {pos}, expected 2")
        end = pos + 4 + 4 * words
        if end > size:
            raise RtcpError(f"RTCP packet type {packet_type} at byte {pos} says {4 * words + 4} bytes, only {size - pos} left")
        body_end = end
        if first & 0x20:
            padding = data[end - 1]
            if padding == 0 or padding > 4 * words:
                raise RtcpError(f"RTCP padding length {padding} is invalid")
            body_end -= padding
        packets.append(_parse_one(packet_type, first & 0x1F, data[pos + 4 : body_end]))
        pos = end
    return packets
